"""Read side of investment: the station register with its criteria, projects, and the money roll-ups the
gateway shows next to finance's (funding status per plan item, medium-term view, targets, priorities).

Money is summed in the database (SUM … GROUP BY station, source, year); Python only maps the grouped
rows of a merged station to its successor for the years after the merger and adds them into items.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from functools import cache
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from services.common import catalog, units
from services.common.errors import DomainError, NotFound, error
from services.common.kept import KeptAnswers
from services.investment import domain
from services.investment.models import (
    WRITES,
    Project,
    ProjectCapital,
    ProjectCompletion,
    ProjectDisbursement,
    ProjectEstimate,
    ProjectStatusChange,
    Station,
    StationStatus,
)

FAR_FUTURE = date(9999, 12, 31)

# --------------------------------------------------------------------------- row shapes


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d else None


def station_dict(s: Station) -> dict[str, Any]:
    return {
        "code": s.code,
        "name": s.name,
        "commune": s.commune_name,
        "commune_kind": s.commune_kind,
        "district": s.district,
        "district_name": s.district_name,
        "valid_from": s.valid_from.isoformat(),
        "valid_to": _iso(s.valid_to),
        "successor": s.successor,
        "legal_basis": s.legal_basis,
    }


def status_dict(r: StationStatus) -> dict[str, Any]:
    return {
        "id": r.id,
        "station_code": r.station_code,
        "attribute": r.attribute,
        "value": domain.typed_value(r.attribute, r.value),
        "year": r.year,
        "decision_no": r.decision_no,
        "decision_date": _iso(r.decision_date),
        "note": r.note,
        "recorded_by": r.recorded_by,
        "recorded_at": r.recorded_at.isoformat() if r.recorded_at else None,
    }


def capital_dict(r: ProjectCapital) -> dict[str, Any]:
    return {
        "id": r.id,
        "project_id": r.project_id,
        "source": r.source,
        "fiscal_year": r.fiscal_year,
        "fund_year": r.fund_year,
        "use": r.surplus_use,
        "amount": r.amount,
        "decision_no": r.decision_no,
        "decision_date": _iso(r.decision_date),
        "recorded_by": r.recorded_by,
    }


def disbursement_dict(r: ProjectDisbursement) -> dict[str, Any]:
    return {
        "id": r.id,
        "project_id": r.project_id,
        "source": r.source,
        "amount": r.amount,
        "date": _iso(r.date),
        "reference": r.reference,
        "recorded_by": r.recorded_by,
    }


def estimate_dict(r: ProjectEstimate) -> dict[str, Any]:
    return {
        "id": r.id,
        "project_id": r.project_id,
        "amount": r.amount,
        "decision_no": r.decision_no,
        "decision_date": _iso(r.decision_date),
        "note": r.note,
        "recorded_by": r.recorded_by,
    }


def project_totals(f: domain.ProjectFigures) -> dict[str, Any]:
    return {
        "estimated_cost": f.estimate,
        "settled_cost": f.settled_cost,
        "capital": f.capital,
        "disbursed": f.disbursed,
        "remaining_to_finance": f.remaining_to_finance,
        "undisbursed_capital": f.capital - f.disbursed,
        "execution_rate": domain.execution_rate(f.capital, f.disbursed),
    }


def plan_or_refuse(plan_id: int, item_code: str | None = None, status: int = 422) -> catalog.Plan:
    """The catalog's plan (and item): 422 when a command names an unknown one, 404 for a read."""
    refusal = NotFound if status == 404 else DomainError
    try:
        plan = catalog.get_plan(plan_id)
    except KeyError:
        raise refusal([error("unknown_plan", f"Không có kế hoạch số hiệu {plan_id}.", "plan_id")], status) from None
    if item_code is not None and not plan.has_item(item_code):
        message = f"Kế hoạch {plan.number} không có mục {item_code}."
        raise refusal([error("unknown_item", message, "item_code")], status)
    return plan


