"""The investment rules in plain Python: sources, guards on capital and disbursement, project status,
station attributes, the priority score and the target indicators.

No nameko, no Flask, no database session here: the ledger reads the figures, asks these functions, and
writes what they allow. Section II.5 of 158/KH-UBND and 34/KH-UBND ("tiếp tục đầu tư để hoàn thiện,
nâng cao năng lực hệ thống y tế cơ sở") is what the projects implement.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from importlib import resources
from typing import Any

import yaml

from services.common import surplus, units
from services.common.catalog import FUNDING_SOURCE_CODES
from services.common.errors import DomainError, error
from services.common.money import format_vnd

# --------------------------------------------------------------------------- sources (docs/domain.md §2)

SOURCES = FUNDING_SOURCE_CODES
# The 20% BHYT surplus's rule (fund years 2015–2020, spent in a later year, one of four legal uses) is one
# rule for finance and investment: services/common/surplus.py.
MIN_YEAR, MAX_YEAR = 2000, 2100

KINDS = ("new_build", "renovation", "upgrade", "equipment")
KIND_LABELS = {
    "new_build": "xây mới",
    "renovation": "cải tạo, sửa chữa",
    "upgrade": "nâng cấp",
    "equipment": "mua sắm trang thiết bị",
}
# Kinds that build or rebuild the station itself (for "hoàn thành đầu tư trạm y tế").
BUILDING_KINDS = frozenset({"new_build", "renovation", "upgrade"})


def check_source(
    source: str, fiscal_year: int | None = None, fund_year: int | None = None, use: str | None = None
) -> None:
    """`fiscal_year` None: a disbursement of capital already assigned (its fund year and use were checked then)."""
    if source not in SOURCES:
        raise DomainError.one(
            "unknown_source",
            f"Nguồn vốn '{source}' không có trong danh mục nguồn kinh phí ({', '.join(sorted(SOURCES))}).",
            "source",
        )
    if fiscal_year is not None:
        errors = surplus.check(source, fiscal_year, fund_year, use)
        if errors:
            raise DomainError(errors)


def check_year(year: int | None, field_name: str) -> None:
    if year is not None and not MIN_YEAR <= year <= MAX_YEAR:
        raise DomainError.one("invalid_year", f"Năm {year} không hợp lệ ({MIN_YEAR}–{MAX_YEAR}).", field_name)


def check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise DomainError.one("invalid_kind", f"Loại dự án phải là một trong: {', '.join(KINDS)}.", "kind")


def check_estimate(amount: int, field_name: str = "estimated_cost") -> None:
    if amount <= 0:
        raise DomainError.one("invalid_amount", "Tổng mức đầu tư phải lớn hơn 0 đồng.", field_name)


def check_years(start_year: int | None, end_year: int | None) -> None:
    check_year(start_year, "start_year")
    check_year(end_year, "end_year")
    if start_year is not None and end_year is not None and end_year < start_year:
        raise DomainError.one(
            "invalid_years", f"Năm kết thúc ({end_year}) trước năm khởi công ({start_year}).", "end_year"
        )


# --------------------------------------------------------------------------- project status

STATUSES = ("proposed", "approved", "under_construction", "completed", "settled")
STATUS_LABELS = {
    "proposed": "đề xuất",
    "approved": "đã phê duyệt",
    "under_construction": "đang thi công",
    "completed": "hoàn thành",
    "settled": "đã quyết toán",
}
INITIAL_STATUSES = ("proposed", "approved", "under_construction")
DONE_STATUSES = frozenset({"completed", "settled"})


def check_initial_status(status: str) -> None:
    if status not in INITIAL_STATUSES:
        raise DomainError.one(
            "invalid_status",
            f"Dự án mới chỉ có thể ở trạng thái {', '.join(INITIAL_STATUSES)}; hoàn thành và quyết toán được ghi sau.",
            "status",
        )


def check_transition(current: str, target: str) -> None:
    """One step forward at a time; `settled` only through the completion (quyết toán) record."""
    if target not in STATUSES:
        raise DomainError.one("invalid_status", f"Trạng thái phải là một trong: {', '.join(STATUSES)}.", "status")
    if target == "settled":
        raise DomainError.one(
            "settlement_required",
            "Chuyển sang 'đã quyết toán' bằng cách ghi quyết toán dự án hoàn thành (giá trị quyết toán).",
            "status",
        )
    if STATUSES.index(target) != STATUSES.index(current) + 1:
        raise DomainError.one(
            "invalid_transition",
            f"Không thể chuyển dự án từ '{STATUS_LABELS[current]}' sang '{STATUS_LABELS[target]}' "
            f"(thứ tự: {' → '.join(STATUSES)}).",
            "status",
        )


def completion_steps(current: str) -> list[str]:
    """The status changes a completion (quyết toán) record makes: … → completed → settled."""
    if current == "completed":
        return ["settled"]
    if current == "under_construction":
        return ["completed", "settled"]
    if current == "settled":
        raise DomainError.one("already_settled", "Dự án đã được quyết toán.", "project_id")
    raise DomainError.one(
        "invalid_transition",
        f"Dự án đang ở trạng thái '{STATUS_LABELS.get(current, current)}': chỉ quyết toán dự án đang thi công "
        "hoặc đã hoàn thành.",
        "status",
    )


# --------------------------------------------------------------------------- money guards


@dataclass(frozen=True)
class SourceFigures:
    """Capital assigned and disbursed from one source, over all fiscal years."""

    capital: int = 0
    disbursed: int = 0


@dataclass(frozen=True)
class ProjectFigures:
    """What the guards need to know about a project, read under its row lock."""

    estimate: int  # the latest estimate (tổng mức đầu tư / dự toán được duyệt)
    settled_cost: int | None  # the final settled cost once quyết toán is recorded
    by_source: Mapping[str, SourceFigures] = field(default_factory=dict)

    @property
    def cap(self) -> int:
        """What the capital may not pass: the settled cost once settled, else the latest estimate."""
        return self.settled_cost if self.settled_cost is not None else self.estimate

    @property
    def capital(self) -> int:
        return sum(f.capital for f in self.by_source.values())

    @property
    def disbursed(self) -> int:
        return sum(f.disbursed for f in self.by_source.values())

    def source(self, source: str) -> SourceFigures:
        return self.by_source.get(source, SourceFigures())

    @property
    def remaining_to_finance(self) -> int:
        return max(self.cap - self.capital, 0)

    def plus(self, source: str, capital: int = 0, disbursed: int = 0) -> ProjectFigures:
        """The figures after a new capital or disbursement row (what the command answers with)."""
        now = self.source(source)
        by_source = {**self.by_source, source: SourceFigures(now.capital + capital, now.disbursed + disbursed)}
        return ProjectFigures(self.estimate, self.settled_cost, by_source)


def check_capital(project: ProjectFigures, source: str, amount: int) -> None:
    """Giao vốn: the sum of all sources never passes the cap; a reduction never goes below what that
    source has already paid out."""
    if amount == 0:
        raise DomainError.one("invalid_amount", "Số vốn giao phải khác 0 đồng.", "amount")
    if amount > 0 and project.capital + amount > project.cap:
        what = "giá trị quyết toán" if project.settled_cost is not None else "tổng mức đầu tư được duyệt"
        raise DomainError(
            [
                error(
                    "exceeds_estimated_cost",
                    f"Tổng vốn giao {format_vnd(project.capital + amount)} vượt {what} {format_vnd(project.cap)}; "
                    f"còn có thể giao tối đa {format_vnd(max(project.cap - project.capital, 0))}. "
                    "Nếu dự án được duyệt điều chỉnh tổng mức đầu tư, hãy ghi dự toán điều chỉnh trước.",
                    "amount",
                )
            ]
        )
    figures = project.source(source)
    if amount < 0 and figures.capital + amount < figures.disbursed:
        raise DomainError.one(
            "capital_below_disbursed",
            f"Không thể giảm vốn nguồn {source} xuống {format_vnd(figures.capital + amount)}: "
            f"đã giải ngân {format_vnd(figures.disbursed)} từ nguồn này.",
            "amount",
        )


def check_disbursement(project: ProjectFigures, source: str, amount: int) -> None:
    """Giải ngân: never beyond that source's capital; a reversal never below zero; after quyết toán
    never beyond the settled cost."""
    if amount == 0:
        raise DomainError.one("invalid_amount", "Số tiền giải ngân phải khác 0 đồng.", "amount")
    figures = project.source(source)
    if amount > 0 and figures.disbursed + amount > figures.capital:
        raise DomainError.one(
            "exceeds_capital",
            f"Giải ngân {format_vnd(amount)} từ nguồn {source} vượt vốn đã giao: vốn giao "
            f"{format_vnd(figures.capital)}, đã giải ngân {format_vnd(figures.disbursed)}, còn "
            f"{format_vnd(max(figures.capital - figures.disbursed, 0))}.",
            "amount",
        )
    if amount < 0 and figures.disbursed + amount < 0:
        raise DomainError.one(
            "reversal_exceeds_disbursed",
            f"Không thể thu hồi {format_vnd(-amount)}: nguồn {source} mới giải ngân {format_vnd(figures.disbursed)}.",
            "amount",
        )
    if amount > 0 and project.settled_cost is not None and project.disbursed + amount > project.settled_cost:
        raise DomainError.one(
            "exceeds_settled_cost",
            f"Tổng giải ngân {format_vnd(project.disbursed + amount)} vượt giá trị quyết toán "
            f"{format_vnd(project.settled_cost)}.",
            "amount",
        )


def check_revised_estimate(project: ProjectFigures, amount: int) -> None:
    check_estimate(amount, "amount")
    if project.settled_cost is not None:
        raise DomainError.one("already_settled", "Dự án đã quyết toán: không điều chỉnh tổng mức đầu tư nữa.", "amount")
    if amount < project.capital:
        raise DomainError.one(
            "estimate_below_capital",
            f"Tổng mức đầu tư điều chỉnh {format_vnd(amount)} thấp hơn vốn đã giao {format_vnd(project.capital)}: "
            "giảm vốn giao trước (bản ghi vốn âm kèm quyết định).",
            "amount",
        )


def check_settlement(project: ProjectFigures, settled_cost: int) -> None:
    if settled_cost <= 0:
        raise DomainError.one("invalid_amount", "Giá trị quyết toán phải lớn hơn 0 đồng.", "settled_cost")
    if settled_cost > project.estimate:
        raise DomainError.one(
            "exceeds_estimated_cost",
            f"Giá trị quyết toán {format_vnd(settled_cost)} vượt tổng mức đầu tư được duyệt "
            f"{format_vnd(project.estimate)}.",
            "settled_cost",
        )
    if settled_cost < project.disbursed:
        raise DomainError.one(
            "settled_below_disbursed",
            f"Giá trị quyết toán {format_vnd(settled_cost)} thấp hơn số đã giải ngân {format_vnd(project.disbursed)}: "
            "thu hồi phần chênh lệch (giải ngân âm) trước khi quyết toán.",
            "settled_cost",
        )


# --------------------------------------------------------------------------- funding figures


def execution_rate(allocated: int, disbursed: int) -> str | None:
    """Tỷ lệ giải ngân = disbursed ÷ allocated, 4 decimals as a string; None when nothing is allocated."""
    if allocated == 0:
        return None
    return str((Decimal(disbursed) / Decimal(allocated)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))


def percent(numerator: int, denominator: int) -> str | None:
    if denominator == 0:
        return None
    return str((Decimal(100 * numerator) / Decimal(denominator)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


@cache
def resolve_station(code: str, year: int, after_end: bool = True) -> str:
    """Where a station's figure belongs in a roll-up for `year`: the station itself, or — for a figure
    dated after the station ceased (`after_end`) — the commune it was merged into, as of 31/12 of the year."""
    if not after_end:
        return code
    return units.successor_on(code, date(year, 12, 31))


def effective_start(valid_from: date) -> date:
    """The base list (GSO, 01/12/2019) shows the communes as they already were: its date is when the list
    was taken, not when they began, so a base station counts as in force before it too."""
    return date.min if valid_from == units.BASE_DATE else valid_from


def in_force(valid_from: date, valid_to: date | None, on: date) -> bool:
    return effective_start(valid_from) <= on and (valid_to is None or on <= valid_to)


def overlaps(valid_from: date, valid_to: date | None, start: date, end: date) -> bool:
    return effective_start(valid_from) <= end and (valid_to is None or valid_to >= start)


class FundingTotals:
    """Adds grouped capital and disbursement figures into the funding-status shape the gateway sums
    with finance's answer: allocated = capital, disbursed = disbursements, by source and by year."""

    def __init__(self) -> None:
        self.allocated = 0
        self.disbursed = 0
        self.by_source: dict[str, dict[str, int]] = {}
        self.by_year: dict[str, dict[str, int]] = {}

    def add(self, kind: str, source: str, year: int, amount: int) -> None:
        """`kind` is 'allocated' (capital, by fiscal year) or 'disbursed' (by year of the payment)."""
        setattr(self, kind, getattr(self, kind) + amount)
        self.by_source.setdefault(source, {"allocated": 0, "disbursed": 0})[kind] += amount
        self.by_year.setdefault(str(year), {"allocated": 0, "disbursed": 0})[kind] += amount

    def merge(self, other: FundingTotals) -> None:
        self.allocated += other.allocated
        self.disbursed += other.disbursed
        for mine, theirs in ((self.by_source, other.by_source), (self.by_year, other.by_year)):
            for key, fig in theirs.items():
                slot = mine.setdefault(key, {"allocated": 0, "disbursed": 0})
                slot["allocated"] += fig["allocated"]
                slot["disbursed"] += fig["disbursed"]

    def as_dict(self) -> dict[str, Any]:
        return {
            "allocated": self.allocated,
            "disbursed": self.disbursed,
            "execution_rate": execution_rate(self.allocated, self.disbursed),
            "by_source": {k: dict(v) for k, v in sorted(self.by_source.items())},
            "by_year": {k: dict(v) for k, v in sorted(self.by_year.items())},
        }


