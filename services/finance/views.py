"""Read side of finance: functions (session, ...) -> the dicts the gateway answers with.

Plans and their items, the funding roll-ups (kept while the money is unchanged), allocation listings, a
facility-quarter's capitation and its dated steps, the 20% surplus by legal use. Nothing here writes, and
nothing here imports the write side (handlers, repository, unit of work): what both sides read is in
records.py.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, func, select, text
from sqlalchemy.orm import Session

from services.common import catalog, clock, surplus, units
from services.common.errors import DomainError, NotFound, error
from services.common.kept import KeptAnswers
from services.common.money import execution_rate
from services.common.periods import Quarter, quarter_or_refuse
from services.finance import domain, records
from services.finance.models import (
    Adjustment,
    Allocation,
    CapitationAdvance,
    CapitationFundRecord,
    CapitationPayment,
    CapitationReport,
    CapitationResult,
    CapitationSettlement,
    CapitationSpendReport,
    Disbursement,
    Plan,
    PlanItem,
    YearEndRecord,
)
from services.finance.reference import reference


def plan_dict(p: Plan) -> dict[str, Any]:
    return {
        "id": p.id,
        "number": p.number,
        "date": p.date.isoformat(),
        "title": p.title,
        "issuer": p.issuer,
        "level": p.level,
        "unit": p.unit,
        "parent_id": p.parent_id,
        "period": {"from": p.period_from, "to": p.period_to},
    }


def list_plans(session: Session) -> list[dict[str, Any]]:
    return [plan_dict(p) for p in session.scalars(select(Plan).order_by(Plan.id))]


def get_plan(session: Session, plan_id: int) -> Plan:
    plan = session.get(Plan, plan_id)
    if plan is None:
        raise NotFound(
            [{"field": "plan_id", "code": "unknown_plan", "message": f"Không có kế hoạch số hiệu {plan_id}."}]
        )
    return plan


def plan_items(session: Session, plan_id: int) -> list[dict[str, Any]]:
    get_plan(session, plan_id)
    rows = session.scalars(select(PlanItem).where(PlanItem.plan_id == plan_id).order_by(PlanItem.position))
    return [
        {
            "code": i.code,
            "title": i.title,
            "parent_code": i.parent_code,
            "kind": i.kind,
            "text": i.text,
            "lead_agency": i.lead_agency,
            "co_agencies": i.co_agencies,
            "targets": i.targets,
        }
        for i in rows
    ]


# --------------------------------------------------------------------------- funding roll-ups
#
# Each đồng counted once (docs/finance.md, "Roll-up"). A scope is a set of allocations closed downwards
# (if an allocation is in it, so are its sub-allocations: they keep source and year, go to a plan applying
# the parent's plan, to the same item or a sub-item, to a unit below). The money of a scope is then
#   allocated = Σ (amount + adjustments) over the allocations of the scope whose parent is NOT in it
#               (money entering the scope; a sub-allocation inside is the same money again);
#   disbursed = Σ disbursements (reversals netted) over every allocation of the scope.
# `by_unit` says where that money sits now: each allocation keeps what it did not pass down (`kept`), and
# Σ kept over a downward-closed scope is again its allocated money, so the units' shares add up to the total.

# The adjustments (`adj`) and disbursements (`disb`, reversals netted) of each allocation of the CTE `{scope}`,
# summed per allocation: the money of a roll-up's allocations, one query text for both roll-ups below.
_SUMS = """adj AS (
    SELECT j.allocation_id, SUM(j.amount) AS amount
    FROM adjustments j JOIN {scope} s ON s.id = j.allocation_id
    GROUP BY j.allocation_id
),
disb AS (
    SELECT d.allocation_id, SUM(d.amount) AS amount
    FROM disbursements d JOIN {scope} s ON s.id = d.allocation_id
    GROUP BY d.allocation_id
)"""


# Item X's scope: allocations booked to X or a sub-item of X, in the plan or a plan applying it. An
# allocation whose parent is in X's scope too is the parent's money: it adds nothing to "allocated".
_ROLLUP = """
WITH
scoped AS (
    SELECT a.id, a.parent_id, a.item_code, a.source, a.fiscal_year, a.recipient_unit, a.amount
    FROM allocations a
    WHERE a.plan_id IN :plans {filters}
),
{sums},
passed AS (
    SELECT c.parent_id AS id, SUM(c.amount + COALESCE(adj.amount, 0)) AS amount
    FROM scoped c LEFT JOIN adj ON adj.allocation_id = c.id
    WHERE c.parent_id IS NOT NULL
    GROUP BY c.parent_id
),
grouped AS (
    -- parent_item is NULL when the parent is not in `scoped` (a root, or money from another plan/unit/year)
    SELECT s.item_code, p.item_code AS parent_item, s.source, s.fiscal_year,
           {bucket} AS bucket,
           SUM(s.amount + COALESCE(adj.amount, 0)) AS allocated,
           SUM(s.amount + COALESCE(adj.amount, 0) - COALESCE(passed.amount, 0)) AS kept,
           SUM(COALESCE(disb.amount, 0)) AS disbursed
    FROM scoped s
    LEFT JOIN scoped p ON p.id = s.parent_id
    LEFT JOIN adj ON adj.allocation_id = s.id
    LEFT JOIN disb ON disb.allocation_id = s.id
    LEFT JOIN passed ON passed.id = s.id
    GROUP BY s.item_code, p.item_code, s.source, s.fiscal_year, {bucket}
)
SELECT i.code, g.source, g.fiscal_year, g.bucket,
       SUM(CASE WHEN g.parent_item IS NOT NULL
                 AND (g.parent_item = i.code OR g.parent_item LIKE i.code || '.%')
                THEN 0 ELSE g.allocated END) AS allocated,
       SUM(g.kept) AS kept,
       SUM(g.disbursed) AS disbursed
