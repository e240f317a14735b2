"""Kiên Giang's administrative units and their changes, as effective-dated reference data.

Sources (package data in `reference/units/`): the GSO lists of 01/12/2019 (15 districts, 145 communes)
and 11/06/2024 (144: Phú Quốc became a city, Hòn Thơm joined An Thới), and the 2025 merger of
Vĩnh Thuận's 8 communes into 3 (NQ 1654/NQ-UBTVQH15, from 01/7/2025). Codes are GSO codes; a 2025
commune may reuse the code of one of the communes it absorbed, so a unit is keyed by (code, valid_from).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from importlib import resources

PROVINCE_CODE = "91"
PROVINCE_NAME = "Tỉnh Kiên Giang"
BASE_DATE = date(2019, 12, 1)  # the date of the GSO list the plans' units come from


@dataclass(frozen=True)
class Commune:
    code: str
    name: str
    kind: str  # Xã | Phường | Thị trấn
    district: str  # district code; kept for merged communes so district scoping still holds
    district_name: str
    valid_from: date
    valid_to: date | None
    successor: str | None
    legal_basis: str | None = None

    def in_force(self, on: date) -> bool:
        return self.valid_from <= on and (self.valid_to is None or on <= self.valid_to)


@dataclass(frozen=True)
class District:
    code: str
    name: str
    kind: str


def _rows(name: str) -> list[dict[str, str]]:
    text = resources.files("services.common.reference.units").joinpath(name).read_text("utf-8")
    return list(csv.DictReader(text.splitlines()))


def _kind(name: str) -> str:
    for kind in ("Thị trấn", "Phường", "Xã"):
        if name.startswith(kind):
            return kind
    return "Xã"


@cache
def districts() -> dict[str, District]:
    out: dict[str, District] = {}
    for row in _rows("kien_giang_units_2019-12-01.csv"):
        out.setdefault(row["mahuyen"], District(row["mahuyen"], row["tenhuyen"], row["loaihuyen"]))
    return out


@cache
def communes() -> tuple[Commune, ...]:
    """Every commune that has existed since the base list, each with its validity and successor."""
    base = _rows("kien_giang_units_2019-12-01.csv")
    later = {r["maxa"]: r for r in _rows("kien_giang_units_2024-06-11.csv")}
    ends: dict[str, tuple[date, str, str]] = {}
    for row in _rows("changes_2019_2024.csv") + _rows("vinh_thuan_2025_merges.csv"):
        ends[row["old_code"]] = (date.fromisoformat(row["effective_from"]), row["new_code"], row["legal_basis"])

    out: list[Commune] = []
    for row in base:
        code = row["maxa"]
        name = later[code]["tenxa"] if code in later else row["tenxa"]
        end = ends.get(code)
        out.append(
            Commune(
                code=code,
                name=row["tenxa"] if end else name,
                kind=row["loaixa"],
                district=row["mahuyen"],
                district_name=row["tenhuyen"],
                valid_from=BASE_DATE,
                valid_to=end[0] - timedelta(days=1) if end else None,
                successor=end[1] if end else None,
                legal_basis=end[2] if end else None,
            )
        )
    # The communes formed by the 2025 merger (one per distinct new code).
    seen: set[str] = set()
    for row in _rows("vinh_thuan_2025_merges.csv"):
        if row["new_code"] in seen:
            continue
        seen.add(row["new_code"])
        old = next(c for c in out if c.code == row["old_code"])
        out.append(
            Commune(
                code=row["new_code"],
                name=row["new_name"],
                kind=_kind(row["new_name"]),
                district=old.district,
                district_name=old.district_name,
                valid_from=date.fromisoformat(row["effective_from"]),
                valid_to=None,
                successor=None,
                legal_basis=row["legal_basis"],
            )
        )
    return tuple(out)


def base_communes() -> list[Commune]:
    """The 145 communes of the plans' base list (one commune health station each)."""
    return [c for c in communes() if c.valid_from == BASE_DATE]


def communes_on(day: date) -> list[Commune]:
    return [c for c in communes() if c.in_force(day)]


def successor_on(code: str, day: date) -> str:
    """Where a commune's figures belong on `day`: itself, or the commune it was merged into."""
    seen = set()
    current = code
    while current not in seen:
        seen.add(current)
        versions = [c for c in communes() if c.code == current and c.valid_from <= day]
        if not versions:
            return current
        latest = max(versions, key=lambda c: c.valid_from)
        if latest.valid_to is None or day <= latest.valid_to or latest.successor in (None, current):
            return current
        current = latest.successor
    return current


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
