"""Kiên Giang's administrative units and their changes, as effective-dated reference data.

Sources (package data in `reference/units/`, see its README.md): the GSO lists of 01/12/2019 (15 districts,
145 communes) and 11/06/2024 (144: Phú Quốc became a city, Hòn Thơm joined An Thới), the GSO list of
01/01/2025 (Vĩnh Thanh Vân and Vĩnh Bảo of Rạch Giá merged into one ward), and the 2025 reform
(NQ 1654/NQ-UBTVQH15): from 01/7/2025 the province is An Giang, keeping code 91, the district level
ends on 30/6/2025 and all 144 communes became 48 units. Every 2025 unit reuses the code of one of the
communes it absorbed, and 20 codes now name a different unit: a unit is keyed by (code, valid_from),
never by its name, and "which unit is code X" is only answered for a date.

This module is the one home for "the unit valid on a date" (`unit_on`, `check_unit`, `require_unit`) and
"where a unit's figures went" (`successor_on`, `predecessors`): every service calls it.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from importlib import resources
from typing import Any

from services.common.errors import DomainError, error

PROVINCE_CODE = "91"
PROVINCE_NAME = "Tỉnh Kiên Giang"  # the name of code 91 before the reform (plans and reports of 2016–2025)
PROVINCE_NAME_2025 = "Tỉnh An Giang"
BASE_DATE = date(2019, 12, 1)  # the date of the GSO list the plans' units come from
REFORM_DATE = date(2025, 7, 1)  # NQ 1654/NQ-UBTVQH15 and NQ 202/2025/QH15: new province, no districts
REFORM_BASIS = "Nghị quyết 1654/NQ-UBTVQH15 ngày 16/6/2025; Nghị quyết 202/2025/QH15 (sắp xếp đơn vị hành chính)"


@dataclass(frozen=True)
class Commune:
    code: str
    name: str
    kind: str  # Xã | Phường | Thị trấn | Đặc khu
    # The district the commune lay in. A 2025 unit keeps the district of the commune whose code it reuses:
    # not a parent (districts ended on 30/6/2025) but the former district, so that a district's plan and
    # users still see the stations that continue its communes.
    district: str
    district_name: str
    valid_from: date
    valid_to: date | None
    successor: str | None
    legal_basis: str | None = None

    def in_force(self, on: date) -> bool:
        return _start(self.valid_from) <= on and (self.valid_to is None or on <= self.valid_to)


@dataclass(frozen=True)
class District:
    code: str
    name: str
    kind: str


@dataclass(frozen=True)
class Unit:
    """One version of a unit at any level: what `code` named from `valid_from` to `valid_to`."""

    code: str
    name: str
    level: str  # province | district | commune
    valid_from: date
    valid_to: date | None
    successor: str | None  # where its figures went when it ended
    legal_basis: str | None = None

    def in_force(self, on: date) -> bool:
        return _start(self.valid_from) <= on and (self.valid_to is None or on <= self.valid_to)

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "level": self.level,
            "valid_from": None if self.valid_from == BASE_DATE else self.valid_from.isoformat(),
            "valid_to": self.valid_to.isoformat() if self.valid_to else None,
            "successor": self.successor,
        }


def _start(valid_from: date) -> date:
    """The base list (GSO, 01/12/2019) shows the units as they already were: its date is when the list was
    taken, not when they began, so a unit of the base list counts as in force before it too."""
    return date.min if valid_from == BASE_DATE else valid_from


def _rows(name: str) -> list[dict[str, str]]:
    text = resources.files("services.common.reference.units").joinpath(name).read_text("utf-8")
    return list(csv.DictReader(text.splitlines()))


def _kind(name: str) -> str:
    for kind in ("Thị trấn", "Phường", "Đặc khu", "Xã"):
        if name.startswith(kind):
            return kind
    return "Xã"


@cache
def districts() -> dict[str, District]:
    """The 15 districts of the base list (all ended on 30/6/2025)."""
    out: dict[str, District] = {}
    for row in _rows("kien_giang_units_2019-12-01.csv"):
        out.setdefault(row["mahuyen"], District(row["mahuyen"], row["tenhuyen"], row["loaihuyen"]))
    return out


def _changes() -> list[dict[str, str]]:
    """Every commune change, oldest first, in one shape: effective_from, old_code, new_code, new_name,
    new_kind, legal_basis."""
    out = [{**r, "new_kind": _kind(r["new_name"])} for r in _rows("changes_2019_2024.csv")]
    for name, basis in (
        ("kien_giang_2025-01-01_interim.csv", "Danh mục ĐVHC Tổng cục Thống kê 01/01/2025 (NQ 1247/NQ-UBTVQH15)"),
        ("kien_giang_2025_merges.csv", "Nghị quyết 1654/NQ-UBTVQH15 ngày 16/6/2025"),
    ):
        for r in _rows(name):
            out.append(
                {
                    "effective_from": r["valid_from"],
                    "old_code": r["old_code"],
                    "new_code": r["new_code"],
                    "new_name": r["new_name"],
                    "new_kind": r["new_kind"],
                    "legal_basis": basis,
                }
            )
    return sorted(out, key=lambda r: r["effective_from"])


@cache
def communes() -> tuple[Commune, ...]:
    """Every commune that has existed since the base list, each version with its validity and successor."""
    later = {r["maxa"]: r for r in _rows("kien_giang_units_2024-06-11.csv")}
    current: dict[str, Commune] = {}  # code -> its latest version
    done: list[Commune] = []
    for row in _rows("kien_giang_units_2019-12-01.csv"):
        code = row["maxa"]
        # A commune of both lists bears its 2024 name and kind (Phú Quốc's towns became wards in 2021).
        name = " ".join((later[code]["tenxa"] if code in later else row["tenxa"]).split())
        kind = later[code]["cap"] if code in later else row["loaixa"]
        current[code] = Commune(code, name, kind, row["mahuyen"], row["tenhuyen"], BASE_DATE, None, None)

    by_day: dict[str, list[dict[str, str]]] = defaultdict(list)
    for change in _changes():
        by_day[change["effective_from"]].append(change)
    for day_text, changes in by_day.items():
        day = date.fromisoformat(day_text)
        ended: dict[str, Commune] = {}
        for ch in changes:
            old = current.get(ch["old_code"])
            # The 2025 list names communes as in the 2024 list; one already merged on 01/01/2025 has ended.
            if old is None or old.valid_to is not None or old.code in ended:
                continue
            ended[old.code] = old
            closed = Commune(
                old.code,
                old.name,
                old.kind,
                old.district,
                old.district_name,
                old.valid_from,
                day - timedelta(days=1),
                ch["new_code"],
                ch["legal_basis"],
            )
            done.append(closed)
            current[old.code] = closed
        for ch in changes:
            new = ch["new_code"]
            if new in ended and current[new].valid_from == day:
                continue  # already opened by another row of the same change
            if new not in ended:
                if new not in current or current[new].valid_to is not None:
                    raise ValueError(f"unit {new} of {day_text} neither continues nor reuses a commune's code")
                continue  # absorbs others and continues unchanged (Phường An Thới, 2021)
            reused = ended[new]  # every new unit reuses the code of a commune it absorbed
            current[new] = Commune(
                new,
                " ".join(ch["new_name"].split()),
                ch["new_kind"],
                reused.district,
                reused.district_name,
                day,
                None,
                None,
                ch["legal_basis"],
            )
    out = list(done)
    out += [c for c in current.values() if c not in done]
    return tuple(sorted(out, key=lambda c: (c.code, c.valid_from)))


def base_communes() -> list[Commune]:
    """The 145 communes of the plans' base list (one commune health station each)."""
    return [c for c in communes() if c.valid_from == BASE_DATE]


