"""Finance service entrypoints (nameko). Thin: each method opens a unit of work and calls the domain."""

from __future__ import annotations

from typing import Any

from nameko.rpc import rpc

from services.common.messaging import Database, OutboxRelay
from services.common.metrics import EntrypointMetrics
from services.finance import queries
from services.finance.models import Outbox


class Service:
    name = "finance"

    db = Database()
    relay = OutboxRelay(Outbox)
    metrics = EntrypointMetrics()

    @rpc
    def health(self) -> dict[str, Any]:
        with self.db.transaction() as s:
            plans = len(queries.list_plans(s))
        return {"status": "ok", "plans": plans}

    @rpc
    def list_plans(self) -> list[dict[str, Any]]:
        with self.db.transaction() as s:
            return queries.list_plans(s)

    @rpc
    def get_plan(self, plan_id: int) -> dict[str, Any]:
        with self.db.transaction() as s:
            return queries.plan_dict(queries.get_plan(s, plan_id))

    @rpc
    def plan_items(self, plan_id: int) -> list[dict[str, Any]]:
        with self.db.transaction() as s:
            return queries.plan_items(s, plan_id)
