"""Investment service entrypoints (nameko). Thin: each method opens a unit of work and calls the ledger
(commands) or the queries (reads). Answers are JSON-able dicts; refusals are DomainError."""

from __future__ import annotations

from datetime import date
from typing import Any

from nameko.rpc import rpc

from services.common.business_metrics import BusinessMetrics
from services.common.messaging import Database, OutboxRelay
from services.common.metrics import EntrypointMetrics
from services.investment import figures, ledger, measures, queries
from services.investment.models import WRITES, Outbox


def _date(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


class Service:
    name = "investment"

    db = Database()
    relay = OutboxRelay(Outbox)
    metrics = EntrypointMetrics()
    # Targets not met at the end of the last finished year, recomputed only when a write (or the day) changed.
    business = BusinessMetrics(figures.business_figures, stamp=WRITES.stamp)

    def _cid(self) -> str | None:
        return self.db.correlation_id

    # ----------------------------------------------------------------- health and stations

    @rpc
    def health(self) -> dict[str, Any]:
        with self.db.transaction() as s:
            return {"status": "ok", "stations": queries.count_stations(s)}

    @rpc
    def list_stations(self, unit: str | None = None, at: str | None = None, history: bool = False) -> list[dict]:
        with self.db.transaction() as s:
            return queries.list_stations(s, unit, _date(at), history)

    @rpc
    def get_station(self, code: str, at: str | None = None) -> dict[str, Any]:
        with self.db.transaction() as s:
            return queries.get_station(s, code, _date(at), date.today())

    @rpc
    def record_station_status(self, code: str, payload: dict[str, Any], actor: str | None = None) -> dict[str, Any]:
        with self.db.transaction() as s:
            result = ledger.record_station_status(s, code, payload, actor, self._cid())
        self.relay()
        return result

    @rpc
    def station_funding(self, code: str, year: int | None = None) -> dict[str, Any]:
        with self.db.transaction() as s:
            return queries.station_funding(s, code, year)

    # ----------------------------------------------------------------- indicator facts (measures.py)

    @rpc
    def get_indicators(self, code: str, year: int) -> dict[str, Any]:
        with self.db.transaction() as s:
            return measures.facts_of(s, code, year)

    @rpc
    def record_indicators(
        self, code: str, year: int, payload: dict[str, Any], actor: str | None = None
    ) -> dict[str, Any]:
        with self.db.transaction() as s:
            return measures.record_facts(s, code, year, payload, actor)

    @rpc
    def indicator_sheet(self, unit: str | None, year: int) -> dict[str, Any]:
        with self.db.transaction() as s:
            return measures.sheet_rows(s, unit, year)

    @rpc
    def import_indicators(self, year: int, rows: list[dict[str, Any]], actor: str | None = None) -> dict[str, Any]:
        with self.db.transaction() as s:
            return measures.import_rows(s, year, rows, actor)

    # ----------------------------------------------------------------- projects (commands)

    @rpc
    def register_project(self, payload: dict[str, Any], actor: str | None = None) -> dict[str, Any]:
        with self.db.transaction() as s:
            result = ledger.register_project(s, payload, actor, self._cid())
        self.relay()
        return result

    @rpc
    def assign_capital(self, project_id: int, payload: dict[str, Any], actor: str | None = None) -> dict[str, Any]:
        with self.db.transaction() as s:
            result = ledger.assign_capital(s, project_id, payload, actor, self._cid())
        self.relay()
        return result

    @rpc
    def disburse(self, project_id: int, payload: dict[str, Any], actor: str | None = None) -> dict[str, Any]:
        with self.db.transaction() as s:
            result = ledger.disburse(s, project_id, payload, actor, self._cid())
        self.relay()
        return result

    @rpc
    def revise_estimate(self, project_id: int, payload: dict[str, Any], actor: str | None = None) -> dict[str, Any]:
        with self.db.transaction() as s:
            result = ledger.revise_estimate(s, project_id, payload, actor, self._cid())
        self.relay()
        return result

    @rpc
    def change_status(self, project_id: int, payload: dict[str, Any], actor: str | None = None) -> dict[str, Any]:
        with self.db.transaction() as s:
            result = ledger.change_status(s, project_id, payload, actor, self._cid())
        self.relay()
        return result

    @rpc
    def complete_project(self, project_id: int, payload: dict[str, Any], actor: str | None = None) -> dict[str, Any]:
        with self.db.transaction() as s:
            result = ledger.complete_project(s, project_id, payload, actor, self._cid())
        self.relay()
        return result

    # ----------------------------------------------------------------- projects (reads)

    @rpc
    def list_projects(
        self,
        unit: str | None = None,
        station: str | None = None,
        status: str | None = None,
        plan_id: int | None = None,
        item_code: str | None = None,
    ) -> list[dict[str, Any]]:
        with self.db.transaction() as s:
            codes = [station] if station else None
            return queries.list_projects(s, unit, codes, status, plan_id, item_code)

    @rpc
    def get_project(self, project_id: int) -> dict[str, Any]:
        with self.db.transaction() as s:
            return queries.project_detail(s, project_id)

    @rpc
    def project_scope(self, project_id: int) -> dict[str, Any]:
        with self.db.transaction() as s:
            return queries.project_scope(s, project_id, date.today())

    # ----------------------------------------------------------------- roll-ups

    @rpc
    def funding_status(
        self, plan_id: int, item_code: str, year: int | None = None, unit: str | None = None
    ) -> dict[str, Any]:
        with self.db.transaction() as s:
            return queries.funding_status_kept(s, plan_id, item_code, year, unit)

    @rpc
    def funding_tree(self, plan_id: int, year: int | None = None, unit: str | None = None) -> dict[str, Any]:
        with self.db.transaction() as s:
            return queries.funding_tree_kept(s, plan_id, year, unit)

    @rpc
    def targets(self, plan_id: int, year: int | None = None, unit: str | None = None) -> dict[str, Any]:
        with self.db.transaction() as s:
            return queries.targets(s, plan_id, year, unit)

    @rpc
    def surplus_capital(self) -> list[dict[str, Any]]:
        """Project capital of the 20% BHYT surplus per fund year and legal use (services/common/surplus.py)."""
        with self.db.transaction() as s:
            return queries.surplus_capital(s)

    @rpc
    def medium_term(self, unit: str | None = None) -> dict[str, Any]:
        with self.db.transaction() as s:
            return queries.medium_term(s, unit)

    @rpc
    def priorities(self, year: int, unit: str | None = None) -> dict[str, Any]:
        with self.db.transaction() as s:
            return queries.priorities(s, year, unit)