def communes_on(day: date) -> list[Commune]:
    return [c for c in communes() if c.in_force(day)]


# --------------------------------------------------------------------------- units at every level


@cache
def unit_versions() -> dict[str, tuple[Unit, ...]]:
    """Code -> every unit that has borne it, oldest first (province, districts and communes)."""
    out: dict[str, list[Unit]] = defaultdict(list)
    end = REFORM_DATE - timedelta(days=1)
    out[PROVINCE_CODE] += [
        Unit(PROVINCE_CODE, PROVINCE_NAME, "province", BASE_DATE, end, PROVINCE_CODE, REFORM_BASIS),
        Unit(PROVINCE_CODE, PROVINCE_NAME_2025, "province", REFORM_DATE, None, None, REFORM_BASIS),
    ]
    for d in districts().values():
        # The district level ended; its communes answer to the province.
        out[d.code].append(Unit(d.code, d.name, "district", BASE_DATE, end, PROVINCE_CODE, REFORM_BASIS))
    for c in communes():
        out[c.code].append(Unit(c.code, c.name, "commune", c.valid_from, c.valid_to, c.successor, c.legal_basis))
    return {code: tuple(sorted(vs, key=lambda u: u.valid_from)) for code, vs in out.items()}


def unit_on(code: str, day: date) -> Unit | None:
    """The unit `code` names on `day`, or None (unknown code, or no unit of that code in force then)."""
    return next((u for u in unit_versions().get(code, ()) if u.in_force(day)), None)


