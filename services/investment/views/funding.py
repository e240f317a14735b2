"""The money roll-ups the gateway shows next to finance's: funding status per plan item and its tree, a station's
money, the 20% surplus capital and the medium-term plan.

Money is summed in the database (SUM … GROUP BY station, source, year); Python only maps the grouped rows of a merged
station to its successor for the years after the merger and adds them into items.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from services.common import catalog, clock, surplus, units
from services.common.kept import KeptAnswers
from services.investment import domain
from services.investment.models import WRITES, Project, ProjectCapital, ProjectDisbursement, Station
from services.investment.records import plan_or_refuse
from services.investment.views.projects import list_projects
from services.investment.views.rows import check_unit, codes_reaching, merged_into

# What a project's money is grouped by before the source and the year.
_PROJECT_KEYS = (Project.plan_id, Project.item_code, Project.station_code)


def _project_filters(
    plan_ids: Iterable[int] | None, item_codes: Iterable[str] | None, station_codes: Iterable[str] | None
) -> list[Any]:
    """The projects a funding question is about: its plans, items and stations (None: any)."""
    conds: list[Any] = []
    if plan_ids is not None:
        conds.append(Project.plan_id.in_(list(plan_ids)))
    if item_codes is not None:
        conds.append(Project.item_code.in_(list(item_codes)))
    if station_codes is not None:
        conds.append(Project.station_code.in_(sorted(station_codes)))
    return conds


def money_groups(
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
    cap_conds = _project_filters(plan_ids, item_codes, station_codes)
    dis_conds = list(cap_conds)
    if year is not None:
        cap_conds.append(ProjectCapital.fiscal_year == year)
        dis_conds.append(ProjectDisbursement.year == year)

    # Each group: (plan, item, station, source, year[, after_end], amount).
    capital_keys = (*_PROJECT_KEYS, ProjectCapital.source, ProjectCapital.fiscal_year)
    capital = session.execute(
        select(*capital_keys, func.sum(ProjectCapital.amount))
        .join(Project, Project.id == ProjectCapital.project_id)
        .where(*cap_conds)
        .group_by(*capital_keys)
    ).all()
    # A payment made after its station ceased belongs to the successor; one made before stays put.
    after_end = case(
        (and_(Station.valid_to.is_not(None), ProjectDisbursement.date > Station.valid_to), 1), else_=0
    ).label("after_end")
    paid_keys = (*_PROJECT_KEYS, ProjectDisbursement.source, ProjectDisbursement.year, after_end)
    paid = session.execute(
        select(*paid_keys, func.sum(ProjectDisbursement.amount))
        .join(Project, Project.id == ProjectDisbursement.project_id)
        .join(Station, Station.id == Project.station_id)
        .where(*dis_conds)
        .group_by(*paid_keys)
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


def linked_groups(
    session: Session,
    plan_ids: Iterable[int] | None = None,
    item_codes: Iterable[str] | None = None,
    station_codes: Iterable[str] | None = None,
    year: int | None = None,
) -> list[tuple[int, str, str, int, str, int, int]]:
    """Capital funded by a finance allocation, summed per (plan, item, station, allocation, source, fiscal year)
    in the database, placed at the station it belongs to in that year as `money_groups` places capital.

    Rows: (plan_id, item_code, resolved station code, allocation id, source, fiscal year, amount)."""
    conds = [ProjectCapital.funded_by_allocation.is_not(None), *_project_filters(plan_ids, item_codes, station_codes)]
    if year is not None:
        conds.append(ProjectCapital.fiscal_year == year)
    keys = (*_PROJECT_KEYS, ProjectCapital.funded_by_allocation, ProjectCapital.source, ProjectCapital.fiscal_year)
    rows = session.execute(
        select(*keys, func.sum(ProjectCapital.amount))
        .join(Project, Project.id == ProjectCapital.project_id)
        .where(*conds)
        .group_by(*keys)
    ).all()
    return [
        (plan, item, domain.resolve_station(code, fy), int(allocation), src, fy, int(amount or 0))
        for plan, item, code, allocation, src, fy, amount in rows
    ]


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
    groups: Iterable[tuple[str, int, str, str, str, int, int]],
    links: Iterable[tuple[int, str, str, int, str, int, int]],
    unit: str | None,
) -> dict[tuple[int, str], domain.FundingTotals]:
    out: dict[tuple[int, str], domain.FundingTotals] = defaultdict(domain.FundingTotals)
    for kind, plan_id, item, station, source, year, amount in groups:
        if unit is not None and not units.within(unit, station):
            continue
        out[(plan_id, item)].add(kind, source, year, amount)
    for plan_id, item, station, allocation, source, year, amount in links:
        if unit is not None and not units.within(unit, station):
            continue
        out[(plan_id, item)].link(allocation, source, year, amount)
    return out


def funding_status(
    session: Session, plan_id: int, item_code: str, year: int | None = None, unit: str | None = None
) -> dict[str, Any]:
    plan = plan_or_refuse(plan_id, item_code)
    check_unit(unit)
    pairs = included_pairs(plan, item_code)
    scope = ({p for p, _ in pairs}, {c for _, c in pairs}, codes_reaching(unit), year)
    totals = domain.FundingTotals()
    for pair, figures in _totals_by_pair(money_groups(session, *scope), linked_groups(session, *scope), unit).items():
        if pair in pairs:
            totals.merge(figures)
    shape = {**totals.as_dict(), **totals.linked_dict()}
    return {"plan_id": plan.id, "code": item_code, "year": year, "unit": unit, **shape}


def funding_tree(session: Session, plan_id: int, year: int | None = None, unit: str | None = None) -> dict[str, Any]:
    plan = plan_or_refuse(plan_id)
    check_unit(unit)
    plan_ids = {plan.id, *(c.id for c in catalog.district_plans_of(plan.id))}
    scope = (plan_ids, None, codes_reaching(unit), year)
    by_pair = _totals_by_pair(money_groups(session, *scope), linked_groups(session, *scope), unit)
    items: dict[str, Any] = {}
    for code in plan.codes:
        totals = domain.FundingTotals()
        for pair in included_pairs(plan, code):
            if pair in by_pair:
                totals.merge(by_pair[pair])
        items[code] = {"code": code, "year": year, "unit": unit, **totals.as_dict(), **totals.linked_dict()}
    return {"plan_id": plan.id, "year": year, "unit": unit, "items": items}


# Funding answers kept between writes: the stamp is the version every writing transaction bumps (models.WRITES),
# so a project's in-place status change refreshes them too; today's date is in the key (units are dated).
_KEPT = KeptAnswers(WRITES.stamp, size=512)


def funding_status_kept(
    session: Session, plan_id: int, item_code: str, year: int | None = None, unit: str | None = None
) -> dict[str, Any]:
    """`funding_status`, kept while nothing in investment's database changed (a refusal is not kept)."""
    key = ("item", clock.today(), plan_id, item_code, year, unit)
    return _KEPT.get(session, key, lambda: funding_status(session, plan_id, item_code, year, unit))