FROM plan_items i
JOIN grouped g ON (g.item_code = i.code OR g.item_code LIKE i.code || '.%')
WHERE i.plan_id = :plan_id {item_filter}
GROUP BY i.code, g.source, g.fiscal_year, g.bucket
"""


def _figures(allocated: int, disbursed: int) -> dict[str, int]:
    return {"allocated": allocated, "disbursed": disbursed}


def _add(into: dict[str, dict[str, int]], key: str, allocated: int, disbursed: int) -> None:
    slot = into.setdefault(key, _figures(0, 0))
    slot["allocated"] += allocated
    slot["disbursed"] += disbursed


def _funding_shape(code: str | None, year: int | None, unit: str | None, rows: list[Any]) -> dict:
    """rows: (source, fiscal_year, bucket, allocated, kept, disbursed), already summed by the database."""
    by_source: dict[str, dict[str, int]] = {}
    by_year: dict[str, dict[str, int]] = {}
    by_unit: dict[str, dict[str, int]] = {}
    allocated = disbursed = 0
    for source, fiscal_year, bucket, a, kept, d in rows:
        a, kept, d = int(a), int(kept), int(d)
        allocated, disbursed = allocated + a, disbursed + d
        _add(by_source, source, a, d)
        _add(by_year, str(fiscal_year), a, d)
        _add(by_unit, bucket, kept, d)
    return {
        "code": code,
        "year": year,
        "unit": unit,
        "allocated": allocated,
        "disbursed": disbursed,
        "execution_rate": execution_rate(allocated, disbursed),
        "by_source": dict(sorted(by_source.items())),
        "by_year": dict(sorted(by_year.items())),
        "by_unit": dict(sorted(by_unit.items())),
    }


def unit_buckets(scope: str) -> dict[str, str]:
    """Each unit within `scope` -> the unit one level below `scope` that holds it (`scope` itself for itself):
    for the province, its districts; for a district, its communes."""
    out = {}
    for code in units.units_within(scope):
        node = code
        while node != scope and units.parent_of(node) not in (scope, None):
            node = units.parent_of(node)  # type: ignore[assignment]
        out[code] = node
    return out


def _bucket_sql(mapping: dict[str, str], params: dict[str, Any]) -> str:
    """The recipient's bucket as a CASE over IN-lists (both databases index constant IN-lists); a unit that
    is its own bucket (a commune under a district, the scope itself) falls to ELSE."""
    members: dict[str, list[str]] = {}
    for code, bucket in mapping.items():
        if code != bucket:
            members.setdefault(bucket, []).append(code)
    branches = []
    for i, (bucket, codes) in enumerate(sorted(members.items())):
        names = []
        for j, code in enumerate(sorted(codes)):
            params[f"b{i}_{j}"] = code
            names.append(f":b{i}_{j}")
        params[f"b{i}"] = bucket
        branches.append(f"WHEN s.recipient_unit IN ({', '.join(names)}) THEN :b{i}")
    return f"CASE {' '.join(branches)} ELSE s.recipient_unit END" if branches else "s.recipient_unit"


def _scope_params(session: Session, plan: Plan, year: int | None, unit: str | None) -> tuple[str, dict[str, Any], list]:
    filters, params = "", {"plans": [plan.id, *records.plans_below(session, plan.id)], "plan_id": plan.id}
    if year is not None:
        filters += " AND a.fiscal_year = :year"
        params["year"] = year
    if unit is not None and unit != units.PROVINCE_CODE:
        filters += " AND a.recipient_unit IN :units"
        # A unit's roll-up holds what merged into it (docs/domain.md §7), each merged commune its own row of by_unit.
        params["units"] = sorted(units.reaching(unit, clock.today()))
    binds = [bindparam("plans", expanding=True)]
    if "units" in params:
        binds.append(bindparam("units", expanding=True))
    scope = unit or plan.unit
    params["_bucket"] = _bucket_sql(unit_buckets(scope) if units.is_known_unit(scope) else {}, params)
    return filters, params, binds


def _no_jit(session: Session) -> None:
    """PostgreSQL's planner overestimates these grouped CTE joins by orders of magnitude and then spends
    ~1 s JIT-compiling a query that runs in milliseconds: no JIT for this transaction's roll-ups."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL jit = off"))


def _check_unit(unit: str | None) -> None:
    if unit is not None:
        units.require_unit(unit)


def _rollup_rows(session: Session, plan: Plan, year: int | None, unit: str | None, code: str | None) -> list:
    filters, params, binds = _scope_params(session, plan, year, unit)
    item_filter = ""
    if code is not None:
        filters += " AND (a.item_code = :code OR a.item_code LIKE :prefix)"
        params |= {"code": code, "prefix": code + ".%"}
        item_filter = "AND i.code = :code"
    bucket = params.pop("_bucket")
    sums = _SUMS.format(scope="scoped")
    sql = text(_ROLLUP.format(filters=filters, item_filter=item_filter, bucket=bucket, sums=sums)).bindparams(*binds)
    _no_jit(session)
    return list(session.execute(sql, params))


