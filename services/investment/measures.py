"""Indicator facts in the database and the plans' targets measured from them (the rules are in
indicators.py, pure). Writes: `record_facts` (one unit and year, a new version), `import_rows` (a sheet:
every row checked first, nothing written when one is wrong). Reads: `facts_of`, `sheet_rows`, `targets`.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.common import units
from services.common.errors import DomainError, NotFound, error
from services.investment import domain, indicators, queries
from services.investment.models import IndicatorFact, Station

CENTRE_PREFIX = "Trung tâm Y tế "


# --------------------------------------------------------------------------- whose facts


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
    from services.investment.ledger import station_for_status  # ledger imports queries; no cycle at call time

    domain.check_year(year, "year")
    if not isinstance(code, str) or not units.is_known_unit(code):
        raise _unknown(code)
    level = units.level_of(code)
    if level == "district":
        versions = [
            u
            for u in units.unit_versions().get(code, ())
            if u.level == "district" and domain.overlaps(u.valid_from, u.valid_to, date(year, 1, 1), date(year, 12, 31))
        ]
        if not versions:
            raise DomainError(units.check_unit(code, date(year, 12, 31), "code"))
        return Subject(code, versions[-1].valid_from, "district", CENTRE_PREFIX + versions[-1].name, None)
    if level != "commune":
        raise _unknown(code)
    station = station_for_status(session, code, year, None, valid_from)
    return Subject(station.code, station.valid_from, "commune", station.name, station)


# --------------------------------------------------------------------------- rows


def fact_dict(r: IndicatorFact) -> dict[str, Any]:
    return {
        **{name: getattr(r, name) for name in indicators.FACT_NAMES},
        "source": r.source,
        "version": r.version,
        "changed": list(r.changed or []),
        "recorded_by": r.recorded_by,
        "recorded_at": r.recorded_at.isoformat() if r.recorded_at else None,
    }


def _versions(session: Session, s: Subject, year: int) -> list[IndicatorFact]:
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
    history = [fact_dict(r) for r in _versions(session, s, year)]
    return {
        **s.as_dict(),
        "year": year,
        "current": history[-1] if history else None,
        "history": history,
    }


def _current_values(rows: list[IndicatorFact]) -> dict[str, Any] | None:
    if not rows:
        return None
    last = rows[-1]
    return {**{n: getattr(last, n) for n in indicators.FACT_NAMES}, "source": last.source}


def _write(
    session: Session, s: Subject, year: int, merged: dict[str, Any], changed: list[str], version: int, actor: str | None
) -> IndicatorFact:
    row = IndicatorFact(
        station_id=s.station.id if s.station else None,
        unit_code=s.code,
        unit_valid_from=s.valid_from,
        level=s.level,
        year=year,
        version=version,
        source=merged["source"],
        changed=changed,
        recorded_by=actor,
        **{n: merged[n] for n in indicators.FACT_NAMES},
    )
    session.add(row)
    return row


def _flush(session: Session) -> None:
    try:
        session.flush()
    except IntegrityError:
        # Two writers took the same next version: the second is told to read again, nothing half-written.
        raise DomainError.one(
            "indicator_conflict", "Số liệu vừa được người khác cập nhật; hãy tải lại rồi ghi lần nữa.", None, 409
        ) from None


def _refusal(problems: list[indicators.Problem], **extra: Any) -> DomainError:
    return DomainError([error(p.code, p.message, p.field, **extra) for p in problems])


def record_facts(
    session: Session, code: str, year: int, payload: dict[str, Any], actor: str | None = None
) -> dict[str, Any]:
    """A new version of a unit's facts for a year: the fields given set over the current ones (null clears
    one); `source` names the document or survey of this version. Identical facts make no new version."""
    if not isinstance(payload, dict):
        raise DomainError.one("invalid_json", "Nội dung phải là một đối tượng JSON.", None, 400)
    body = dict(payload)
    valid_from = body.pop("station_valid_from", None)
    try:
        on = date.fromisoformat(valid_from) if valid_from else None
    except (TypeError, ValueError):
        raise DomainError.one("invalid", "Ngày phải có dạng YYYY-MM-DD.", "station_valid_from") from None
    s = subject(session, code, year, on)
    rows = _versions(session, s, year)
    current = _current_values(rows)
    merged, changed, problems = indicators.merge_facts(current, body, s.level)
    if problems:
        raise _refusal(problems)
    if current is not None and merged == current:
        return {**facts_of(session, s.code, year, s.valid_from), "created": False}
    _write(session, s, year, merged, changed, len(rows) + 1, actor)
    _flush(session)
    return {**facts_of(session, s.code, year, s.valid_from), "created": True}


def import_rows(session: Session, year: int, rows: list[dict[str, Any]], actor: str | None = None) -> dict[str, Any]:
    """A filled-in sheet: `rows` = [{row, code, values}] where `values` is every column of the row (an empty
    cell is null). Every row is checked before anything is written; any problem refuses the whole sheet,
    each problem naming its row and field. A row without any value is skipped; a row equal to the current
    facts makes no new version."""
    domain.check_year(year, "year")
    problems: list[dict[str, Any]] = []
    plans: list[tuple[Subject, dict[str, Any], list[str], int]] = []
    seen: dict[tuple[str, date], int] = {}
    skipped = unchanged = 0
    for r in rows:
        row_no, code, values = r.get("row"), str(r.get("code") or "").strip(), dict(r.get("values") or {})
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in values.values()):
            skipped += 1
            continue
        try:
            s = subject(session, code, year)
        except DomainError as exc:
            problems += [{**e, "row": row_no, "field": "code"} for e in exc.errors]
            continue
        if (s.code, s.valid_from) in seen:
            problems.append(
                error("duplicate_row", f"Mã {code} đã có ở dòng {seen[(s.code, s.valid_from)]}.", "code", row=row_no)
            )
            continue
        seen[(s.code, s.valid_from)] = row_no
        if s.level == "district":  # a centre's row carries only its own columns; the others stay empty
            values = {
                k: v for k, v in values.items() if k in indicators.CENTRE_FIELDS or k == "source" or v not in (None, "")
            }
        existing = _versions(session, s, year)
        current = _current_values(existing)
        merged, changed, found = indicators.merge_facts(current, values, s.level)
        if found:
            problems += [error(p.code, p.message, p.field, row=row_no) for p in found]
            continue
        if current is not None and merged == current:
            unchanged += 1
            continue
        plans.append((s, merged, changed, len(existing) + 1))
    if problems:
        raise DomainError(problems)
    for s, merged, changed, version in plans:
        _write(session, s, year, merged, changed, version, actor)
    _flush(session)
    return {
        "year": year,
        "written": len(plans),
        "unchanged": unchanged,
        "skipped": skipped,
        "units": [s.code for s, *_ in plans],
    }


# --------------------------------------------------------------------------- the sheet


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
    start, end = date(year, 1, 1), date(year, 12, 31)
    out = []
    for code in sorted(units.districts()):
        if not units.within(scope, code):
            continue
        during = [
            u
            for u in units.unit_versions().get(code, ())
            if u.level == "district" and domain.overlaps(u.valid_from, u.valid_to, start, end)
        ]
        if during:
            out.append(during[-1])
    return out


def sheet_rows(session: Session, unit: str | None, year: int, today: date | None = None) -> dict[str, Any]:
    """One row per station in force at the year's as-of date within `unit` (then the district health
    centres), each with the year's latest facts: what the Excel template is filled with."""
    today = today or date.today()
    queries.check_unit(unit)
    domain.check_year(year, "year")
    scope = unit or units.PROVINCE_CODE
    on = domain.as_of_date(year, today)
    stations = queries._stations_on(session, on, (scope,))
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


# --------------------------------------------------------------------------- targets


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
    plan = queries.plan_or_404(plan_id)
    queries.check_unit(unit)
    year = year or today.year
    on = domain.as_of_date(year, today)
    scope = unit or plan.unit
    level = units.level_of(scope)
    stations = queries._stations_on(session, on, (plan.unit, unit))
    status = queries.latest_status(
        session,
        [s.id for s in stations],
        up_to_year=on.year,
        attributes=[*indicators.REGISTER_FALLBACK.values(), "difficult_commune"],
    )
    latest = _latest(session, year)
    completed: set[str] | None = None
    if any(t.key == domain.DIFFICULT_INVESTED_KEY for _i, t in plan.targets()):
        completed = queries._completed_building_codes(session, on)

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
        if target.key != domain.DIFFICULT_INVESTED_KEY:
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