def project_figures(session: Session, project_id: int) -> domain.ProjectFigures:
    """What the guards and the answers need: latest estimate, settled cost, capital and disbursed per
    source (summed in the database)."""
    estimate = session.scalar(
        select(ProjectEstimate.amount)
        .where(ProjectEstimate.project_id == project_id)
        .order_by(ProjectEstimate.id.desc())
        .limit(1)
    )
    settled = session.scalar(select(ProjectCompletion.settled_cost).where(ProjectCompletion.project_id == project_id))
    capital = session.execute(
        select(ProjectCapital.source, func.sum(ProjectCapital.amount))
        .where(ProjectCapital.project_id == project_id)
        .group_by(ProjectCapital.source)
    ).all()
    paid = dict(
        session.execute(
            select(ProjectDisbursement.source, func.sum(ProjectDisbursement.amount))
            .where(ProjectDisbursement.project_id == project_id)
            .group_by(ProjectDisbursement.source)
        ).all()
    )
    by_source = {src: domain.SourceFigures(int(amount or 0), int(paid.pop(src, 0) or 0)) for src, amount in capital}
    by_source.update({src: domain.SourceFigures(0, int(amount or 0)) for src, amount in paid.items()})
    return domain.ProjectFigures(
        estimate=int(estimate or 0),
        settled_cost=int(settled) if settled is not None else None,
        by_source=by_source,
    )


# --------------------------------------------------------------------------- stations and their criteria


def count_stations(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Station)) or 0)


def _in_force_clause(at: date) -> Any:
    """In force on `at`. The base list's date (01/12/2019) is when the GSO list was taken, not when its
    communes began: they count as in force before it too."""
    return and_(
        or_(Station.valid_from <= at, Station.valid_from == units.BASE_DATE),
        or_(Station.valid_to.is_(None), Station.valid_to >= at),
    )


def latest_status(
    session: Session,
    station_ids: Iterable[int] | None = None,
    up_to_year: int | None = None,
    attributes: Iterable[str] | None = None,
) -> dict[int, dict[str, StationStatus]]:
    """The current value of each attribute of each station: the latest record by (year, id), optionally
    as of a year (records of later years ignored). One query with a window function."""
    rank = (
        func.row_number()
        .over(
            partition_by=(StationStatus.station_id, StationStatus.attribute),
            order_by=(StationStatus.year.desc(), StationStatus.id.desc()),
        )
        .label("rank")
    )
    inner = select(StationStatus.id, rank)
    if up_to_year is not None:
        inner = inner.where(StationStatus.year <= up_to_year)
    if attributes is not None:
        inner = inner.where(StationStatus.attribute.in_(list(attributes)))
    if station_ids is not None:
        inner = inner.where(StationStatus.station_id.in_(list(station_ids)))
    sub = inner.subquery()
    rows = session.scalars(select(StationStatus).join(sub, sub.c.id == StationStatus.id).where(sub.c.rank == 1))
    out: dict[int, dict[str, StationStatus]] = defaultdict(dict)
    for r in rows:
        out[r.station_id][r.attribute] = r
    return out


def attributes_dict(current: dict[str, StationStatus]) -> dict[str, Any]:
    """Flat answers people ask for (reached? in which year?) plus the detail of every attribute."""

    def value(attr: str) -> Any:
        r = current.get(attr)
        return domain.typed_value(attr, r.value) if r else None

    def year_reached(attr: str) -> int | None:
        r = current.get(attr)
        return r.year if r is not None and r.value == "true" else None

    return {
        "national_health_criteria": value("national_health_criteria"),
        "national_health_criteria_year": year_reached("national_health_criteria"),
        "nrd_standard": value("nrd_standard"),
        "nrd_standard_year": year_reached("nrd_standard"),
        "bhyt_eligible": value("bhyt_eligible"),
        "building_condition": value("building_condition"),
        "status": {
            attr: {"value": domain.typed_value(attr, r.value), "year": r.year, "decision_no": r.decision_no}
            for attr, r in sorted(current.items())
        },
    }


