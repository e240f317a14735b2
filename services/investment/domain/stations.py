"""The station register's rules: which version of a (reused) commune code a fact or project belongs to, and the
attributes recorded about a station (criteria reached, BHYT eligibility, building, its MA_CSKCB).

A version is anything with `code`, `valid_from`, `valid_to`, `successor` (the register's rows), oldest first.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol, TypeVar

from services.common import facility_code, units
from services.common.errors import DomainError, NotFound, error
from services.investment.domain.projects import check_year


class Version(Protocol):
    code: str
    valid_from: date
    valid_to: date | None
    successor: str | None


V = TypeVar("V", bound=Version)


def effective_start(valid_from: date) -> date:
    """The base list (GSO, 01/12/2019) shows the communes as they already were: its date is when the list
    was taken, not when they began, so a base station counts as in force before it too."""
    return date.min if valid_from == units.BASE_DATE else valid_from


def in_force(valid_from: date, valid_to: date | None, on: date) -> bool:
    return effective_start(valid_from) <= on and (valid_to is None or on <= valid_to)


def overlaps(valid_from: date, valid_to: date | None, start: date, end: date) -> bool:
    return effective_start(valid_from) <= end and (valid_to is None or valid_to >= start)


def during_year(versions: Iterable[V], year: int) -> list[V]:
    """The versions in force at some time during `year`."""
    return [v for v in versions if overlaps(v.valid_from, v.valid_to, date(year, 1, 1), date(year, 12, 31))]


def unknown_station(code: str, field_name: str) -> DomainError:
    return DomainError.one("unknown_station", f"Không có trạm y tế (mã xã) {code}.", field_name)


def not_found_station(code: str, field_name: str = "code") -> NotFound:
    return NotFound([error("unknown_station", f"Không có trạm y tế (mã xã) {code}.", field_name)])


def not_in_force(last: Version | None, code: str, when: str, field_name: str, on: date | None = None) -> DomainError:
    """unit_not_in_force naming the successor: on a date, the one rule of services/common/units.py."""
    errs = units.check_unit(code, on, field_name) if on is not None else []
    if errs:
        return DomainError(errs)
    successor = last.successor if last is not None and last.valid_to is not None else None
    hint = f" (hiệu lực đến {last.valid_to:%d/%m/%Y}, đơn vị kế thừa mã {successor})" if last and successor else ""
    return DomainError(
        [
            error(
                "unit_not_in_force",
                f"Trạm y tế mã {code} không còn hoặc chưa hoạt động {when}{hint}.",
                field_name,
                successor=successor,
            )
        ]
    )


def version_for_project(versions: Sequence[V], code: str, period: tuple[int, int], on: date | None, today: date) -> V:
    """The station version a project belongs to: the one in force on the project's date (its decision, else
    1 January of its start year); with no date, one in force during the plan's `period` (today's if several: a
    reused commune code)."""
    if not versions:
        raise unknown_station(code, "station_code")
    if on is not None:
        found = next((s for s in versions if in_force(s.valid_from, s.valid_to, on)), None)
        if found is None:
            raise not_in_force(versions[-1], code, f"vào ngày {on:%d/%m/%Y}", "station_code", on)
        return found
    start, end = date(period[0], 1, 1), date(period[1], 12, 31)
    during = [s for s in versions if overlaps(s.valid_from, s.valid_to, start, end)]
    if not during:
        raise not_in_force(versions[-1], code, f"trong kỳ kế hoạch {period[0]}–{period[1]}", "station_code")
    return next((s for s in during if in_force(s.valid_from, s.valid_to, today)), during[-1])


def version_for_fact(
    versions: Sequence[V], code: str, year: int, on: date | None = None, valid_from: date | None = None
) -> V:
    """The station version a recorded fact is about: the one named by `valid_from`, else the one in force on
    the decision date, else the latest one in force during `year`."""
    if not versions:
        raise not_found_station(code)
    if valid_from is not None:
        found = next((s for s in versions if s.valid_from == valid_from), None)
        if found is None:
            raise DomainError.one(
                "unknown_station_version",
                f"Trạm y tế mã {code} không có phiên bản hiệu lực từ {valid_from:%d/%m/%Y}.",
                "station_valid_from",
            )
        return found
    if on is not None:
        found = next((s for s in versions if in_force(s.valid_from, s.valid_to, on)), None)
        if found is None:
            raise not_in_force(versions[-1], code, f"vào ngày {on:%d/%m/%Y}", "decision_date", on)
        return found
    during = during_year(versions, year)
    if not during:
        raise not_in_force(versions[-1], code, f"trong năm {year}", "year")
    return during[-1]


def version_shown(versions: Sequence[V], on: date) -> V:
    """The version a station page shows for a date: the one in force, else the nearest one."""
    chosen = next((s for s in versions if in_force(s.valid_from, s.valid_to, on)), None)
    return chosen or (versions[-1] if on >= versions[-1].valid_from else versions[0])


def check_within_plan(plan_unit: str, plan_number: str, station_code: str, station_name: str) -> None:
    if not units.within(plan_unit, station_code):
        raise DomainError.one(
            "station_outside_plan",
            f"Trạm y tế {station_name} ({station_code}) không thuộc địa bàn của kế hoạch {plan_number}.",
            "station_code",
        )


BOOLEAN_ATTRIBUTES = ("national_health_criteria", "nrd_standard", "bhyt_eligible", "difficult_commune")
BUILDING_CONDITIONS = ("good", "fair", "poor", "none")
# The MA_CSKCB a station claims BHYT under: published (station_facility_set) so that claims knows commune stations.
FACILITY_ATTRIBUTE = "bhyt_facility_code"
ATTRIBUTES = (*BOOLEAN_ATTRIBUTES, "building_condition", "nrd_target_year", FACILITY_ATTRIBUTE)
ATTRIBUTE_LABELS = {
    "national_health_criteria": "Đạt Bộ tiêu chí quốc gia về y tế xã",
    "nrd_standard": "Đạt chuẩn nông thôn mới",
    "bhyt_eligible": "Đủ điều kiện khám, chữa bệnh BHYT",
    "difficult_commune": "Xã có điều kiện kinh tế - xã hội khó khăn, đặc biệt khó khăn",
    "building_condition": "Tình trạng cơ sở vật chất trạm y tế",
    "nrd_target_year": "Năm phấn đấu đạt chuẩn nông thôn mới",
    FACILITY_ATTRIBUTE: "Mã cơ sở KCB BHYT của trạm (MA_CSKCB)",
}
BUILDING_LABELS = {"good": "tốt", "fair": "trung bình", "poor": "xuống cấp", "none": "chưa có trụ sở"}
# Reaching one of these is news (the station_criteria_reached event).
CRITERIA = frozenset({"national_health_criteria", "nrd_standard"})


def parse_attribute_value(attribute: str, raw: Any) -> str:
    """Validate a recorded value and give its stored form ('true'/'false', a condition code, a year)."""
    if attribute not in ATTRIBUTES:
        raise DomainError.one(
            "unknown_attribute", f"Thuộc tính phải là một trong: {', '.join(ATTRIBUTES)}.", "attribute"
        )
    if attribute in BOOLEAN_ATTRIBUTES:
        if isinstance(raw, bool):
            return "true" if raw else "false"
        if isinstance(raw, str) and raw.strip().lower() in ("true", "false"):
            return raw.strip().lower()
        raise DomainError.one("invalid_value", f"'{attribute}' nhận giá trị true hoặc false.", "value")
    if attribute == "building_condition":
        if isinstance(raw, str) and raw in BUILDING_CONDITIONS:
            return raw
        raise DomainError.one(
            "invalid_value", f"Tình trạng cơ sở vật chất phải là một trong: {', '.join(BUILDING_CONDITIONS)}.", "value"
        )
    if attribute == FACILITY_ATTRIBUTE:
        code = facility_code.normalise(raw)
        if code is not None:
            return code
        raise DomainError.one("invalid_value", f"{facility_code.MESSAGE}.", "value")
    # nrd_target_year
    if isinstance(raw, bool) or not isinstance(raw, int | str) or not str(raw).strip().isdigit():
        raise DomainError.one("invalid_value", "Năm phấn đấu đạt chuẩn nông thôn mới phải là một năm.", "value")
    year = int(str(raw).strip())
    check_year(year, "value")
    return str(year)


def typed_value(attribute: str, stored: str) -> bool | str | int:
    if attribute in BOOLEAN_ATTRIBUTES:
        return stored == "true"
    if attribute == "nrd_target_year":
        return int(stored)
    return stored


def value_in_words(attribute: str, stored: str) -> str:
    """A recorded value as the station page says it: có/không, a building's condition in Vietnamese, a year."""
    if attribute in BOOLEAN_ATTRIBUTES:
        return "có" if stored == "true" else "không"
    if attribute == "building_condition":
        return BUILDING_LABELS.get(stored, stored)
    return stored


@dataclass(frozen=True)
class StatusRecord:
    id: int
    year: int
    value: str


def current_of(records: Iterable[StatusRecord]) -> StatusRecord | None:
    """The current value: the latest by year, then by recording order (a backfill of an older year
    does not override a newer fact)."""
    return max(records, key=lambda r: (r.year, r.id), default=None)


def becomes_true(previous: StatusRecord | None, new: StatusRecord) -> bool:
    """Does recording `new` make the attribute true where it was not? (station_criteria_reached)"""
    now = current_of([r for r in (previous, new) if r is not None])
    return now is new and new.value == "true" and (previous is None or previous.value != "true")
