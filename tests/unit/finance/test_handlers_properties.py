"""Property-based: no sequence of allocations, sub-allocations, disbursements, reversals and adjustments
can make a roll-up count a đồng twice, lose one, or let disbursed exceed allocated.

Each example runs finance's real command handlers, each in its own unit of work, on a fresh in-memory
SQLite copy of the finance schema, and compares the SQL roll-ups with the independent model in model.py
(Σ of the money each allocation kept).
"""

from __future__ import annotations

import sqlite3
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import event as note_case
from hypothesis import strategies as st
from sqlalchemy import create_engine, event
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from services.common.catalog import get_plan
from services.common.db import transaction
from services.common.errors import DomainError
from services.finance import handlers, views
from services.finance.catalog_loader import sync_catalog
from services.finance.models import FinanceBase
from services.finance.unit_of_work import FinanceUnitOfWork
from tests.unit.finance.model import LedgerModel, Node

_TEMPLATE: sqlite3.Connection | None = None

# Units one level below each recipient (the ledger demands strictly below; a commune has nothing below).
BELOW = {"91": ["910", "899"], "910": ["31060", "31051"], "899": ["30730"], "31060": [], "31051": [], "30730": []}
ROOT_ITEMS = ["II.2", "II.2.4", "II.5", "III"]
SUB_ITEMS = {
    "II.2": ["II.2", "II.2.1", "II.2.4"],
    "II.2.4": ["II.2.4"],
    "II.2.1": ["II.2.1"],
    "II.5": ["II.5"],
    "III": ["III"],
}
SOURCES = ["provincial_budget", "district_budget", "ntp_health_population"]


def _template() -> sqlite3.Connection:
    """The schema and the plan catalog, built once; each example starts from a copy."""
    global _TEMPLATE
    if _TEMPLATE is None:
        engine = create_engine("sqlite://", poolclass=StaticPool)
        FinanceBase.metadata.create_all(engine)
        with transaction(sessionmaker(engine)) as s:
            sync_catalog(s)
        raw = engine.raw_connection()
        _TEMPLATE = sqlite3.connect(":memory:", check_same_thread=False)
        raw.driver_connection.backup(_TEMPLATE)
        raw.close()
        engine.dispose()
    return _TEMPLATE


def fresh_books() -> sessionmaker[Session]:
    conn = sqlite3.connect(":memory:", check_same_thread=False)
    _template().backup(conn)
    engine = create_engine("sqlite://", creator=lambda: conn, poolclass=StaticPool)

    @event.listens_for(engine, "connect")
    def _fk(dbapi_conn: Any, _rec: Any) -> None:
        dbapi_conn.execute("PRAGMA foreign_keys=ON")

    return sessionmaker(engine, expire_on_commit=False)


roots = st.tuples(
    st.just("root"),
    st.sampled_from([(1, "91"), (1, "91"), (1, "91"), (1, "910"), (1, "899"), (2, "910"), (2, "31060")]),
    st.sampled_from(ROOT_ITEMS),
    st.sampled_from(SOURCES),
    st.sampled_from([2023, 2024]),
    st.integers(1, 10**12),
)
# Amounts of sub-allocations and payments as a share (%) of what is left: ≤ 100 fits, above overflows by
# (share − 100) đồng, so the exact boundary (100 → all that is left, 101 → one đồng too many) is drawn often.
shares = st.integers(0, 110)
subs = st.tuples(st.just("sub"), st.integers(0, 50), st.integers(0, 5), st.integers(0, 3), shares)
pays = st.tuples(st.just("pay"), st.integers(0, 50), shares)
reversals = st.tuples(st.just("reverse"), st.integers(0, 50), st.one_of(st.none(), st.integers(1, 10**11)))
adjusts = st.tuples(st.just("adjust"), st.integers(0, 50), st.integers(-(10**11), 10**11))
programs = st.tuples(
    roots, st.lists(st.one_of(roots, subs, subs, subs, pays, pays, reversals, adjusts), min_size=15, max_size=35)
)

DATE = {"decision_no": "1/QĐ", "decision_date": "2024-01-02"}


def section_iii(plan_id: int) -> set[str]:
    return {s.code for i in get_plan(plan_id).items if i.kind == "funding" for s in i.funding_sources}


def run(factory: sessionmaker[Session], fn: Any, *args: Any) -> dict | None:
    try:
        with FinanceUnitOfWork(factory) as uow:
            return fn(uow, *args)
    except DomainError:
        return None