def list_stations(
    session: Session, unit: str | None = None, at: date | None = None, history: bool = False
) -> list[dict[str, Any]]:
    """Stations of the base register (145) by default; those in force on `at`; or the whole history.
    Each with its current attributes (criteria reached and when, BHYT eligibility, building)."""
    stmt = select(Station).order_by(Station.district, Station.code, Station.valid_from)
    if at is not None:
        stmt = stmt.where(_in_force_clause(at))
    elif not history:
        stmt = stmt.where(Station.valid_from == units.BASE_DATE)
    rows = [s for s in session.scalars(stmt) if unit is None or units.within(unit, s.code)]
    status = latest_status(session, up_to_year=at.year if at else None)
    return [{**station_dict(s), **attributes_dict(status.get(s.id, {}))} for s in rows]


@cache
def _predecessors() -> dict[str, set[str]]:
    """Commune code -> the codes whose figures end up under it after their merger (itself included)."""
    out: dict[str, set[str]] = defaultdict(set)
    for c in units.communes():
        out[units.successor_on(c.code, FAR_FUTURE)].add(c.code)
        out[c.code].add(c.code)
    return dict(out)


def get_station(session: Session, code: str, at: date | None, today: date) -> dict[str, Any]:
    versions = list(session.scalars(select(Station).where(Station.code == code).order_by(Station.valid_from)))
    if not versions:
        raise NotFound([error("unknown_station", f"Không có trạm y tế (mã xã) {code}.", "code")])
    on = at or today
    chosen = next((s for s in versions if domain.in_force(s.valid_from, s.valid_to, on)), None)
    chosen = chosen or (versions[-1] if on >= versions[-1].valid_from else versions[0])
    history = session.scalars(
        select(StationStatus)
        .where(StationStatus.station_id == chosen.id)
        .order_by(StationStatus.attribute, StationStatus.year, StationStatus.id)
    )
    current = latest_status(session, [chosen.id]).get(chosen.id, {})
    merged_in = sorted(_predecessors().get(code, {code}) - {code})
    project_codes = {code, *merged_in}
    return {
        **station_dict(chosen),
        **attributes_dict(current),
        "versions": [station_dict(s) for s in versions],
        "merged_in": merged_in,
        "current_successor": units.successor_on(code, today),
        "history": [status_dict(r) for r in history],
        "projects": list_projects(session, station_codes=project_codes, today=today),
        "funding": station_funding(session, code, None),
    }


# --------------------------------------------------------------------------- projects


def _latest_estimate_subquery() -> Any:
    last = select(ProjectEstimate.project_id, func.max(ProjectEstimate.id).label("id")).group_by(
        ProjectEstimate.project_id
    )
    last = last.subquery()
    return (
        select(ProjectEstimate.project_id, ProjectEstimate.amount)
        .join(last, last.c.id == ProjectEstimate.id)
        .subquery()
    )


def _sum_by_project(model: Any) -> Any:
    return select(model.project_id, func.sum(model.amount).label("amount")).group_by(model.project_id).subquery()


def visible_codes(unit: str | None, today: date) -> set[str] | None:
    """Station codes whose projects a unit sees: those inside it, and those merged into a commune inside
    it (a merged station's projects are now the successor's). None: no narrowing."""
    if unit is None or unit == units.PROVINCE_CODE:
        return None
    return {
        c.code
        for c in units.communes()
        if units.within(unit, c.code) or units.within(unit, units.successor_on(c.code, today))
    }


def list_projects(
    session: Session,
    unit: str | None = None,
    station_codes: Iterable[str] | None = None,
    status: str | None = None,
    plan_id: int | None = None,
    item_code: str | None = None,
    today: date | None = None,
) -> list[dict[str, Any]]:
    today = today or date.today()
    est = _latest_estimate_subquery()
    cap = _sum_by_project(ProjectCapital)
    paid = _sum_by_project(ProjectDisbursement)
    stmt = (
        select(
            Project,
            Station.name,
            est.c.amount,
            cap.c.amount,
            paid.c.amount,
            ProjectCompletion.settled_cost,
        )
        .join(Station, Station.id == Project.station_id)
        .outerjoin(est, est.c.project_id == Project.id)
        .outerjoin(cap, cap.c.project_id == Project.id)
        .outerjoin(paid, paid.c.project_id == Project.id)
        .outerjoin(ProjectCompletion, ProjectCompletion.project_id == Project.id)
        .order_by(Project.id)
    )
    codes = visible_codes(unit, today)
    if station_codes is not None:
        codes = set(station_codes) if codes is None else codes & set(station_codes)
    if codes is not None:
        stmt = stmt.where(Project.station_code.in_(sorted(codes)))
    if status:
        stmt = stmt.where(Project.status == status)
    if plan_id is not None:
        stmt = stmt.where(Project.plan_id == plan_id)
    if item_code:
        stmt = stmt.where(Project.item_code == item_code)
    out = []
    for p, station_name, estimate, capital, disbursed, settled in session.execute(stmt):
        figures = domain.ProjectFigures(
            estimate=int(estimate or 0),
            settled_cost=int(settled) if settled is not None else None,
            by_source={"*": domain.SourceFigures(int(capital or 0), int(disbursed or 0))},
        )
        out.append({**project_dict(p, station_name, today), **project_totals(figures)})
    return out