# Medium-term public investment plans (kế hoạch đầu tư công trung hạn, Luật Đầu tư công 2014/2019).
MEDIUM_TERM_PERIODS = ((2016, 2020), (2021, 2025))


def period_name(year: int) -> str:
    for start, end in MEDIUM_TERM_PERIODS:
        if start <= year <= end:
            return f"{start}-{end}"
    return "other"


# --------------------------------------------------------------------------- station attributes

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
        code = raw.strip().upper() if isinstance(raw, str) else ""
        if len(code) == 5 and code.isascii() and code.isalnum():
            return code
        raise DomainError.one("invalid_value", "Mã cơ sở KCB (MA_CSKCB) gồm đúng 5 ký tự chữ hoặc số.", "value")
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


# --------------------------------------------------------------------------- target indicators

# "Hoàn thành đầu tư trạm y tế ở các xã có điều kiện kinh tế - xã hội khó khăn và đặc biệt khó khăn"
# (158/KH-UBND I.2.a): of the difficult communes, those whose station has a completed building project.
DIFFICULT_INVESTED_KEY = "stations_difficult_communes_invested"


def as_of_date(year: int, today: date) -> date:
    """A year's figure is as of 31/12, or today for the year still running (or a future year)."""
    return min(date(year, 12, 31), today)


