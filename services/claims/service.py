"""Claims service entrypoints (nameko)."""

from __future__ import annotations

from typing import Any

from nameko.rpc import rpc
from sqlalchemy import text

from services.claims.models import Outbox
from services.common.messaging import Database, OutboxRelay
from services.common.metrics import EntrypointMetrics


class Service:
    name = "claims"

    db = Database()
    relay = OutboxRelay(Outbox)
    metrics = EntrypointMetrics()

    @rpc
    def health(self) -> dict[str, Any]:
        with self.db.transaction() as s:
            s.execute(text("SELECT 1"))
        return {"status": "ok"}