def funding_status(
    session: Session, plan_id: int, item_code: str, year: int | None = None, unit: str | None = None
) -> dict[str, Any]:
    """Allocated and disbursed of one item (its sub-items and the same item of lower plans included)."""
    plan = get_plan(session, plan_id)
    _check_unit(unit)
    if session.scalar(select(PlanItem.id).where(PlanItem.plan_id == plan_id, PlanItem.code == item_code)) is None:
        raise NotFound([error("unknown_item", f"Kế hoạch {plan_id} không có mục {item_code}.", "code")])
    rows = _rollup_rows(session, plan, year, unit, item_code)
    shaped = [(r.source, r.fiscal_year, r.bucket, r.allocated, r.kept, r.disbursed) for r in rows]
    ends = [(r.fiscal_year, r.kind, r.amount) for r in _year_end_rows(session, plan, year, unit, item_code)]
    return {"plan_id": plan_id} | _funding_shape(item_code, year, unit, shaped) | year_end_figures(ends, year)


def funding_tree(session: Session, plan_id: int, year: int | None = None, unit: str | None = None) -> dict[str, Any]:
    """Every item of the plan, each rolled up as in funding_status, in one query."""
    plan = get_plan(session, plan_id)
    _check_unit(unit)
    per_item: dict[str, list[Any]] = {}
    for r in _rollup_rows(session, plan, year, unit, None):
        per_item.setdefault(r.code, []).append((r.source, r.fiscal_year, r.bucket, r.allocated, r.kept, r.disbursed))
    ends: dict[str, list[Any]] = {}
    for r in _year_end_rows(session, plan, year, unit, None):
        ends.setdefault(r.code, []).append((r.fiscal_year, r.kind, r.amount))
    codes = session.scalars(select(PlanItem.code).where(PlanItem.plan_id == plan_id).order_by(PlanItem.position))
    return {
        "plan_id": plan_id,
        "year": year,
        "unit": unit,
        "items": {
            c: _funding_shape(c, year, unit, per_item.get(c, [])) | year_end_figures(ends.get(c, []), year)
            for c in codes
        },
    }


# The budget year end of a roll-up's allocations: Σ carry-overs and closes per item and fiscal year. Each
# record is of the allocation's own money (never what its sub-allocations hold), so summing them over a scope
# counts each đồng once. Money carried over from year Y enters year Y + 1 apart from `allocated`.
_YEAR_END = """
SELECT i.code, a.fiscal_year, y.kind, SUM(y.amount) AS amount
FROM year_end_records y
JOIN allocations a ON a.id = y.allocation_id
JOIN plan_items i ON (a.item_code = i.code OR a.item_code LIKE i.code || '.%')
WHERE i.plan_id = :plan_id AND a.plan_id IN :plans {filters}
GROUP BY i.code, a.fiscal_year, y.kind
"""


def _year_end_rows(session: Session, plan: Plan, year: int | None, unit: str | None, code: str | None) -> list:
    """(code, fiscal_year, kind, amount) of the scope's year-end records; with `year`, of that year and the
    one before (whose carry-overs come into it)."""
    filters, params = "", {"plans": [plan.id, *records.plans_below(session, plan.id)], "plan_id": plan.id}
    binds = [bindparam("plans", expanding=True)]
    if year is not None:
        filters += " AND a.fiscal_year IN :years"
        params["years"] = [year - 1, year]
        binds.append(bindparam("years", expanding=True))
    if unit is not None and unit != units.PROVINCE_CODE:
        filters += " AND a.recipient_unit IN :units"
        params["units"] = sorted(units.reaching(unit, clock.today()))  # as the roll-up (_scope_params)
        binds.append(bindparam("units", expanding=True))
    if code is not None:
        filters += " AND i.code = :code"
        params["code"] = code
    return list(session.execute(text(_YEAR_END.format(filters=filters)).bindparams(*binds), params))


def year_end_figures(rows: list[Any], year: int | None) -> dict[str, Any]:
    """rows: (fiscal_year, kind, amount). The money of the budget year end, apart from `allocated`:
    `carried_over_in` (brought into the year from the one before), `carried_over_out` (carried to the next),
    `closed` (lapsed at quyết toán), in total and per year in `year_end_by_year` (years with any)."""
    per_year: dict[int, dict[str, int]] = {}

    def slot(y: int) -> dict[str, int]:
        return per_year.setdefault(y, {"carried_over_in": 0, "carried_over_out": 0, "closed": 0})

    for fiscal_year, kind, amount in rows:
        fiscal_year, amount = int(fiscal_year), int(amount)
        if kind == domain.CARRY_OVER:
            slot(fiscal_year)["carried_over_out"] += amount
            slot(fiscal_year + 1)["carried_over_in"] += amount
        else:
            slot(fiscal_year)["closed"] += amount
    if year is not None:
        per_year = {y: f for y, f in per_year.items() if y == year}
    total = {k: sum(f[k] for f in per_year.values()) for k in ("carried_over_in", "carried_over_out", "closed")}
    return total | {"year_end_by_year": {str(y): f for y, f in sorted(per_year.items())}}