def project_dict(p: Project, station_name: str, today: date) -> dict[str, Any]:
    return {
        "id": p.id,
        "station_code": p.station_code,
        "station_name": station_name,
        "current_station_code": units.successor_on(p.station_code, today),
        "kind": p.kind,
        "title": p.title,
        "plan_id": p.plan_id,
        "item_code": p.item_code,
        "status": p.status,
        "start_year": p.start_year,
        "end_year": p.end_year,
        "decision_no": p.decision_no,
        "decision_date": _iso(p.decision_date),
        "created_by": p.created_by,
    }


def get_project_row(session: Session, project_id: int) -> Project:
    project = session.get(Project, project_id)
    if project is None:
        raise NotFound([error("unknown_project", f"Không có dự án số {project_id}.", "project_id")])
    return project


def project_scope(session: Session, project_id: int, today: date) -> dict[str, Any]:
    """Just enough for the gateway's unit check before a write."""
    p = get_project_row(session, project_id)
    return {
        "id": p.id,
        "station_code": p.station_code,
        "current_station_code": units.successor_on(p.station_code, today),
    }


def project_detail(session: Session, project_id: int, today: date | None = None) -> dict[str, Any]:
    today = today or date.today()
    p = get_project_row(session, project_id)
    station = session.get(Station, p.station_id)
    figures = project_figures(session, p.id)
    by_source = {
        src: {
            "capital": f.capital,
            "disbursed": f.disbursed,
            "available": f.capital - f.disbursed,
        }
        for src, f in sorted(figures.by_source.items())
    }
    by_year = defaultdict(lambda: {"capital": 0, "disbursed": 0})
    for year, amount in session.execute(
        select(ProjectCapital.fiscal_year, func.sum(ProjectCapital.amount))
        .where(ProjectCapital.project_id == p.id)
        .group_by(ProjectCapital.fiscal_year)
    ):
        by_year[str(year)]["capital"] = int(amount or 0)
    for year, amount in session.execute(
        select(ProjectDisbursement.year, func.sum(ProjectDisbursement.amount))
        .where(ProjectDisbursement.project_id == p.id)
        .group_by(ProjectDisbursement.year)
    ):
        by_year[str(year)]["disbursed"] = int(amount or 0)
    completion = session.scalar(select(ProjectCompletion).where(ProjectCompletion.project_id == p.id))
    return {
        **project_dict(p, station.name if station else "", today),
        **project_totals(figures),
        "station": station_dict(station) if station else None,
        "by_source": by_source,
        "by_year": dict(sorted(by_year.items())),
        "estimates": [
            estimate_dict(r)
            for r in session.scalars(
                select(ProjectEstimate).where(ProjectEstimate.project_id == p.id).order_by(ProjectEstimate.id)
            )
        ],
        "capital_records": [
            capital_dict(r)
            for r in session.scalars(
                select(ProjectCapital).where(ProjectCapital.project_id == p.id).order_by(ProjectCapital.id)
            )
        ],
        "disbursements": [
            disbursement_dict(r)
            for r in session.scalars(
                select(ProjectDisbursement)
                .where(ProjectDisbursement.project_id == p.id)
                .order_by(ProjectDisbursement.date, ProjectDisbursement.id)
            )
        ],
        "status_history": [
            {
                "from_status": r.from_status,
                "to_status": r.to_status,
                "effective_date": _iso(r.effective_date),
                "decision_no": r.decision_no,
                "note": r.note,
                "recorded_by": r.recorded_by,
            }
            for r in session.scalars(
                select(ProjectStatusChange)
                .where(ProjectStatusChange.project_id == p.id)
                .order_by(ProjectStatusChange.id)
            )
        ],
        "completion": (
            {
                "settled_cost": completion.settled_cost,
                "completed_on": _iso(completion.completed_on),
                "decision_no": completion.decision_no,
                "decision_date": _iso(completion.decision_date),
            }
            if completion
            else None
        ),
    }


