"""Property-based: no sequence of payments (in the year or the next), sub-allocations, carry-overs and closes
of a 2023 allocation pays out closed money, pays more than was allocated, or shows carried money in the
next year's `allocated`. Finance's real handlers on a fresh SQLite copy of the schema (as
test_handlers_properties.py), against a small independent model of one allocation and its child.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.common.db import transaction
from services.finance import handlers, views
from tests.unit.finance.test_handlers_properties import fresh_books, run, sized

M = 1_000_000
DECISION = {"decision_no": "1/QĐ", "decision_date": "2023-01-05"}


@dataclass
class Books:
    """One allocation's year-end figures, as the rules of docs/finance.md "Budget year end" state them."""

    allocated: int
    children: int = 0
    paid_in: int = 0  # dated within 2023
    paid_after: int = 0  # dated in 2024
    carried: int = 0
    closed: int = 0

    @property
    def ended(self) -> bool:
        return self.carried + self.closed > 0

    @property
    def open(self) -> int:
        return self.allocated - self.children - self.paid_in - self.carried - self.closed

    @property
    def carried_left(self) -> int:
        return max(self.carried - self.paid_after, 0)

    @property
    def remaining(self) -> int:
        return self.open - max(self.paid_after - self.carried, 0)

    def may_pay(self, amount: int, next_year: bool) -> bool:
        limit = self.carried_left if next_year and self.ended else self.remaining
        return 0 < amount <= limit


ops = st.lists(
    st.one_of(
        st.tuples(st.just("pay"), st.booleans(), st.booleans(), st.integers(0, 110)),
        st.tuples(st.just("carry"), st.booleans(), st.integers(0, 110)),
        st.tuples(st.just("close"), st.booleans(), st.integers(0, 110)),
        st.tuples(st.just("sub"), st.integers(0, 110)),
    ),
    min_size=4,
    max_size=14,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(1, 10**12), ops)
def test_year_end_never_pays_closed_money_nor_counts_carried_money_twice(amount, program):
    factory = fresh_books()
    root = run(factory, handlers.create_allocation, {"plan_id": 1, "item_code": "II.5", "source": "provincial_budget",
                                                     "fiscal_year": 2023, "recipient_unit": "91", "amount": amount,
                                                     **DECISION})  # fmt: skip
    assert root is not None
    books = {root["id"]: Books(amount)}
    child_id: int | None = None
    for op in program:
        if op[0] == "sub":
            if child_id is not None:
                continue
            size = sized(books[root["id"]].remaining, op[1])
            row = run(factory, handlers.create_allocation,
                      {"parent_allocation_id": root["id"], "recipient_unit": "910", "amount": size, **DECISION})
            assert (row is not None) == (0 < size <= books[root["id"]].remaining), op
            if row:
                child_id = row["id"]
                books[root["id"]].children += size
                books[child_id] = Books(size)
            continue
        target = child_id if op[1] and child_id is not None else root["id"]
        b = books[target]
        if op[0] == "pay":
            next_year = op[2]
            size = sized(b.carried_left if next_year and b.ended else b.remaining, op[3])
            row = run(factory, handlers.disburse, target,
                      {"amount": size, "date": "2024-03-01" if next_year else "2023-06-01"})
            assert (row is not None) == b.may_pay(size, next_year), (op, b)
            if row:
                if next_year:
                    b.paid_after += size
                else:
                    b.paid_in += size
        else:
            limit = b.open if op[0] == "carry" else b.remaining
            size = sized(limit, op[2])
            fn = handlers.carry_over if op[0] == "carry" else handlers.close_allocation
            row = run(factory, fn, target, {"amount": size, "date": "2024-01-15", **DECISION})
            assert (row is not None) == (0 < size <= limit), (op, b)
            if row:
                if op[0] == "carry":
                    b.carried += size
                else:
                    b.closed += size
        with transaction(factory) as s:
            view = views.allocation_detail(s, target)
        assert (view["remaining"], view["carried_over_left"], view["closed"]) == (b.remaining, b.carried_left, b.closed)
        # Nothing closed is ever paid, nothing paid beyond what was given.
        assert view["disbursed"] + view["sub_allocated"] + view["closed"] <= view["allocated"]
        assert view["remaining"] >= 0

    with transaction(factory) as s:
        y2023 = views.funding_status(s, 1, "II.5", 2023)
        y2024 = views.funding_status(s, 1, "II.5", 2024)
        unit = views.funding_by_unit(s, "910", 2024)
    assert y2023["allocated"] == amount and y2024["allocated"] == 0
    assert y2023["carried_over_out"] == y2024["carried_over_in"] == sum(b.carried for b in books.values())
    assert y2023["closed"] == sum(b.closed for b in books.values())
    assert unit["carried_over_in"] == (books[child_id].carried if child_id is not None else 0)
    assert y2023["disbursed"] == sum(b.paid_in + b.paid_after for b in books.values())
