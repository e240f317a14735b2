"""Indicator facts (a unit's facts of a year and their versions, the sheet to fill in) and the plans' targets
measured from them; the measuring rules are pure (domain/indicators.py)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.common import units
from services.common.errors import DomainError, NotFound, error
from services.investment import domain
from services.investment.domain import indicators
from services.investment.models import IndicatorFact, Project, ProjectStatusChange, Station
from services.investment.views.rows import (
    check_unit,
    fact_dict,
    latest_status,
    plan_or_refuse,
    station_versions,
    stations_on,
)

CENTRE_PREFIX = "Trung tâm Y tế "


class Subject:
    """What a fact is about: a station version, or a district health centre (a district unit)."""

    def __init__(self, code: str, valid_from: date, level: str, name: str, station: Station | None) -> None:
        self.code, self.valid_from, self.level, self.name, self.station = code, valid_from, level, name, station

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "valid_from": self.valid_from.isoformat(),
            "level": self.level,
            "name": self.name,
        }


def _unknown(code: str) -> NotFound:
    return NotFound(
        [error("unknown_station", f"Không có trạm y tế (mã xã) hay trung tâm y tế huyện mã {code}.", "code")]
    )


def subject(session: Session, code: str, year: int, valid_from: date | None = None) -> Subject:
    """The station in force during `year` (the latest one when a code was reused, unless `valid_from`
    names one), or the district health centre of a district that existed during the year."""
    domain.check_year(year, "year")
    if not isinstance(code, str) or not units.is_known_unit(code):
        raise _unknown(code)
    level = units.level_of(code)
    if level == "district":
        versions = _district_during(code, year)
        if not versions:
            raise DomainError(units.check_unit(code, date(year, 12, 31), "code"))
        return Subject(code, versions[-1].valid_from, "district", CENTRE_PREFIX + versions[-1].name, None)
    if level != "commune":
        raise _unknown(code)
    station = domain.version_for_fact(station_versions(session, code), code, year, None, valid_from)
    return Subject(station.code, station.valid_from, "commune", station.name, station)


def _district_during(code: str, year: int) -> list[units.Unit]:
    """The versions of a district that existed during `year` (none after the 2025 reform)."""
    return domain.during_year((u for u in units.unit_versions().get(code, ()) if u.level == "district"), year)


def fact_versions(session: Session, s: Subject, year: int) -> list[IndicatorFact]:
    return list(
        session.scalars(
            select(IndicatorFact)
            .where(
                IndicatorFact.unit_code == s.code,
                IndicatorFact.unit_valid_from == s.valid_from,
                IndicatorFact.year == year,
            )
            .order_by(IndicatorFact.version)
        )
    )


def facts_of(session: Session, code: str, year: int, valid_from: date | None = None) -> dict[str, Any]:
    """The current facts of a unit for a year and every earlier version (oldest first)."""
    s = subject(session, code, year, valid_from)
    history = [fact_dict(r) for r in fact_versions(session, s, year)]
    return {
        **s.as_dict(),
        "year": year,
        "current": history[-1] if history else None,
        "history": history,
    }


def current_values(rows: list[IndicatorFact]) -> dict[str, Any] | None:
    """The values of the latest version with its source: what the next version is merged over."""
    if not rows:
        return None
    return {**(_facts(rows[-1]) or {}), "source": rows[-1].source}


def _latest(
    session: Session, year: int, keys: set[tuple[str, date]] | None = None
) -> dict[tuple[str, date], IndicatorFact]:
    """The year's latest version of every unit (one query: max version per unit)."""
    top = (
        select(IndicatorFact.unit_code, IndicatorFact.unit_valid_from, func.max(IndicatorFact.version).label("v"))
        .where(IndicatorFact.year == year)
        .group_by(IndicatorFact.unit_code, IndicatorFact.unit_valid_from)
        .subquery()
    )
    rows = session.scalars(
        select(IndicatorFact).join(
            top,
            (top.c.unit_code == IndicatorFact.unit_code)
            & (top.c.unit_valid_from == IndicatorFact.unit_valid_from)
            & (top.c.v == IndicatorFact.version)
            & (IndicatorFact.year == year),
        )
    )
    out = {(r.unit_code, r.unit_valid_from): r for r in rows}
    return out if keys is None else {k: v for k, v in out.items() if k in keys}


def _centres(scope: str, year: int) -> list[units.Unit]:
    """District health centres of the scope: districts that existed during the year (none after 2025)."""
    out = []
    for code in sorted(units.districts()):
        during = _district_during(code, year) if units.within(scope, code) else []
        if during:
            out.append(during[-1])
    return out


