"""Finance's read side: the funding roll-ups (docs/finance.md "Roll-up"), an item's, a plan's tree and a unit's,
each đồng counted once, with the budget year end of the same money; kept while the money is unchanged."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, func, select, text
from sqlalchemy.orm import Session

from services.common import clock, units
from services.common.errors import NotFound, error
from services.common.kept import KeptAnswers
from services.common.money import execution_rate
from services.finance import domain, records
from services.finance.models import (
    Adjustment,
    Allocation,
    Disbursement,
    Plan,
    PlanItem,
    YearEndRecord,
)
from services.finance.views.plans import get_plan

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


def require_unit(unit: str | None) -> None:
    """A unit filter names a unit of the register (None: no filter)."""
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
    require_unit(unit)
    if session.scalar(select(PlanItem.id).where(PlanItem.plan_id == plan_id, PlanItem.code == item_code)) is None:
        raise NotFound([error("unknown_item", f"Kế hoạch {plan_id} không có mục {item_code}.", "code")])
    rows = _rollup_rows(session, plan, year, unit, item_code)
    shaped = [(r.source, r.fiscal_year, r.bucket, r.allocated, r.kept, r.disbursed) for r in rows]
    ends = [(r.fiscal_year, r.kind, r.amount) for r in _year_end_rows(session, plan, year, unit, item_code)]
    return {"plan_id": plan_id} | _funding_shape(item_code, year, unit, shaped) | year_end_figures(ends, year)


def funding_tree(session: Session, plan_id: int, year: int | None = None, unit: str | None = None) -> dict[str, Any]:
    """Every item of the plan, each rolled up as in funding_status, in one query."""
    plan = get_plan(session, plan_id)
    require_unit(unit)
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


MONEY_ANSWERS = KeptAnswers(data_version, size=512)  # the allocations listing keeps its year end here too


def funding_status_kept(
    session: Session, plan_id: int, item_code: str, year: int | None = None, unit: str | None = None
) -> dict[str, Any]:
    """`funding_status`, kept while the money is unchanged (a refusal such as an unknown item is not kept)."""
    return MONEY_ANSWERS.get(session, ("item", plan_id, item_code, year, unit, clock.today()),
                     lambda: funding_status(session, plan_id, item_code, year, unit))


def funding_tree_kept(session: Session, plan_id: int, year: int | None = None, unit: str | None = None) -> dict:
    """`funding_tree`, kept while the money is unchanged."""
    question = ("tree", plan_id, year, unit, clock.today())  # the day: what merged into a unit follows it
    return MONEY_ANSWERS.get(session, question, lambda: funding_tree(session, plan_id, year, unit))


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
    require_unit(unit)
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