# --------------------------------------------------------------------------- money roll-ups


def _money_groups(
    session: Session,
    plan_ids: Iterable[int] | None = None,
    item_codes: Iterable[str] | None = None,
    station_codes: Iterable[str] | None = None,
    year: int | None = None,
) -> list[tuple[str, int, str, str, str, int, int]]:
    """Capital and disbursements summed per (plan, item, station, source, year) in the database, each
    group already placed at the station it belongs to in that year (the successor after a merger).

    Rows: (kind, plan_id, item_code, resolved station code, source, year, amount); kind is 'allocated'
    (capital by fiscal year) or 'disbursed' (by the year of the payment)."""
    cap_conds: list[Any] = []
    dis_conds: list[Any] = []
    for conds in (cap_conds, dis_conds):
        if plan_ids is not None:
            conds.append(Project.plan_id.in_(list(plan_ids)))
        if item_codes is not None:
            conds.append(Project.item_code.in_(list(item_codes)))
        if station_codes is not None:
            conds.append(Project.station_code.in_(sorted(station_codes)))
    if year is not None:
        cap_conds.append(ProjectCapital.fiscal_year == year)
        dis_conds.append(ProjectDisbursement.year == year)

    capital = session.execute(
        select(
            Project.plan_id,
            Project.item_code,
            Project.station_code,
            ProjectCapital.source,
            ProjectCapital.fiscal_year,
            func.sum(ProjectCapital.amount),
        )
        .join(Project, Project.id == ProjectCapital.project_id)
        .where(*cap_conds)
        .group_by(
            Project.plan_id, Project.item_code, Project.station_code, ProjectCapital.source, ProjectCapital.fiscal_year
        )
    ).all()
    # A payment made after its station ceased belongs to the successor; one made before stays put.
    after_end = case(
        (and_(Station.valid_to.is_not(None), ProjectDisbursement.date > Station.valid_to), 1), else_=0
    ).label("after_end")
    paid = session.execute(
        select(
            Project.plan_id,
            Project.item_code,
            Project.station_code,
            ProjectDisbursement.source,
            ProjectDisbursement.year,
            after_end,
            func.sum(ProjectDisbursement.amount),
        )
        .join(Project, Project.id == ProjectDisbursement.project_id)
        .join(Station, Station.id == Project.station_id)
        .where(*dis_conds)
        .group_by(
            Project.plan_id,
            Project.item_code,
            Project.station_code,
            ProjectDisbursement.source,
            ProjectDisbursement.year,
            after_end,
        )
    ).all()
    out = [
        ("allocated", plan, item, domain.resolve_station(code, fy), src, fy, int(amount or 0))
        for plan, item, code, src, fy, amount in capital
    ]
    out += [
        ("disbursed", plan, item, domain.resolve_station(code, y, bool(after)), src, y, int(amount or 0))
        for plan, item, code, src, y, after, amount in paid
    ]
    return out


def _candidate_codes(unit: str | None) -> set[str] | None:
    """Station codes that can contribute to `unit` in some year: inside it, or merged into it."""
    if unit is None or unit == units.PROVINCE_CODE:
        return None
    return {
        c.code
        for c in units.communes()
        if units.within(unit, c.code) or units.within(unit, units.successor_on(c.code, FAR_FUTURE))
    }