def name_on(code: str, day: date) -> str:
    unit = unit_on(code, day) or (unit_versions().get(code) or (None,))[-1]
    return unit.name if unit is not None else code


def known_name(code: str | None) -> str:
    """A unit's name as the plans' people know it: the province (or no unit) by the plans' name, a district by
    its own (districts ended in 2025 but the plans name them), a commune by its latest name (a merged one by the
    name it had last); an unknown code as itself."""
    if code is None or code == PROVINCE_CODE:
        return PROVINCE_NAME
    district = districts().get(code)
    if district is not None:
        return district.name
    versions = unit_versions().get(code)
    return versions[-1].name if versions else code


def check_unit(code: str, on: date | None = None, field: str = "unit") -> list[dict[str, Any]]:
    """The one check that a document names a unit: a known code, and (with `on`, the document's date) a unit
    in force that day. A unit that has ended is refused with `unit_not_in_force`, naming its successor."""
    versions = unit_versions().get(code) if isinstance(code, str) else None
    if not versions:
        return [error("unknown_unit", f"Không có đơn vị hành chính mã {code}.", field)]
    if on is None or unit_on(code, on) is not None:
        return []
    last = next((u for u in reversed(versions) if _start(u.valid_from) <= on), None)
    if last is None:  # only units that began later bear this code
        first = versions[0]
        return [
            error(
                "unit_not_in_force",
                f"Đơn vị hành chính mã {code} ({first.name}) chỉ có từ ngày {first.valid_from:%d/%m/%Y}, "
                f"chưa có vào ngày {on:%d/%m/%Y}.",
                field,
                successor=None,
            )
        ]
    successor = successor_on(code, on)
    after = unit_on(successor, on)
    to = last.valid_to.strftime("%d/%m/%Y") if last.valid_to else ""
    ended = ", cấp huyện đã kết thúc" if last.level == "district" else ""
    return [
        error(
            "unit_not_in_force",
            f"Đơn vị hành chính mã {code} ({last.name}) không còn vào ngày {on:%d/%m/%Y} (hiệu lực đến {to}"
            f"{ended}); đơn vị kế thừa: {after.name if after else successor} (mã {successor}).",
            field,
            successor=successor,
            successor_name=after.name if after else None,
            valid_to=last.valid_to.isoformat() if last.valid_to else None,
        )
    ]


