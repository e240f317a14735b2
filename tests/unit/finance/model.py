"""An independent reference model of the budget ledger, for tests.

It keeps every allocation as a node of a tree and answers roll-ups by a different rule than the SQL:
every đồng sits at exactly one node, the lowest it reached (`retained` = allocated − what the node passed
down), so the money of any scope is Σ retained over the nodes in it. The SQL instead counts the money
entering a scope. Agreement between the two is the test.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from services.common import units

PLANS_BELOW = {1: {2}, 2: set()}
PLAN_UNIT = {1: "91", 2: "910"}


@dataclass
class Node:
    id: int
    plan_id: int
    item: str
    source: str
    year: int
    recipient: str
    parent: int | None
    amount: int
    adjustments: int = 0
    disbursed: int = 0  # direct, net of reversals
    payments: dict[int, int] = field(default_factory=dict)  # disbursement id -> amount still unreversed


class LedgerModel:
    def __init__(self) -> None:
        self.nodes: dict[int, Node] = {}
        self.reversals = 0

    # --- state ---------------------------------------------------------------------------------------
    def allocated(self, n: Node) -> int:
        return n.amount + n.adjustments

    def children(self, n: Node) -> list[Node]:
        return [c for c in self.nodes.values() if c.parent == n.id]

    def passed_down(self, n: Node) -> int:
        return sum(self.allocated(c) for c in self.children(n))

    def remaining(self, n: Node) -> int:
        return self.allocated(n) - self.passed_down(n) - n.disbursed

    def retained(self, n: Node) -> int:
        return self.allocated(n) - self.passed_down(n)

    # --- what the ledger should accept ---------------------------------------------------------------
    def may_sub_allocate(self, parent: Node, amount: int) -> bool:
        return 0 < amount <= self.remaining(parent)

    def may_disburse(self, n: Node, amount: int) -> bool:
        return 0 < amount <= self.remaining(n)

    def may_adjust(self, n: Node, amount: int) -> bool:
        if amount == 0:
            return False
        if amount > 0:
            return n.parent is None or amount <= self.remaining(self.nodes[n.parent])
        return self.allocated(n) + amount >= self.passed_down(n) + n.disbursed

    # --- roll-ups ------------------------------------------------------------------------------------
    def in_scope(self, n: Node, plan_id: int, code: str, year: int | None, unit: str | None) -> bool:
        plans = {plan_id} | PLANS_BELOW[plan_id]
        return (
            n.plan_id in plans
            and (n.item == code or n.item.startswith(code + "."))
            and (year is None or n.year == year)
            and (unit is None or units.within(unit, n.recipient))
        )

    def rollup(
        self, plan_id: int, code: str, year: int | None = None, unit: str | None = None, source: str | None = None
    ) -> tuple[int, int]:
        nodes = [
            n
            for n in self.nodes.values()
            if self.in_scope(n, plan_id, code, year, unit) and (source is None or n.source == source)
        ]
        return sum(self.retained(n) for n in nodes), sum(n.disbursed for n in nodes)

    def unit_total(self, unit: str, year: int | None = None) -> tuple[int, int]:
        nodes = [n for n in self.nodes.values() if units.within(unit, n.recipient) and (year is None or n.year == year)]
        return sum(self.retained(n) for n in nodes), sum(n.disbursed for n in nodes)

    def injected(self) -> int:
        """All money that entered the ledger: roots and their adjustments (sub-allocations move money)."""
        return sum(self.allocated(n) for n in self.nodes.values() if n.parent is None)