# --------------------------------------------------------------------------- answers kept while the data holds
#
# The gateway asks an item's funding, or the whole tree, on every page and report; the money behind it changes
# a few times a day. The roll-up SQL is most of finance's work per request (docs/benchmarks.md section 2), so
# its answers are kept while `data_version` is unchanged (services/common/kept.py).


def data_version(session: Session) -> tuple[int, ...]:
    """A stamp that moves with every committed write that can change a roll-up.

    Allocations, adjustments, disbursements and year-end records are append-only (the ORM guard and triggers refuse
    UPDATE and DELETE), so their row counts grow with every such commit whatever order concurrent transactions
    commit their ids in; plans and items are reference data, counted for a catalog that grows."""
    counts = [select(func.count()).select_from(m).scalar_subquery()
              for m in (Plan, PlanItem, Allocation, Adjustment, Disbursement, YearEndRecord)]
    return tuple(int(v) for v in session.execute(select(*counts)).one())


_KEPT = KeptAnswers(data_version, size=512)


def funding_status_kept(
    session: Session, plan_id: int, item_code: str, year: int | None = None, unit: str | None = None
) -> dict[str, Any]:
    """`funding_status`, kept while the money is unchanged (a refusal such as an unknown item is not kept)."""
    return _KEPT.get(session, ("item", plan_id, item_code, year, unit, clock.today()),
                     lambda: funding_status(session, plan_id, item_code, year, unit))


def funding_tree_kept(session: Session, plan_id: int, year: int | None = None, unit: str | None = None) -> dict:
    """`funding_tree`, kept while the money is unchanged."""
    question = ("tree", plan_id, year, unit, clock.today())  # the day: what merged into a unit follows it
    return _KEPT.get(session, question, lambda: funding_tree(session, plan_id, year, unit))


# A unit's money: allocations whose recipient lies within the unit. The money entering it is counted at
# the top-most allocation inside it (`entry`); what its sub-allocations and their payments do is
# attributed to that entry, so every row of `by_item` has disbursed ≤ allocated and rows add up.
_BY_UNIT = """
WITH RECURSIVE inside AS (
    SELECT a.id, a.parent_id, a.plan_id, a.item_code, a.source, a.fiscal_year, a.amount
    FROM allocations a
    WHERE a.recipient_unit IN :units {filters}
),
entry (id, entry_id) AS (
    SELECT i.id, i.id FROM inside i LEFT JOIN inside p ON p.id = i.parent_id WHERE p.id IS NULL
    UNION ALL
    SELECT c.id, e.entry_id FROM inside c JOIN entry e ON c.parent_id = e.id
),
{sums}
SELECT ea.plan_id, ea.item_code, ea.source, ea.fiscal_year,
       SUM(CASE WHEN e.id = e.entry_id THEN i.amount + COALESCE(adj.amount, 0) ELSE 0 END) AS allocated,
       SUM(COALESCE(disb.amount, 0)) AS disbursed,
       COUNT(*) AS allocations
FROM entry e
JOIN inside i ON i.id = e.id
JOIN inside ea ON ea.id = e.entry_id
LEFT JOIN adj ON adj.allocation_id = i.id
LEFT JOIN disb ON disb.allocation_id = i.id
GROUP BY ea.plan_id, ea.item_code, ea.source, ea.fiscal_year
ORDER BY ea.plan_id, ea.item_code, ea.source, ea.fiscal_year
"""


def _unit_year_end_rows(session: Session, unit: str, year: int | None) -> list[Any]:
    """(fiscal_year, kind, amount) of the year-end records of allocations whose recipient lies within `unit`."""
    stmt = (
        select(Allocation.fiscal_year, YearEndRecord.kind, func.sum(YearEndRecord.amount))
        .join(Allocation, Allocation.id == YearEndRecord.allocation_id)
        .where(Allocation.recipient_unit.in_(sorted(units.units_within(unit))))
        .group_by(Allocation.fiscal_year, YearEndRecord.kind)
    )
    if year is not None:
        stmt = stmt.where(Allocation.fiscal_year.in_([year - 1, year]))
    return [tuple(r) for r in session.execute(stmt)]


def funding_by_unit(session: Session, unit: str, year: int | None = None) -> dict[str, Any]:
    """What a unit (province, district or commune station) has received, from which sources, for which items."""
    _check_unit(unit)
    filters, params = "", {"units": sorted(units.units_within(unit))}
    if year is not None:
        filters, params["year"] = " AND a.fiscal_year = :year", year
    sums = _SUMS.format(scope="inside")
    sql = text(_BY_UNIT.format(filters=filters, sums=sums)).bindparams(bindparam("units", expanding=True))
    _no_jit(session)
    rows = list(session.execute(sql, params))
    shape = _funding_shape(
        None, year, unit, [(r.source, r.fiscal_year, unit, r.allocated, r.allocated, r.disbursed) for r in rows]
    )
    del shape["code"], shape["by_unit"]
    shape |= year_end_figures(_unit_year_end_rows(session, unit, year), year)
    shape["by_item"] = [
        {
            "plan_id": r.plan_id,
            "item_code": r.item_code,
            "source": r.source,
            "fiscal_year": r.fiscal_year,
            "allocated": int(r.allocated),
            "disbursed": int(r.disbursed),
            "allocations": int(r.allocations),
        }
        for r in rows
    ]
    return shape