def included_pairs(plan: catalog.Plan, code: str) -> set[tuple[int, str]]:
    """The (plan, item) pairs whose money an item counts: itself and its sub-items, and for a province
    plan the same item (and sub-items) of each district plan applying it. Each project is in one pair,
    so each đồng is counted once."""
    pairs = {(plan.id, c) for c in plan.descendants(code)}
    for child in catalog.district_plans_of(plan.id):
        if child.has_item(code):
            pairs |= {(child.id, c) for c in child.descendants(code)}
    return pairs


def _totals_by_pair(
    groups: Iterable[tuple[str, int, str, str, str, int, int]], unit: str | None
) -> dict[tuple[int, str], domain.FundingTotals]:
    out: dict[tuple[int, str], domain.FundingTotals] = defaultdict(domain.FundingTotals)
    for kind, plan_id, item, station, source, year, amount in groups:
        if unit is not None and not units.within(unit, station):
            continue
        out[(plan_id, item)].add(kind, source, year, amount)
    return out


def check_unit(unit: str | None) -> None:
    if unit is not None:
        units.require_unit(unit)


def plan_or_404(plan_id: int, item_code: str | None = None) -> catalog.Plan:
    return plan_or_refuse(plan_id, item_code, status=404)


def funding_status(
    session: Session, plan_id: int, item_code: str, year: int | None = None, unit: str | None = None
) -> dict[str, Any]:
    plan = plan_or_404(plan_id, item_code)
    check_unit(unit)
    pairs = included_pairs(plan, item_code)
    groups = _money_groups(session, {p for p, _ in pairs}, {c for _, c in pairs}, _candidate_codes(unit), year)
    totals = domain.FundingTotals()
    for pair, figures in _totals_by_pair(groups, unit).items():
        if pair in pairs:
            totals.merge(figures)
    return {"plan_id": plan.id, "code": item_code, "year": year, "unit": unit, **totals.as_dict()}


def funding_tree(session: Session, plan_id: int, year: int | None = None, unit: str | None = None) -> dict[str, Any]:
    plan = plan_or_404(plan_id)
    check_unit(unit)
    plan_ids = {plan.id, *(c.id for c in catalog.district_plans_of(plan.id))}
    by_pair = _totals_by_pair(_money_groups(session, plan_ids, None, _candidate_codes(unit), year), unit)
    items: dict[str, Any] = {}
    for code in plan.codes:
        totals = domain.FundingTotals()
        for pair in included_pairs(plan, code):
            if pair in by_pair:
                totals.merge(by_pair[pair])
        items[code] = {"code": code, "year": year, "unit": unit, **totals.as_dict()}
    return {"plan_id": plan.id, "year": year, "unit": unit, "items": items}


# Funding answers kept between writes: the stamp is the version every writing transaction bumps (models.WRITES),
# so a project's in-place status change refreshes them too; today's date is in the key (units are dated).
_KEPT = KeptAnswers(WRITES.stamp, size=512)


def funding_status_kept(
    session: Session, plan_id: int, item_code: str, year: int | None = None, unit: str | None = None
) -> dict[str, Any]:
    """`funding_status`, kept while nothing in investment's database changed (a refusal is not kept)."""
    key = ("item", date.today(), plan_id, item_code, year, unit)
    return _KEPT.get(session, key, lambda: funding_status(session, plan_id, item_code, year, unit))


def funding_tree_kept(session: Session, plan_id: int, year: int | None = None, unit: str | None = None) -> dict:
    """`funding_tree`, kept while nothing in investment's database changed."""
    key = ("tree", date.today(), plan_id, year, unit)
    return _KEPT.get(session, key, lambda: funding_tree(session, plan_id, year, unit))


def station_funding(session: Session, code: str, year: int | None = None) -> dict[str, Any]:
    """A station's money over every plan item, with what was merged into it after the merger date."""
    if not units.is_known_unit(code) or units.level_of(code) != "commune":
        raise NotFound([error("unknown_station", f"Không có trạm y tế (mã xã) {code}.", "code")])
    groups = [
        g for g in _money_groups(session, station_codes=_predecessors().get(code, {code}), year=year) if g[3] == code
    ]
    totals = domain.FundingTotals()
    by_item: dict[tuple[int, str], domain.FundingTotals] = defaultdict(domain.FundingTotals)
    for kind, plan_id, item, _station, source, y, amount in groups:
        totals.add(kind, source, y, amount)
        by_item[(plan_id, item)].add(kind, source, y, amount)
    return {
        "code": code,
        "year": year,
        **totals.as_dict(),
        "by_item": [
            {"plan_id": p, "item_code": i, "allocated": t.allocated, "disbursed": t.disbursed}
            for (p, i), t in sorted(by_item.items())
        ],
    }