def sheet_rows(session: Session, unit: str | None, year: int, today: date | None = None) -> dict[str, Any]:
    """One row per station in force at the year's as-of date within `unit` (then the district health
    centres), each with the year's latest facts: what the Excel template is filled with."""
    today = today or date.today()
    check_unit(unit)
    domain.check_year(year, "year")
    scope = unit or units.PROVINCE_CODE
    on = indicators.as_of_date(year, today)
    stations = stations_on(session, on, (scope,))
    centres = _centres(scope, year) if units.level_of(scope) != "commune" else []
    latest = _latest(session, year)
    rows = []
    for s in stations:
        f = latest.get((s.code, s.valid_from))
        rows.append(
            {
                "code": s.code,
                "name": s.name,
                "level": "commune",
                "district": s.district,
                "district_name": s.district_name,
                "facts": fact_dict(f) if f else None,
            }
        )
    for c in centres:
        f = latest.get((c.code, c.valid_from))
        rows.append(
            {
                "code": c.code,
                "name": CENTRE_PREFIX + c.name,
                "level": "district",
                "district": c.code,
                "district_name": c.name,
                "facts": fact_dict(f) if f else None,
            }
        )
    return {"unit": scope, "year": year, "as_of": on.isoformat(), "rows": rows}


def _completed_building_codes(session: Session, on: date) -> set[str]:
    """Stations (resolved to `on`) with a building project completed on or before `on`."""
    done = (
        select(ProjectStatusChange.project_id)
        .where(ProjectStatusChange.to_status == "completed", ProjectStatusChange.effective_date <= on)
        .subquery()
    )
    codes = session.scalars(
        select(Project.station_code)
        .where(Project.id.in_(select(done.c.project_id)), Project.kind.in_(sorted(domain.BUILDING_KINDS)))
        .group_by(Project.station_code)
    )
    return {units.successor_on(c, on) for c in codes}


def _facts(r: IndicatorFact | None) -> dict[str, Any] | None:
    return None if r is None else {n: getattr(r, n) for n in indicators.FACT_NAMES}


def _scope_name(code: str, on: date) -> str:
    return f"{units.name_on(code, on)} ({code})"


def targets(
    session: Session, plan_id: int, year: int | None = None, unit: str | None = None, today: date | None = None
) -> dict[str, Any]:
    """Every target of the plan measured for `year` within the plan's unit (and `unit`): stations in force
    on the as-of date (31/12, or today for the year running), their indicator facts of the year and the
    register; the value per unit one level down (`by_unit`) and the stations or centres that miss it."""
    today = today or date.today()
    plan = plan_or_refuse(plan_id)
    check_unit(unit)
    year = year or today.year
    on = indicators.as_of_date(year, today)
    scope = unit or plan.unit
    level = units.level_of(scope)
    stations = stations_on(session, on, (plan.unit, unit))
    status = latest_status(
        session,
        [s.id for s in stations],
        up_to_year=on.year,
        attributes=[*indicators.REGISTER_FALLBACK.values(), "difficult_commune"],
    )
    latest = _latest(session, year)
    completed: set[str] | None = None
    if any(t.key == indicators.DIFFICULT_INVESTED_KEY for _i, t in plan.targets()):
        completed = _completed_building_codes(session, on)

    def group(s: Station) -> tuple[str | None, str | None]:
        if level == "province":
            return s.district, s.district_name
        if level == "district":
            return s.code, s.name
        return None, None

    station_units = []
    for s in stations:
        current = status.get(s.id, {})
        register = {a: r.value == "true" for a, r in current.items()}
        g, gname = group(s)
        station_units.append(
            indicators.Unit(
                code=s.code,
                name=s.name,
                group=g,
                group_name=gname,
                facts=_facts(latest.get((s.code, s.valid_from))),
                register=register,
                in_pool=register.get("difficult_commune", False),
                invested=completed is not None and s.code in completed,
            )
        )
    centre_units = [
        indicators.Unit(
            code=c.code,
            name=CENTRE_PREFIX + c.name,
            group=c.code if level == "province" else None,
            group_name=c.name,
            facts=_facts(latest.get((c.code, c.valid_from))),
        )
        for c in (_centres(scope, year) if level != "commune" and units.within(plan.unit, scope) else [])
    ]
    scope_name = _scope_name(scope, on)
    items = []
    for item, target in plan.targets():
        kind = indicators.KINDS.get(target.key)
        if kind is None:
            continue
        threshold = next((t.value for t in item.targets if t.key == "district_centres_technical_services"), None)
        spec = indicators.Spec(target.key, target.value, target.comparison, threshold)
        pool = centre_units if kind in (indicators.CENTRE_POOLED, indicators.CENTRE_SHARE) else station_units
        if target.key != indicators.DIFFICULT_INVESTED_KEY:
            for u in pool:
                u.in_pool = True
        else:
            for u in pool:
                u.in_pool = u.register.get("difficult_commune", False)
        result = indicators.evaluate(spec, pool, year)
        value = target.value
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        items.append(
            {
                "key": target.key,
                "item_code": item.code,
                "indicator": target.indicator,
                "target_value": value,
                "target_unit": target.unit,
                "target_year": target.year,
                "comparison": target.comparison,
                **result.as_dict(),
                "as_of": on.isoformat(),
                "level": level,
                "unit": scope,
                "basis": indicators.basis(target.key, year, f"{on:%d/%m/%Y}", scope_name, result, threshold)
                + (
                    ""
                    if pool or kind not in (indicators.CENTRE_POOLED, indicators.CENTRE_SHARE)
                    else "; không có trung tâm y tế huyện trong phạm vi này vào năm đó"
                ),
            }
        )
    return {"plan_id": plan.id, "year": year, "unit": scope, "level": level, "as_of": on.isoformat(), "items": items}