# --------------------------------------------------------------------------- allocation listings


def list_allocations(
    session: Session,
    plan_id: int | None = None,
    item_code: str | None = None,
    year: int | None = None,
    unit: str | None = None,
    source: str | None = None,
    kind: str | None = None,
    parent_id: int | None = None,
    page: int = 1,
    per_page: int = 50,
    level: str | None = None,
    year_end_due: bool = False,
    decision_no: str | None = None,
) -> dict[str, Any]:
    """Allocations matching the filters (an item includes its sub-items; a unit what lies below it; `level` the
    recipient's: province, district or commune; `decision_no` the decision's number as recorded, spaces around it
    aside), each with its money so far, oldest first, one page at a time. `year_end_due`: only those of a year
    already over that still hold money no carry-over or close has decided (the domain's `remaining`), with
    `remaining_total`, what they hold together."""
    _check_unit(unit)
    today = clock.today()
    conds = []
    if plan_id is not None:
        conds.append(Allocation.plan_id == plan_id)
    if item_code is not None:
        conds.append((Allocation.item_code == item_code) | Allocation.item_code.like(item_code + ".%"))
    if year is not None:
        conds.append(Allocation.fiscal_year == year)
    if unit is not None and unit != units.PROVINCE_CODE:
        # What the unit answers for: inside it, or merged into a unit inside it (docs/domain.md §7).
        conds.append(Allocation.recipient_unit.in_(sorted(units.reaching(unit, today))))
    if source is not None:
        conds.append(Allocation.source == source)
    if kind is not None:
        conds.append(Allocation.kind == kind)
    if parent_id is not None:
        conds.append(Allocation.parent_id == parent_id)
    if decision_no is not None:
        # The number as an imported sheet's rows are matched by it (domain.import_key), served by its index.
        conds.append(Allocation.decision_no == decision_no.strip())
    if level is not None:
        above = {"province": [units.PROVINCE_CODE], "district": sorted(units.districts())}
        if level in above:
            conds.append(Allocation.recipient_unit.in_(above[level]))
        else:  # a commune: anything below the districts
            conds.append(Allocation.recipient_unit.not_in([units.PROVINCE_CODE, *sorted(units.districts())]))
    if year_end_due:
        # Asked on every visit of a finance person's home page, and a scan of every ended year's money: kept while
        # the money is unchanged (and for the day: the year and the merged units follow today).
        question = ("year_end_due", plan_id, item_code, year, unit, source, kind, parent_id, level, decision_no, today)
        ids, held = _KEPT.get(session, question, lambda: _year_end_due(session, conds, today.year))
        shown = ids[(page - 1) * per_page : page * per_page]
        items = records.allocations_with_money(session, Allocation.id.in_(shown))
        return {"items": items, "page": page, "per_page": per_page, "total": len(ids), "remaining_total": held}
    total = session.scalar(select(func.count()).select_from(Allocation).where(*conds))
    items = records.allocations_with_money(session, *conds, page=(page, per_page))
    return {"items": items, "page": page, "per_page": per_page, "total": int(total or 0)}


def _year_end_due(session: Session, conds: list[Any], this_year: int) -> tuple[tuple[int, ...], int]:
    """The ids, in order, of the allocations of a fiscal year before `this_year` whose money the year end has not
    all decided, and what they hold together: the domain's `remaining` of an ended year is what a carry-over or a
    close may still take (docs/finance.md "Budget year end")."""
    stmt = select(Allocation, *records.money_columns()).where(Allocation.fiscal_year < this_year, *conds)
    facts = [f for f in (records.facts_of(r[0], r) for r in session.execute(stmt)) if f.remaining > 0]
    return tuple(sorted(f.id for f in facts)), sum(f.remaining for f in facts)


def allocation_detail(session: Session, allocation_id: int) -> dict[str, Any]:
    """One allocation with its whole history: adjustments, disbursements (reversals too), sub-allocations."""
    found = records.allocations_with_money(session, Allocation.id == allocation_id)
    if not found:
        raise NotFound([error("unknown_allocation", f"Không có phân bổ số {allocation_id}.", "id")])
    view = found[0]
    view["sub_allocations"] = records.allocations_with_money(session, Allocation.parent_id == allocation_id)
    view["adjustments"] = [
        {
            "id": j.id,
            "amount": int(j.amount),
            "decision_no": j.decision_no,
            "decision_date": j.decision_date.isoformat(),
            "note": j.note,
            "created_at": j.created_at.isoformat(),
        }
        for j in session.scalars(
            select(Adjustment).where(Adjustment.allocation_id == allocation_id).order_by(Adjustment.id)
        )
    ]
    view["disbursements"] = [
        {
            "id": d.id,
            "amount": int(d.amount),
            "date": d.date.isoformat(),
            "reference": d.reference,
            "reverses_id": d.reverses_id,
            "created_at": d.created_at.isoformat(),
        }
        for d in session.scalars(
            select(Disbursement).where(Disbursement.allocation_id == allocation_id).order_by(Disbursement.id)
        )
    ]
    view["year_end"] = [
        records.year_end_dict(r)
        for r in session.scalars(
            select(YearEndRecord).where(YearEndRecord.allocation_id == allocation_id).order_by(YearEndRecord.id)
        )
    ]
    return view


