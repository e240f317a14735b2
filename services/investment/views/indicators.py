"""Indicator facts (a unit's facts of a year and their versions, the sheet to fill in) and the plans' targets
measured from them; the rules are pure (domain/indicators.py, domain/targets.py)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.common import clock, units
from services.investment import domain
from services.investment.domain import targets as target_rules
from services.investment.models import IndicatorFact, Project, ProjectStatusChange, Station
from services.investment.records import CENTRE_PREFIX, district_during, fact_dict, fact_values, plan_or_refuse
from services.investment.views.rows import check_unit, latest_status, stations_on


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
        during = district_during(code, year) if units.within(scope, code) else []
        if during:
            out.append(during[-1])
    return out


def sheet_rows(session: Session, unit: str | None, year: int, today: date | None = None) -> dict[str, Any]:
    """One row per station in force at the year's as-of date within `unit` (then the district health
    centres), each with the year's latest facts: what the Excel template is filled with."""
    today = today or clock.today()
    check_unit(unit)
    domain.check_year(year, "year")
    scope = unit or units.PROVINCE_CODE
    on = target_rules.as_of_date(year, today)
    stations = stations_on(session, on, (scope,), today)
    merged = _merged(scope, stations)
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
                "merged_into": _merged_into(s.code, today),
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
                "merged_into": None,
                "facts": fact_dict(f) if f else None,
            }
        )
    return {
        "unit": scope,
        "unit_name": _scope_name(scope, on, today, merged),
        "merged": merged,
        "year": year,
        "as_of": on.isoformat(),
        "rows": rows,
    }


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


def _merged_into(code: str, today: date) -> str | None:
    """The commune a station's commune has since merged into (None: it is still its own)."""
    now = units.successor_on(code, today)
    return None if now == code else now


def _merged(code: str, stations: list[Station]) -> list[str]:
    """The stations listed under unit `code` that lie outside it: communes merged into it since."""
    return [s.code for s in stations if not units.within(code, s.code)]


def _scope_name(code: str, on: date, today: date, merged: list[str]) -> str:
    """The unit measured, in words; a ward's year before the merger names the communes it is made of (`merged`)."""
    if not merged:
        return f"{units.name_on(code, on)} ({code})"
    return f"{units.name_on(code, today)} ({code}, gồm {', '.join(merged)} đã sáp nhập vào)"


def targets(
    session: Session, plan_id: int, year: int | None = None, unit: str | None = None, today: date | None = None
) -> dict[str, Any]:
    """Every target of the plan measured for `year` within the plan's unit (and `unit`): stations in force
    on the as-of date (31/12, or today for the year running), their indicator facts of the year and the
    register; the value per unit one level down (`by_unit`) and the stations or centres that miss it."""
    today = today or clock.today()
    plan = plan_or_refuse(plan_id)
    check_unit(unit)
    year = year or today.year
    on = target_rules.as_of_date(year, today)
    scope = unit or plan.unit
    level = units.level_of(scope)
    stations = stations_on(session, on, (plan.unit, unit), today)
    status = latest_status(
        session,
        [s.id for s in stations],
        up_to_year=on.year,
        attributes=[*target_rules.REGISTER_FALLBACK.values(), "difficult_commune"],
    )
    latest = _latest(session, year)
    completed: set[str] | None = None
    if any(t.key == target_rules.DIFFICULT_INVESTED_KEY for _i, t in plan.targets()):
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
            target_rules.Unit(
                code=s.code,
                name=s.name,
                group=g,
                group_name=gname,
                facts=fact_values(latest.get((s.code, s.valid_from))),
                register=register,
                in_pool=register.get("difficult_commune", False),
                invested=completed is not None and s.code in completed,
            )
        )
    centre_units = [
        target_rules.Unit(
            code=c.code,
            name=CENTRE_PREFIX + c.name,
            group=c.code if level == "province" else None,
            group_name=c.name,
            facts=fact_values(latest.get((c.code, c.valid_from))),
        )
        for c in (_centres(scope, year) if level != "commune" and units.within(plan.unit, scope) else [])
    ]
    scope_name = _scope_name(scope, on, today, _merged(scope, stations))
    items = []
    for item, target in plan.targets():
        kind = target_rules.KINDS.get(target.key)
        if kind is None:
            continue
        threshold = next((t.value for t in item.targets if t.key == "district_centres_technical_services"), None)
        spec = target_rules.Spec(target.key, target.value, target.comparison, threshold)
        pool = centre_units if kind in (target_rules.CENTRE_POOLED, target_rules.CENTRE_SHARE) else station_units
        if target.key != target_rules.DIFFICULT_INVESTED_KEY:
            for u in pool:
                u.in_pool = True
        else:
            for u in pool:
                u.in_pool = u.register.get("difficult_commune", False)
        result = target_rules.evaluate(spec, pool, year)
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
                "basis": target_rules.basis(target.key, year, f"{on:%d/%m/%Y}", scope_name, result, threshold)
                + (
                    ""
                    if pool or kind not in (target_rules.CENTRE_POOLED, target_rules.CENTRE_SHARE)
                    else "; không có trung tâm y tế huyện trong phạm vi này vào năm đó"
                ),
            }
        )
    return {"plan_id": plan.id, "year": year, "unit": scope, "level": level, "as_of": on.isoformat(), "items": items}