def require_unit(code: str, on: date | None = None, field: str = "unit", status: int = 422) -> None:
    """`check_unit`, raised as a DomainError with `status`."""
    errs = check_unit(code, on, field)
    if errs:
        raise DomainError(errs, status)


def check_scope(code: str, on: date, field: str = "unit") -> list[dict[str, Any]]:
    """A user's scope names a unit in force on `on` (today), or a former district: a district is a territory
    whose plan, money of 2016–2025 and continuing stations its health centre still answers for, so it stays
    a scope after the district level ended. A commune that has ended is refused, naming its successor."""
    if code in districts():
        return []
    return check_unit(code, on, field)


def successor_on(code: str, day: date) -> str:
    """Where a unit's figures belong on `day`: itself, or the unit it became part of (followed to `day`)."""
    seen = set()
    current = code
    while current not in seen:
        seen.add(current)
        versions = [u for u in unit_versions().get(current, ()) if _start(u.valid_from) <= day]
        if not versions:
            return current
        latest = versions[-1]
        if latest.valid_to is None or day <= latest.valid_to or latest.successor in (None, current):
            return current
        current = latest.successor
    return current


def predecessors(code: str, on: date) -> set[str]:
    """The codes whose figures belong to the unit `code` names on `on`: itself and every commune that
    became part of it by then (for the province: every unit). Empty when `code` names no unit that day."""
    unit = unit_on(code, on)
    if unit is None:
        return set()
    if unit.level == "province":
        return set(unit_versions())
    if unit.level == "district":
        inside = {code, *(c.code for c in communes() if c.district == code and c.in_force(on))}
        return {c.code for c in communes() if successor_on(c.code, on) in inside} | {code}
    return {c.code for c in communes() if successor_on(c.code, on) == code} | {code}


# --------------------------------------------------------------------------- territory (by code)


@cache
def _commune_district() -> dict[str, str]:
    return {c.code: c.district for c in communes()}


def is_known_unit(code: str) -> bool:
    return code == PROVINCE_CODE or code in districts() or code in _commune_district()


def level_of(code: str) -> str:
    if code == PROVINCE_CODE:
        return "province"
    if code in districts():
        return "district"
    if code in _commune_district():
        return "commune"
    raise KeyError(code)


def parent_of(code: str) -> str | None:
    if code == PROVINCE_CODE:
        return None
    if code in districts():
        return PROVINCE_CODE
    return _commune_district().get(code)


def within(scope: str | None, code: str) -> bool:
    """Is unit `code` inside the unit `scope` (a user's --unit)? No scope or the province sees everything."""
    if scope is None or scope == PROVINCE_CODE:
        return True
    node: str | None = code
    while node is not None:
        if node == scope:
            return True
        node = parent_of(node)
    return False


def units_within(scope: str) -> set[str]:
    """All unit codes inside `scope`, itself included."""
    if scope == PROVINCE_CODE:
        return {PROVINCE_CODE, *districts(), *_commune_district()}
    if scope in districts():
        return {scope, *(c for c, d in _commune_district().items() if d == scope)}
    return {scope}


def answers_for(scope: str | None, code: str, on: date) -> bool:
    """Does unit `scope` (a user's --unit) answer on `on` for unit `code`'s money and records? When `code` lies
    inside it, or has become part of a unit inside it by then: a merged commune's years before the merger are
    its successor's (docs/domain.md §7), so the officers of Phường Rạch Giá see and settle what was allocated to
    the wards that merged into it. No scope or the province answers for everything."""
    return within(scope, code) or within(scope, successor_on(code, on))


def reaching(scope: str, on: date) -> set[str]:
    """The unit codes `scope` answers for on `on` (`answers_for`): those inside it and every commune merged into
    a unit inside it by then; what a list narrowed to a unit keeps."""
    return units_within(scope) | {c.code for c in communes() if within(scope, successor_on(c.code, on))}