def list_sources() -> list[dict[str, Any]]:
    """The funding sources, each with the plans whose section III names it (`plans`: a root allocation of a
    plan takes only those, `source_not_in_plan`)."""
    ref = reference()
    named = {
        p.id: {f.code for i in p.items if i.kind == "funding" for f in i.funding_sources} for p in catalog.load_plans()
    }
    out: list[dict[str, Any]] = []
    for s in ref.sources.values():
        row: dict[str, Any] = {"code": s.code, "name": s.name, "last_fund_year": None, "legal_basis": s.legal_basis}
        row["plans"] = sorted(pid for pid, codes in named.items() if s.code in codes)
        if s.code == surplus.SOURCE:  # the law's bounds and uses (services/common/surplus.py)
            row |= {
                "first_fund_year": surplus.FIRST_FUND_YEAR,
                "last_fund_year": surplus.LAST_FUND_YEAR,
                "uses": [{"code": c, "name": n} for c, n in surplus.USES],
            }
        out.append(row)
    return out


# --------------------------------------------------------------------------- capitation


def capitation_status(session: Session, facility_code: str, period: str) -> dict[str, Any]:
    """A facility-quarter at a glance: fund (and its history), advances, reported spend, settlement."""
    facility = domain.parse_facility(facility_code, "facility")
    quarter = str(quarter_or_refuse(period))
    funds = list(
        session.scalars(
            select(CapitationFundRecord)
            .where(CapitationFundRecord.facility_code == facility, CapitationFundRecord.period == quarter)
            .order_by(CapitationFundRecord.id.desc())
        )
    )
    advances = list(
        session.scalars(
            select(CapitationAdvance)
            .where(CapitationAdvance.facility_code == facility, CapitationAdvance.period == quarter)
            .order_by(CapitationAdvance.id)
        )
    )
    report = records.latest_spend(session, facility, quarter)
    settlement = records.latest(session, CapitationSettlement, facility, quarter)
    fund = int(funds[0].fund) if funds else None
    spend = records.money_str(report.spend) if report else None
    balance = None
    if fund is not None:
        balance = records.money_str(Decimal(fund) - (Decimal(report.spend) if report else Decimal(0)))
    year_fund = records.latest(session, CapitationFundRecord, facility, quarter[:4])
    return {
        "facility_code": facility,
        "period": quarter,
        "fund": fund,
        "fund_record": records.fund_dict(funds[0]) if funds else None,
        "fund_history": [records.fund_dict(f) for f in funds[1:]],
        "advances": [records.advance_dict(a) for a in advances],
        "advanced": sum(int(a.amount) for a in advances),
        "spend": spend,
        "spend_claims": report.claims if report else None,
        "spend_reported_at": report.occurred_at.isoformat() if report else None,
        "spend_reports": session.scalar(
            select(func.count())
            .select_from(CapitationSpendReport)
            .where(CapitationSpendReport.facility_code == facility, CapitationSpendReport.period == quarter)
        ),
        "balance": balance,
        "settlement": records.settlement_dict(settlement) if settlement else None,
        # The fund and its balance are settled by the year (NĐ 146/2018 Điều 25): a quarter is a provisional view.
        "provisional": True,
        "year_fund": records.fund_dict(year_fund) if year_fund else None,
        "schedule": quarter_schedule(session, facility, quarter),
    }


def capitation_year(session: Session, facility_code: str, year: int | str) -> dict[str, Any]:
    """A facility's capitation year: the annual fund in force (with its inputs and document) and the funds it
    superseded, the year's final settlement in force and the ones it superseded (newest first), and each
    quarter's provisional figures (its fund, spend level in force, advances, balance)."""
    facility = domain.parse_facility(facility_code, "facility")
    number, quarter = domain.parse_fund_period(str(year), "year")
    if quarter is not None:  # a quarter is capitation_status's; here only a year
        raise DomainError.one("invalid_year", f"Năm không hợp lệ: {year}.", "year")
    period = str(number)
    funds = _newest_first(session, CapitationFundRecord, facility, period)
    settlements = _newest_first(session, CapitationSettlement, facility, period)
    quarters: list[dict[str, Any]] = []
    for n in range(1, 5):
        p = f"{period}-Q{n}"
        fund = records.latest(session, CapitationFundRecord, facility, p)
        spend = records.latest_spend(session, facility, p)
        quarters.append(
            {
                "period": p,
                "fund": int(fund.fund) if fund else None,
                "spend": records.money_str(spend.spend) if spend else None,
                "advanced": records.advanced_total(session, facility, p),
                "balance": records.money_str(Decimal(fund.fund) - (Decimal(spend.spend) if spend else Decimal(0)))
                if fund
                else None,
            }
        )
    return {
        "facility_code": facility,
        "year": number,
        "fund": int(funds[0].fund) if funds else None,
        "fund_record": records.fund_dict(funds[0]) if funds else None,
        "fund_history": [records.fund_dict(f) for f in funds[1:]],
        "settlement": _year_settlement(settlements[0]) if settlements else None,
        "settlement_history": [_year_settlement(s) for s in settlements[1:]],
        "quarters": quarters,
        "advanced": sum(q["advanced"] for q in quarters),
    }


def _newest_first(
    session: Session, model: type[CapitationFundRecord] | type[CapitationSettlement], facility: str, period: str
) -> list[Any]:
    """Every row of an append-only facility-and-period table, the one in force first."""
    return list(
        session.scalars(
            select(model).where(model.facility_code == facility, model.period == period).order_by(model.id.desc())
        )
    )