def surplus_capital(session: Session) -> list[dict[str, Any]]:
    """Σ project capital of the 20% BHYT surplus by fund year and legal use (reductions included)."""
    rows = session.execute(
        select(ProjectCapital.fund_year, ProjectCapital.surplus_use, func.sum(ProjectCapital.amount))
        .where(ProjectCapital.source == "bhyt_surplus_20")
        .group_by(ProjectCapital.fund_year, ProjectCapital.surplus_use)
    ).all()
    return [{"fund_year": fy, "use": use, "capital": int(total or 0)} for fy, use, total in rows]


def medium_term(session: Session, unit: str | None = None, today: date | None = None) -> dict[str, Any]:
    """Kế hoạch đầu tư công trung hạn: capital and disbursements by source and year over 2016–2020 and
    2021–2025 (other years apart), and what remains to finance per project."""
    today = today or date.today()
    check_unit(unit)
    groups = _money_groups(session, station_codes=_candidate_codes(unit))
    periods: dict[str, dict[str, Any]] = {}
    names = [f"{a}-{b}" for a, b in domain.MEDIUM_TERM_PERIODS] + ["other"]
    for name in names:
        periods[name] = {"period": name, "capital": 0, "disbursed": 0, "by_source": {}, "by_year": {}}
    for kind, _plan, _item, station, source, year, amount in groups:
        if unit is not None and not units.within(unit, station):
            continue
        key = "capital" if kind == "allocated" else "disbursed"
        p = periods[domain.period_name(year)]
        p[key] += amount
        src = p["by_source"].setdefault(source, {"capital": 0, "disbursed": 0, "by_year": {}})
        src[key] += amount
        src["by_year"].setdefault(str(year), {"capital": 0, "disbursed": 0})[key] += amount
        p["by_year"].setdefault(str(year), {"capital": 0, "disbursed": 0})[key] += amount
    for p in periods.values():
        p["by_source"] = dict(sorted(p["by_source"].items()))
        p["by_year"] = dict(sorted(p["by_year"].items()))
        for s in p["by_source"].values():
            s["by_year"] = dict(sorted(s["by_year"].items()))
    projects = list_projects(session, unit=unit, today=today)
    by_period = defaultdict(dict)
    ids = [p["id"] for p in projects]
    if ids:
        for pid, fy, amount in session.execute(
            select(ProjectCapital.project_id, ProjectCapital.fiscal_year, func.sum(ProjectCapital.amount))
            .where(ProjectCapital.project_id.in_(ids))
            .group_by(ProjectCapital.project_id, ProjectCapital.fiscal_year)
        ):
            slot = by_period[pid]
            name = domain.period_name(fy)
            slot[name] = slot.get(name, 0) + int(amount or 0)
    rows = [
        {
            "id": p["id"],
            "station_code": p["station_code"],
            "current_station_code": p["current_station_code"],
            "station_name": p["station_name"],
            "title": p["title"],
            "kind": p["kind"],
            "status": p["status"],
            "plan_id": p["plan_id"],
            "item_code": p["item_code"],
            "estimated_cost": p["estimated_cost"],
            "settled_cost": p["settled_cost"],
            "capital": p["capital"],
            "capital_by_period": {n: by_period[p["id"]].get(n, 0) for n in names},
            "disbursed": p["disbursed"],
            "remaining_to_finance": p["remaining_to_finance"],
        }
        for p in projects
    ]
    return {
        "unit": unit or units.PROVINCE_CODE,
        "periods": [periods[n] for n in names],
        "projects": rows,
        "totals": {
            "estimated_cost": sum(
                r["settled_cost"] if r["settled_cost"] is not None else r["estimated_cost"] for r in rows
            ),
            "capital": sum(r["capital"] for r in rows),
            "disbursed": sum(r["disbursed"] for r in rows),
            "remaining_to_finance": sum(r["remaining_to_finance"] for r in rows),
        },
    }