# --------------------------------------------------------------------------- priority score


class RulesError(ValueError):
    pass


@dataclass(frozen=True)
class PriorityRules:
    """The weights of the priority score, from `priority_rules.yaml` (data, not code: staff change them)."""

    version: int
    national_health_criteria_not_met: int
    nrd_standard_not_met: int
    nrd_target_points: tuple[tuple[int, int], ...]  # (max years until the target year, points), ascending
    nrd_target_later: int
    building_condition: Mapping[str, int]  # good/fair/poor/none/unknown
    commune_kind: Mapping[str, int]  # Xã/Thị trấn/Phường
    no_recent_project_years: int
    no_recent_project_points: int
    project_in_progress_points: int

    @classmethod
    def from_mapping(cls, data: Any) -> PriorityRules:
        try:
            w = data["weights"]
            nrd = w["nrd_target_year"]
            steps = tuple(sorted((int(s["within_years"]), int(s["points"])) for s in nrd["steps"]))
            building = {str(k): int(v) for k, v in w["building_condition"].items()}
            kinds = {str(k): int(v) for k, v in w["commune_kind"].items()}
            rules = cls(
                version=int(data["version"]),
                national_health_criteria_not_met=int(w["national_health_criteria_not_met"]),
                nrd_standard_not_met=int(w.get("nrd_standard_not_met", 0)),
                nrd_target_points=steps,
                nrd_target_later=int(nrd["later"]),
                building_condition=building,
                commune_kind=kinds,
                no_recent_project_years=int(w["no_recent_completed_project"]["years"]),
                no_recent_project_points=int(w["no_recent_completed_project"]["points"]),
                project_in_progress_points=int(w.get("project_in_progress", 0)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise RulesError(f"priority rules: missing or invalid entry ({exc!r})") from exc
        missing = ({*BUILDING_CONDITIONS, "unknown"} - set(building)) | ({"Xã", "Phường", "Thị trấn"} - set(kinds))
        if missing:
            raise RulesError(f"priority rules: no weight for {sorted(missing)}")
        if rules.no_recent_project_years < 1:
            raise RulesError("priority rules: no_recent_completed_project.years must be at least 1")
        return rules


@dataclass(frozen=True)
class StationFacts:
    """What the score looks at, as of the ranking year."""

    code: str
    commune_kind: str
    national_health_criteria: bool | None
    nrd_standard: bool | None
    nrd_target_year: int | None
    building_condition: str | None
    last_completed_year: int | None  # of a project at this station (or merged into it)
    projects_in_progress: int  # approved or under construction


@dataclass(frozen=True)
class ScorePart:
    rule: str
    points: int
    why: str

    def as_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "points": self.points, "why": self.why}


def priority_score(facts: StationFacts, rules: PriorityRules, year: int) -> tuple[int, list[ScorePart]]:
    """The score for ranking next year's list, with every part that made it ("why")."""
    parts: list[ScorePart] = []
    if not facts.national_health_criteria:
        parts.append(
            ScorePart(
                "national_health_criteria_not_met",
                rules.national_health_criteria_not_met,
                "Xã chưa đạt Bộ tiêu chí quốc gia về y tế"
                + ("" if facts.national_health_criteria is False else " (chưa có ghi nhận)"),
            )
        )
    if not facts.nrd_standard:
        if rules.nrd_standard_not_met:
            parts.append(
                ScorePart("nrd_standard_not_met", rules.nrd_standard_not_met, "Xã chưa đạt chuẩn nông thôn mới")
            )
        if facts.nrd_target_year is not None:
            years_left = facts.nrd_target_year - year
            points = next((p for limit, p in rules.nrd_target_points if years_left <= limit), rules.nrd_target_later)
            parts.append(
                ScorePart(
                    "nrd_target_year",
                    points,
                    f"Xã phấn đấu đạt chuẩn nông thôn mới năm {facts.nrd_target_year} "
                    f"(còn {max(years_left, 0)} năm; tiêu chí 15 về y tế)",
                )
            )
    condition = facts.building_condition or "unknown"
    label = BUILDING_LABELS.get(condition, "chưa đánh giá")
    parts.append(ScorePart("building_condition", rules.building_condition[condition], f"Cơ sở vật chất trạm: {label}"))
    parts.append(
        ScorePart(
            "commune_kind",
            rules.commune_kind.get(facts.commune_kind, 0),
            f"Loại đơn vị hành chính: {facts.commune_kind}",
        )
    )
    horizon = year - rules.no_recent_project_years
    if facts.last_completed_year is None or facts.last_completed_year < horizon:
        since = "chưa có" if facts.last_completed_year is None else f"gần nhất năm {facts.last_completed_year}"
        parts.append(
            ScorePart(
                "no_recent_completed_project",
                rules.no_recent_project_points,
                f"Không có dự án hoàn thành trong {rules.no_recent_project_years} năm gần đây ({since})",
            )
        )
    if facts.projects_in_progress and rules.project_in_progress_points:
        parts.append(
            ScorePart(
                "project_in_progress",
                rules.project_in_progress_points,
                f"Đang có {facts.projects_in_progress} dự án được duyệt hoặc đang thi công",
            )
        )
    parts = [p for p in parts if p.points != 0]
    return sum(p.points for p in parts), parts


PRIORITY_RULES_FILE = "priority_rules.yaml"


@cache
def priority_rules_document() -> dict[str, Any]:
    """The rule file as written (shown with every ranking, so a list can be traced to its weights)."""
    text = resources.files("services.investment").joinpath(PRIORITY_RULES_FILE).read_text("utf-8")
    data = yaml.safe_load(text)
    PriorityRules.from_mapping(data)  # refuse a broken file at once
    return data


def load_priority_rules() -> PriorityRules:
    return PriorityRules.from_mapping(priority_rules_document())