def sized(left: int, share: int) -> int:
    return max(1, left * share // 100) if share <= 100 else left + share - 100


def apply(factory: sessionmaker[Session], model: LedgerModel, op: tuple, payments: list[tuple[int, int]]) -> None:
    ids = sorted(model.nodes)
    kind = op[0]
    if kind == "root":
        _, (plan, to), item, source, year, amount = op
        row = run(
            factory,
            handlers.create_allocation,
            {
                "plan_id": plan,
                "item_code": item,
                "source": source,
                "fiscal_year": year,
                "recipient_unit": to,
                "amount": amount,
                **DATE,
            },
        )
        if source not in section_iii(plan):  # money enters a plan only from a source its section III names
            assert row is None, op
            return
        assert row is not None, op
        model.nodes[row["id"]] = Node(row["id"], plan, item, source, year, to, None, amount)
        return
    if not ids:
        return
    # Sub-allocations favour the newest allocations (small indexes are drawn most), building deep chains.
    node = model.nodes[ids[-1 - op[1] % len(ids)] if kind == "sub" else ids[op[1] % len(ids)]]
    if kind == "sub":
        _, _, unit_pick, item_pick, share = op
        amount = sized(model.remaining(node), share)
        below = BELOW[node.recipient]
        to = below[unit_pick % len(below)] if below and unit_pick < 5 else node.recipient  # 5: same unit (refused)
        items = SUB_ITEMS[node.item]
        item = items[item_pick % len(items)]
        expect = to != node.recipient and model.may_sub_allocate(node, amount)
        row = run(
            factory,
            handlers.create_allocation,
            {"parent_allocation_id": node.id, "recipient_unit": to, "item_code": item, "amount": amount, **DATE},
        )
        assert (row is not None) == expect, (op, model.remaining(node))
        if row:
            model.nodes[row["id"]] = Node(row["id"], row["plan_id"], item, node.source, node.year, to, node.id, amount)
    elif kind == "pay":
        amount = sized(model.remaining(node), op[2])
        expect = model.may_disburse(node, amount)
        row = run(factory, handlers.disburse, node.id, {"amount": amount, "date": "2024-03-01"})
        assert (row is not None) == expect, (op, model.remaining(node))
        if row:
            node.disbursed += amount
            payments.append((row["id"], node.id))
            node.payments[row["id"]] = amount
    elif kind == "reverse":
        if not payments:
            return
        pay_id, alloc_id = payments[op[1] % len(payments)]
        owner = model.nodes[alloc_id]
        left = owner.payments[pay_id]
        amount = op[2] if op[2] is not None else left
        expect = 0 < amount <= left
        data: dict[str, Any] = {"date": "2024-04-01"}
        if op[2] is not None:
            data["amount"] = op[2]
        row = run(factory, handlers.reverse_disbursement, pay_id, data)
        assert (row is not None) == expect, op
        if row:
            assert row["amount"] == -amount
            owner.disbursed -= amount
            owner.payments[pay_id] -= amount
            model.reversals += 1
    elif kind == "adjust":
        amount = op[2]
        expect = model.may_adjust(node, amount)
        row = run(factory, handlers.adjust, node.id, {"amount": amount, **DATE})
        assert (row is not None) == expect, (op, model.remaining(node))
        if row:
            node.adjustments += amount
    # After every command, every allocation's books balance in the database.
    with transaction(factory) as s:
        view = views.allocation_detail(s, node.id)
    assert view["allocated"] == model.allocated(node)
    assert view["disbursed"] + view["sub_allocated"] <= view["allocated"]
    assert view["remaining"] == model.remaining(node) >= 0


CODES = {p: get_plan(p).codes for p in (1, 2)}


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs)
def test_no_sequence_counts_a_dong_twice_or_overspends(program):
    factory = fresh_books()
    model = LedgerModel()
    payments: list[tuple[int, int]] = []
    first, rest = program
    model.reversals = 0
    for op in (first, *rest):
        apply(factory, model, op, payments)
    nodes = model.nodes.values()
    note_case(f"allocations: {min(len(nodes) // 5 * 5, 20)}+")
    note_case(f"three levels deep: {any(n.parent and model.nodes[n.parent].parent for n in nodes)}")
    note_case(f"a reversal: {model.reversals > 0}")
    note_case(f"an adjustment: {any(n.adjustments for n in nodes)}")

    with transaction(factory) as s:
        for year in (None, 2024):
            for unit in (None, "910", "31060"):
                for plan_id in (1, 2):
                    tree = views.funding_tree(s, plan_id, year, unit)["items"]
                    for code, figures in tree.items():
                        assert (figures["allocated"], figures["disbursed"]) == model.rollup(plan_id, code, year, unit)
                        assert 0 <= figures["disbursed"] <= figures["allocated"]
                        shares = figures["by_unit"].values()
                        assert sum(m["allocated"] for m in shares) == figures["allocated"]
                        assert sum(m["disbursed"] for m in shares) == figures["disbursed"]
                        assert all(0 <= m["disbursed"] <= m["allocated"] for m in shares)
                        children = [c for c in CODES[plan_id] if c.rpartition(".")[0] == code]
                        assert sum(tree[c]["allocated"] for c in children) <= figures["allocated"]
                # The province plan's sections together hold every đồng that entered (for this year/unit) once.
                top = views.funding_tree(s, 1, year, None)["items"]
                sections = sum(top[c]["allocated"] for c in ("I", "II", "III", "IV", "V"))
                assert sections == sum(
                    model.allocated(n)
                    for n in model.nodes.values()
                    if n.parent is None and (year is None or n.year == year)
                )
        whole = views.funding_by_unit(s, "91")
        assert whole["allocated"] == model.injected()
        assert whole["disbursed"] == sum(n.disbursed for n in model.nodes.values())
        for unit in ("910", "899", "31060"):
            view = views.funding_by_unit(s, unit)
            assert (view["allocated"], view["disbursed"]) == model.unit_total(unit)
            assert all(0 <= r["disbursed"] <= r["allocated"] for r in view["by_item"])