# --------------------------------------------------------------------------- target indicators


def _stations_on(session: Session, on: date, scope: Iterable[str | None]) -> list[Station]:
    """Stations in force on a date inside every given unit scope (None scopes ignored)."""
    rows = session.scalars(select(Station).where(_in_force_clause(on)).order_by(Station.code))
    return [s for s in rows if all(u is None or units.within(u, s.code) for u in scope)]


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


def targets(
    session: Session, plan_id: int, year: int | None = None, unit: str | None = None, today: date | None = None
) -> dict[str, Any]:
    """Every target of the plan measured for `year` from the indicator facts and the register
    (services/investment/measures.py)."""
    from services.investment import measures  # measures reads through this module

    return measures.targets(session, plan_id, year, unit, today)


# --------------------------------------------------------------------------- priority ranking


def priorities(
    session: Session,
    year: int,
    unit: str | None = None,
    today: date | None = None,
    rules: domain.PriorityRules | None = None,
) -> dict[str, Any]:
    """Stations ranked for `year`'s investment list by the visible rule of priority_rules.yaml."""
    today = today or date.today()
    check_unit(unit)
    rules = rules or domain.load_priority_rules()
    on = date(year, 1, 1) if year > today.year else domain.as_of_date(year, today)
    stations = _stations_on(session, on, (unit,))
    status = latest_status(session, [s.id for s in stations], up_to_year=year)
    # Last completion year and projects in progress per station code, summed in the database.
    completed = session.execute(
        select(Project.station_code, func.max(ProjectStatusChange.effective_date))
        .join(ProjectStatusChange, ProjectStatusChange.project_id == Project.id)
        .where(ProjectStatusChange.to_status == "completed", ProjectStatusChange.effective_date <= on)
        .group_by(Project.station_code)
    ).all()
    last_done: dict[str, int] = {}
    for code, when in completed:
        target = units.successor_on(code, on)
        when_year = when.year if isinstance(when, date) else date.fromisoformat(str(when)).year
        last_done[target] = max(last_done.get(target, 0), when_year)
    ongoing: dict[str, int] = defaultdict(int)
    for code, n in session.execute(
        select(Project.station_code, func.count())
        .where(Project.status.in_(("approved", "under_construction")))
        .group_by(Project.station_code)
    ):
        ongoing[units.successor_on(code, on)] += int(n)
    items = []
    for s in stations:
        current = status.get(s.id, {})

        def value(attr: str, current: dict[str, StationStatus] = current) -> Any:
            r = current.get(attr)
            return domain.typed_value(attr, r.value) if r else None

        facts = domain.StationFacts(
            code=s.code,
            commune_kind=s.commune_kind,
            national_health_criteria=value("national_health_criteria"),
            nrd_standard=value("nrd_standard"),
            nrd_target_year=value("nrd_target_year"),
            building_condition=value("building_condition"),
            last_completed_year=last_done.get(s.code),
            projects_in_progress=ongoing.get(s.code, 0),
        )
        score, parts = domain.priority_score(facts, rules, year)
        items.append(
            {
                "code": s.code,
                "name": s.name,
                "district": s.district,
                "district_name": s.district_name,
                "commune_kind": s.commune_kind,
                "score": score,
                "parts": [p.as_dict() for p in parts],
                "facts": {
                    "national_health_criteria": facts.national_health_criteria,
                    "nrd_standard": facts.nrd_standard,
                    "nrd_target_year": facts.nrd_target_year,
                    "building_condition": facts.building_condition,
                    "last_completed_year": facts.last_completed_year,
                    "projects_in_progress": facts.projects_in_progress,
                },
            }
        )
    items.sort(key=lambda i: (-i["score"], i["code"]))
    for rank, item in enumerate(items, 1):
        item["rank"] = rank
    return {
        "year": year,
        "unit": unit or units.PROVINCE_CODE,
        "as_of": on.isoformat(),
        "rule": domain.priority_rules_document(),
        "items": items,
    }
