"""Investment service entrypoints (nameko). Thin: a command runs one handler in a unit of work (committed, then
the outbox relay woken); a read runs one view in a read session. Answers are JSON-able dicts; refusals are the
named errors of services/common/errors.py."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from nameko.rpc import rpc

from services.common import clock
from services.common.business_metrics import BusinessMetrics
from services.common.messaging import Database, OutboxRelay
from services.common.metrics import EntrypointMetrics
from services.investment import figures, handlers, views
from services.investment.models import WRITES, Outbox
from services.investment.unit_of_work import InvestmentUnitOfWork


def _date(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


class Service:
    name = "investment"

    db = Database()
    relay = OutboxRelay(Outbox)
    metrics = EntrypointMetrics()
    # Targets not met at the end of the last finished year, recomputed only when a write (or the day) changed.
    business = BusinessMetrics(figures.business_figures, stamp=WRITES.stamp)

    def _command(self, handler: Callable[..., Any], *args: Any) -> Any:
        """Run one handler in its own unit of work (answered from its first recording when it is sent again); once
        committed, wake the relay for what it published."""
        uow = self.db.unit_of_work(InvestmentUnitOfWork)
        result = uow.run(handler, *args)
        if uow.published:
            self.relay()
        return result

    def _read(self, view: Callable[..., Any], *args: Any) -> Any:
        with self.db.transaction() as session:
            return view(session, *args)

    # ----------------------------------------------------------------- health and stations

    @rpc
    def health(self) -> dict[str, Any]:
        return {"status": "ok", "stations": self._read(views.count_stations)}

    @rpc
    def list_stations(self, unit: str | None = None, at: str | None = None, history: bool = False) -> list[dict]:
        return self._read(views.list_stations, unit, _date(at), history)

    @rpc
    def get_station(self, code: str, at: str | None = None) -> dict[str, Any]:
        return self._read(views.get_station, code, _date(at), clock.today())

    @rpc
    def record_station_status(self, code: str, payload: dict[str, Any], actor: str | None = None) -> dict[str, Any]:
        return self._command(handlers.record_station_status, code, payload, actor)

    @rpc
    def station_funding(self, code: str, year: int | None = None) -> dict[str, Any]:
        return self._read(views.station_funding, code, year)

    # ----------------------------------------------------------------- indicator facts

    @rpc
    def get_indicators(self, code: str, year: int) -> dict[str, Any]:
        return self._read(views.facts_of, code, year)

    @rpc
    def record_indicators(
        self, code: str, year: int, payload: dict[str, Any], actor: str | None = None
    ) -> dict[str, Any]:
        return self._command(handlers.record_indicators, code, year, payload, actor)

    @rpc
    def indicator_sheet(self, unit: str | None, year: int) -> dict[str, Any]:
        return self._read(views.sheet_rows, unit, year)

    @rpc
    def import_indicators(self, year: int, rows: list[dict[str, Any]], actor: str | None = None) -> dict[str, Any]:
        return self._command(handlers.import_indicators, year, rows, actor)

    @rpc
    def check_indicators(self, year: int, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        # The import's refusals, nothing kept (no `run`: a check keeps no answer either).
        return self.db.unit_of_work(InvestmentUnitOfWork).refusals(handlers.import_indicators, year, rows)

    # ----------------------------------------------------------------- projects (commands)

    @rpc
    def register_project(self, payload: dict[str, Any], actor: str | None = None) -> dict[str, Any]:
        return self._command(handlers.register_project, payload, actor)

    @rpc
    def linked_capital(self, allocation_ids: list[int]) -> dict[str, int]:
        """Σ project capital naming each finance allocation as its funding, by allocation id: what the gateway
        tells finance before an allocation is reduced or passed further down (finance keeps it covered)."""
        ids = [int(i) for i in allocation_ids]
        return {str(k): v for k, v in self._read(views.linked_to_allocations, ids).items()}

    @rpc
    def assign_capital(self, project_id: int, payload: dict[str, Any], actor: str | None = None) -> dict[str, Any]:
        return self._command(handlers.assign_capital, project_id, payload, actor)

    @rpc
    def disburse(self, project_id: int, payload: dict[str, Any], actor: str | None = None) -> dict[str, Any]:
        return self._command(handlers.disburse, project_id, payload, actor)

    @rpc
    def import_disbursements(self, payload: dict[str, Any], actor: str | None = None) -> dict[str, Any]:
        return self._command(handlers.import_disbursements, payload, actor)

    @rpc
    def check_disbursement_import(self, payload: dict[str, Any]) -> list[dict[str, Any]]:
        # The import's refusals, nothing kept, as check_indicators.
        return self.db.unit_of_work(InvestmentUnitOfWork).refusals(handlers.import_disbursements, payload)

    @rpc
    def revise_estimate(self, project_id: int, payload: dict[str, Any], actor: str | None = None) -> dict[str, Any]:
        return self._command(handlers.revise_estimate, project_id, payload, actor)

    @rpc
    def change_status(self, project_id: int, payload: dict[str, Any], actor: str | None = None) -> dict[str, Any]:
        return self._command(handlers.change_status, project_id, payload, actor)

    @rpc
    def complete_project(self, project_id: int, payload: dict[str, Any], actor: str | None = None) -> dict[str, Any]:
        return self._command(handlers.complete_project, project_id, payload, actor)

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
        return self._read(views.list_projects, unit, [station] if station else None, status, plan_id, item_code)

    @rpc
    def get_project(self, project_id: int) -> dict[str, Any]:
        return self._read(views.project_detail, project_id)

    @rpc
    def capital_by_source(self, unit: str | None = None, plan_id: int | None = None) -> list[dict[str, Any]]:
        return self._read(views.capital_by_source, unit, plan_id)

    @rpc
    def project_scope(self, project_id: int) -> dict[str, Any]:
        return self._read(views.project_scope, project_id, clock.today())

    # ----------------------------------------------------------------- roll-ups

    @rpc
    def funding_status(
        self, plan_id: int, item_code: str, year: int | None = None, unit: str | None = None
    ) -> dict[str, Any]:
        return self._read(views.funding_status_kept, plan_id, item_code, year, unit)

    @rpc
    def funding_tree(self, plan_id: int, year: int | None = None, unit: str | None = None) -> dict[str, Any]:
        return self._read(views.funding_tree_kept, plan_id, year, unit)

    @rpc
    def targets(self, plan_id: int, year: int | None = None, unit: str | None = None) -> dict[str, Any]:
        return self._read(views.targets, plan_id, year, unit)

    @rpc
    def surplus_capital(self) -> list[dict[str, Any]]:
        """Project capital of the 20% BHYT surplus per fund year and legal use (services/common/surplus.py)."""
        return self._read(views.surplus_capital)

    @rpc
    def medium_term(self, unit: str | None = None) -> dict[str, Any]:
        return self._read(views.medium_term, unit)

    @rpc
    def priorities(self, year: int, unit: str | None = None) -> dict[str, Any]:
        return self._read(views.priorities, year, unit)