def _year_settlement(s: CapitationSettlement) -> dict[str, Any]:
    """A year's settlement as answered, with what is left to pay the facility or for it to refund (fund − advanced)."""
    out = records.settlement_dict(s)
    return out | {"refund": max(-out["to_pay"], 0), "recorded_at": out["created_at"]}


def advance_suggestion(session: Session, facility_code: str, period: str) -> dict[str, Any]:
    """The advance of a quarter: 80% of the facility's report of the previous quarter (all payment methods),
    due 5 working days after BHXH received it; a first contract: 80% of the notified fund."""
    facility = domain.parse_facility(facility_code, "facility")
    quarter = quarter_or_refuse(period)
    previous = quarter.previous()
    report, suggested, basis = records.suggested_advance(session, facility, quarter)
    cap = reference().capitation
    return {
        "facility_code": facility,
        "period": str(quarter),
        "previous_period": str(previous),
        "share": str(cap.advance_share),
        "advanced": records.advanced_total(session, facility, str(quarter)),
        "legal_basis": cap.advance_legal_basis,
        "report": records.report_dict(report) if report else None,
        "previous_total": records.money_str(report.total) if report else None,
        "suggested": suggested,
        "due": report.advance_due.isoformat() if report else None,
        "basis": basis,
        "message": None
        if report is not None or suggested is not None
        else f"Chưa nhận báo cáo quyết toán quý {previous} của cơ sở {facility}.",
    }


def quarter_schedule(session: Session, facility: str, period: str, on: date | None = None) -> dict[str, Any]:
    """Every dated step of a facility's quarter: its report, the advance it gives, BHXH's result, the payment;
    each with its due date, the date it happened, and whether it is late or overdue `on` (Vietnam today)."""
    quarter = quarter_or_refuse(period)
    now = on or clock.today()
    report = records.latest(session, CapitationReport, facility, str(quarter))
    result = records.latest(session, CapitationResult, facility, str(quarter))
    steps: dict[str, Any] = {
        "report": domain.step(domain.report_due(quarter), report.received_date if report else None, now)
    }
    if report is None and not _contracted_quarters(session, facility=facility, quarter=str(quarter)):
        steps["report"]["overdue"] = False  # no capitation fund for the quarter: no report is owed
    if report is not None:
        first_advance = session.scalar(
            select(func.min(CapitationAdvance.date)).where(
                CapitationAdvance.facility_code == facility, CapitationAdvance.period == report.advance_period
            )
        )
        steps["advance"] = domain.step(report.advance_due, first_advance, now) | {
            "period": report.advance_period,
            "amount": int(report.advance),
            "paid": records.advanced_total(session, facility, report.advance_period),
        }
        steps["result"] = domain.step(report.result_due, result.result_date if result else None, now)
    if result is not None:
        paid = records.payments_of(session, facility, str(quarter), result.id)
        done = sum(int(p.amount) for p in paid)
        owed = abs(int(result.to_pay))
        finished = max((p.date for p in paid), default=None) if done >= owed else None
        steps["payment"] = domain.step(result.payment_due, finished if owed else result.result_date, now) | {
            "to_pay": int(result.to_pay),
            "settled": done,
            "records": [records.payment_dict(p) for p in paid],
        }
    return {
        "facility_code": facility,
        "period": str(quarter),
        "report": records.report_dict(report) if report else None,
        "result": records.result_dict(result) if result else None,
        "steps": steps,
        "overdue": [name for name, s in steps.items() if s["overdue"]],
    }


def steps_version(session: Session) -> tuple[int, ...]:
    """A stamp that moves with every record a quarter's steps are read from: funds (which quarters are contracted),
    reports, advances, results and payments, all append-only, so their row counts grow with every such commit."""
    tables = (CapitationFundRecord, CapitationReport, CapitationAdvance, CapitationResult, CapitationPayment)
    counts = [select(func.count()).select_from(m).scalar_subquery() for m in tables]
    return tuple(int(v) for v in session.execute(select(*counts)).one())


_KEPT_STEPS = KeptAnswers(steps_version, size=8)


def overdue_steps(session: Session, facilities: list[str] | None = None) -> list[dict[str, Any]]:
    """Every settlement step past its due date today of every facility-quarter in play (reported, or contracted
    and its report past due; within `facilities`), newest quarter first, each with its `quarter` (an advance's own
    `period` is the quarter it is paid for): what BHXH's home page names and the `ytcs_settlement_steps_overdue`
    gauge counts (figures.py). Read once per step or fund record written or per day: a province's reports (~250
    facilities × 4 quarters a year) are a schedule each."""
    today = clock.today()
    every = _KEPT_STEPS.get(session, ("overdue", today), lambda: _overdue_steps(session, today))
    return [o for o in every if facilities is None or o["facility_code"] in facilities]


