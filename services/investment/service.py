"""Investment service entrypoints (nameko). Thin: each method opens a unit of work and calls the domain."""

from __future__ import annotations

from datetime import date
from typing import Any

from nameko.rpc import rpc

from services.common.messaging import Database, OutboxRelay
from services.common.metrics import EntrypointMetrics
from services.investment import queries
from services.investment.models import Outbox


class Service:
    name = "investment"

    db = Database()
    relay = OutboxRelay(Outbox)
    metrics = EntrypointMetrics()

    @rpc
    def health(self) -> dict[str, Any]:
        with self.db.transaction() as s:
            return {"status": "ok", "stations": len(queries.list_stations(s))}

    @rpc
    def list_stations(self, unit: str | None = None, at: str | None = None, history: bool = False) -> list[dict]:
        with self.db.transaction() as s:
            return queries.list_stations(s, unit, date.fromisoformat(at) if at else None, history)