def funding_tree_kept(session: Session, plan_id: int, year: int | None = None, unit: str | None = None) -> dict:
    """`funding_tree`, kept while nothing in investment's database changed."""
    key = ("tree", clock.today(), plan_id, year, unit)
    return _KEPT.get(session, key, lambda: funding_tree(session, plan_id, year, unit))


def station_funding(session: Session, code: str, year: int | None = None) -> dict[str, Any]:
    """A station's money over every plan item, with what was merged into it after the merger date."""
    if not units.is_known_unit(code) or units.level_of(code) != "commune":
        raise domain.not_found_station(code)
    groups = [
        g for g in money_groups(session, station_codes=merged_into().get(code, {code}), year=year) if g[3] == code
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
        .where(ProjectCapital.source == surplus.SOURCE)
        .group_by(ProjectCapital.fund_year, ProjectCapital.surplus_use)
    ).all()
    return [{"fund_year": fy, "use": use, "capital": int(total or 0)} for fy, use, total in rows]


def medium_term(session: Session, unit: str | None = None, today: date | None = None) -> dict[str, Any]:
    """Kế hoạch đầu tư công trung hạn: capital and disbursements by source and year over 2016–2020 and
    2021–2025 (other years apart), and what remains to finance per project."""
    today = today or clock.today()
    check_unit(unit)
    groups = money_groups(session, station_codes=codes_reaching(unit))
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