def _overdue_steps(session: Session, today: date) -> list[dict[str, Any]]:
    reported: set[tuple[str, str]] = {
        (f, p) for f, p in session.execute(select(CapitationReport.facility_code, CapitationReport.period).distinct())
    }
    # A contracted quarter no report came for is overdue from the 16th day of the next quarter on; later quarters
    # have nothing due yet, so their schedules are not read.
    unreported = {
        (facility, period)
        for facility, period in _contracted_quarters(session)
        if (facility, period) not in reported and today > domain.report_due(Quarter.parse(period))
    }
    out: list[dict[str, Any]] = []
    for facility, period in sorted(reported | unreported, key=_newest_quarter_first):
        schedule = quarter_schedule(session, facility, period, on=today)
        out += [
            {"facility_code": facility, "quarter": period, "step": step, **schedule["steps"][step]}
            for step in schedule["overdue"]
        ]
    return out


def _newest_quarter_first(pair: tuple[str, str]) -> tuple[int, str]:
    quarter = Quarter.parse(pair[1])
    return -(quarter.year * 4 + quarter.quarter), pair[0]


def reported_facilities(session: Session, period: str) -> list[str]:
    """The facilities whose quarterly report for `period` was received."""
    return list(
        session.scalars(select(CapitationReport.facility_code).where(CapitationReport.period == period).distinct())
    )


def _contracted_quarters(
    session: Session, facility: str | None = None, quarter: str | None = None
) -> set[tuple[str, str]]:
    """(facility, quarter) of every quarter a facility holds a capitation fund for, and so owes a quarterly report
    for (Luật BHYT Điều 32 k2): each quarter of a year's fund, or the quarter of a provisional one. A period whose
    fund in force is 0 (no cards) owes no report. `facility` and `quarter` (YYYY-Qn) narrow it."""
    funds = select(CapitationFundRecord.facility_code, CapitationFundRecord.period, CapitationFundRecord.fund)
    if quarter is not None:  # its own fund, or its year's
        funds = funds.where(CapitationFundRecord.period.in_([quarter, quarter[:4]]))
    if facility is not None:
        funds = funds.where(CapitationFundRecord.facility_code == facility)
    latest: dict[tuple[str, str], int] = {}
    for f, period, fund in session.execute(funds.order_by(CapitationFundRecord.id)):
        latest[f, period] = fund
    out: set[tuple[str, str]] = set()
    for (f, period), fund in latest.items():
        if fund > 0:
            out.update((f, q) for q in ([period] if "-Q" in period else [f"{period}-Q{n}" for n in range(1, 5)]))
    return out if quarter is None else {p for p in out if p[1] == quarter}


def settlement_facilities(session: Session, period: str) -> list[str]:
    """The facilities with a settlement to follow in quarter `period`: those that reported it, and those contracted
    for it (a capitation fund of its year or of the quarter), whose report is then awaited or overdue."""
    quarter = str(quarter_or_refuse(period))
    contracted = {f for f, _ in _contracted_quarters(session, quarter=quarter)}
    return sorted(contracted | set(reported_facilities(session, quarter)))


def disbursement_detail(session: Session, disbursement_id: int) -> dict[str, Any]:
    d = session.get(Disbursement, disbursement_id)
    if d is None:
        raise NotFound([error("unknown_disbursement", f"Không có lần giải ngân số {disbursement_id}.", "id")])
    alloc = session.get(Allocation, d.allocation_id)
    reversed_ = session.scalar(
        select(func.coalesce(func.sum(Disbursement.amount), 0)).where(Disbursement.reverses_id == d.id)
    )
    return {
        "id": d.id,
        "allocation_id": d.allocation_id,
        "recipient_unit": alloc.recipient_unit if alloc else None,
        "amount": int(d.amount),
        "date": d.date.isoformat(),
        "reference": d.reference,
        "reverses_id": d.reverses_id,
        "reversed": -int(reversed_),
    }


# --------------------------------------------------------------------------- the 20% surplus by legal use


def surplus_uses(session: Session) -> list[dict[str, Any]]:
    """The 20% BHYT surplus allocated and disbursed per fund year and legal use. Money entering the ledger is
    counted at the root allocations (sub-allocations keep the source, fund year and use: the same money);
    disbursements at every level."""
    src = surplus.SOURCE
    adjusted = (
        select(Adjustment.allocation_id, func.sum(Adjustment.amount).label("adj"))
        .group_by(Adjustment.allocation_id)
        .subquery()
    )
    allocated = session.execute(
        select(
            Allocation.fund_year,
            Allocation.surplus_use,
            func.sum(Allocation.amount + func.coalesce(adjusted.c.adj, 0)),
        )
        .outerjoin(adjusted, adjusted.c.allocation_id == Allocation.id)
        .where(Allocation.source == src, Allocation.parent_id.is_(None))
        .group_by(Allocation.fund_year, Allocation.surplus_use)
    ).all()
    disbursed = session.execute(
        select(Allocation.fund_year, Allocation.surplus_use, func.sum(Disbursement.amount))
        .join(Disbursement, Disbursement.allocation_id == Allocation.id)
        .where(Allocation.source == src)
        .group_by(Allocation.fund_year, Allocation.surplus_use)
    ).all()
    rows: dict[tuple[int | None, str | None], dict[str, Any]] = {}
    for fund_year, use, amount in allocated:
        rows.setdefault((fund_year, use), {"allocated": 0, "disbursed": 0})["allocated"] = int(amount or 0)
    for fund_year, use, amount in disbursed:
        rows.setdefault((fund_year, use), {"allocated": 0, "disbursed": 0})["disbursed"] = int(amount or 0)
    return [{"fund_year": fy, "use": use, **figures} for (fy, use), figures in rows.items()]
