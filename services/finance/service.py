"""Finance service entrypoints (nameko). Thin: each decodes its arguments, opens a unit of work (a command) or a
session (a query), calls one handler or view, and returns its dict."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from nameko.rpc import rpc

from services.common.business_metrics import BusinessMetrics
from services.common.dlq import QueueDepths
from services.common.messaging import BoundedRpcProxy, Database, OutboxRelay, reliable_event_handler
from services.common.metrics import EntrypointMetrics
from services.finance import figures, handlers, views
from services.finance.models import Outbox
from services.finance.unit_of_work import FinanceUnitOfWork

log = logging.getLogger(__name__)


class Service:
    name = "finance"

    db = Database()
    relay = OutboxRelay(Outbox)  # in a worker: a function that wakes the relay to publish at once
    metrics = EntrypointMetrics()
    # The funding and overdue-settlement gauges of the wall, recomputed only when the money changed (the kept
    # answers' stamp and the settlement tables' counts) or the day did.
    business = BusinessMetrics(figures.business_figures, stamp=figures.stamp)
    queues = QueueDepths()  # its event queues and ytcs.dead-letters, as ytcs_queue_messages
    # A quarter's figures are the claims service's (by RPC, asked before the write transaction opens; a claims
    # service that does not answer in time refuses the command with 503, nothing written).
    claims = BoundedRpcProxy("claims")

    # --- plans -------------------------------------------------------------------------------------

    @rpc
    def health(self) -> dict[str, Any]:
        with self.db.transaction() as s:
            plans = len(views.list_plans(s))
        return {"status": "ok", "plans": plans}

    @rpc
    def list_plans(self) -> list[dict[str, Any]]:
        with self.db.transaction() as s:
            return views.list_plans(s)

    @rpc
    def get_plan(self, plan_id: int) -> dict[str, Any]:
        with self.db.transaction() as s:
            return views.plan_dict(views.get_plan(s, plan_id))

    @rpc
    def plan_items(self, plan_id: int) -> list[dict[str, Any]]:
        with self.db.transaction() as s:
            return views.plan_items(s, plan_id)

    @rpc
    def list_sources(self) -> list[dict[str, Any]]:
        return views.list_sources()

    # --- the ledger (writes) ------------------------------------------------------------------------

    def _write(self, handler: Callable[..., Any], *args: Any) -> Any:
        """One command in one unit of work (answered from its first recording when it is sent again); once it
        committed, the relay is woken to publish its events."""
        result = self.db.unit_of_work(FinanceUnitOfWork).run(handler, *args)
        self.relay()
        return result

    @rpc
    def create_allocation(self, data: dict[str, Any]) -> dict[str, Any]:
        return self._write(handlers.create_allocation, data)

    @rpc
    def import_allocations(self, data: dict[str, Any]) -> dict[str, Any]:
        return self._write(handlers.import_allocations, data)

    @rpc
    def check_allocation_import(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        # The import's refusals, nothing kept (no `run`: a check keeps no answer either).
        return self.db.unit_of_work(FinanceUnitOfWork).refusals(handlers.import_allocations, data)

    @rpc
    def import_disbursements(self, data: dict[str, Any]) -> dict[str, Any]:
        return self._write(handlers.import_disbursements, data)

    @rpc
    def check_disbursement_import(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        # The import's refusals, nothing kept, as check_allocation_import.
        return self.db.unit_of_work(FinanceUnitOfWork).refusals(handlers.import_disbursements, data)

    @rpc
    def disburse(self, allocation_id: int, data: dict[str, Any]) -> dict[str, Any]:
        return self._write(handlers.disburse, allocation_id, data)

    @rpc
    def reverse_disbursement(self, disbursement_id: int, data: dict[str, Any]) -> dict[str, Any]:
        return self._write(handlers.reverse_disbursement, disbursement_id, data)

    @rpc
    def adjust(self, allocation_id: int, data: dict[str, Any]) -> dict[str, Any]:
        return self._write(handlers.adjust, allocation_id, data)

    @rpc
    def carry_over(self, allocation_id: int, data: dict[str, Any], actor: str | None = None) -> dict[str, Any]:
        return self._write(handlers.carry_over, allocation_id, data, actor)

    @rpc
    def close_allocation(self, allocation_id: int, data: dict[str, Any], actor: str | None = None) -> dict[str, Any]:
        return self._write(handlers.close_allocation, allocation_id, data, actor)

    @rpc
    def reverse_year_end(self, record_id: int, data: dict[str, Any], actor: str | None = None) -> dict[str, Any]:
        return self._write(handlers.reverse_year_end, record_id, data, actor)

    # --- the ledger (reads) -------------------------------------------------------------------------

    @rpc
    def get_allocation(self, allocation_id: int) -> dict[str, Any]:
        with self.db.transaction() as s:
            return views.allocation_detail(s, allocation_id)

    @rpc
    def get_disbursement(self, disbursement_id: int) -> dict[str, Any]:
        with self.db.transaction() as s:
            return views.disbursement_detail(s, disbursement_id)

    @rpc
    def list_allocations(self, filters: dict[str, Any] | None = None, page: int = 1, per_page: int = 50) -> dict:
        with self.db.transaction() as s:
            return views.list_allocations(s, **(filters or {}), page=page, per_page=per_page)

    @rpc
    def funding_status(
        self, plan_id: int, item_code: str, year: int | None = None, unit: str | None = None
    ) -> dict[str, Any]:
        with self.db.transaction() as s:
            return views.funding_status_kept(s, plan_id, item_code, year, unit)

    @rpc
    def funding_tree(self, plan_id: int, year: int | None = None, unit: str | None = None) -> dict[str, Any]:
        with self.db.transaction() as s:
            return views.funding_tree_kept(s, plan_id, year, unit)

    @rpc
    def funding_by_unit(self, unit: str, year: int | None = None) -> dict[str, Any]:
        with self.db.transaction() as s:
            return views.funding_by_unit(s, unit, year)

    # --- capitation (định suất) ---------------------------------------------------------------------

    @rpc
    def set_capitation_fund(self, data: dict[str, Any]) -> dict[str, Any]:
        return self._write(handlers.set_capitation_fund, data)

    @rpc
    def pay_advance(self, data: dict[str, Any]) -> dict[str, Any]:
        return self._write(handlers.pay_advance, data)

    @rpc
    def settle_capitation(self, data: dict[str, Any]) -> dict[str, Any]:
        return self._write(handlers.settle_capitation, data)

    @rpc
    def advance_suggestion(self, facility_code: str, period: str) -> dict[str, Any]:
        with self.db.transaction() as s:
            return views.advance_suggestion(s, facility_code, period)

    @rpc
    def capitation_status(self, facility_code: str, period: str) -> dict[str, Any]:
        with self.db.transaction() as s:
            return views.capitation_status(s, facility_code, period)

    @rpc
    def capitation_year(self, facility_code: str, year: int) -> dict[str, Any]:
        with self.db.transaction() as s:
            return views.capitation_year(s, facility_code, year)

    def _quarter_figures(self, data: dict[str, Any]) -> dict[str, Any]:
        """A quarter's figures are the claims service's, asked by RPC before the write transaction opens."""
        handlers.check_quarter(data)
        return self.claims.reconciliation(data.get("facility_code"), data.get("period"))

    @rpc
    def record_quarterly_report(self, data: dict[str, Any], actor: str | None = None) -> dict[str, Any]:
        return self._write(handlers.record_report, data, self._quarter_figures(data), actor)

    @rpc
    def record_quarterly_result(self, data: dict[str, Any]) -> dict[str, Any]:
        return self._write(handlers.record_result, data, self._quarter_figures(data))

    @rpc
    def record_quarterly_payment(self, data: dict[str, Any]) -> dict[str, Any]:
        return self._write(handlers.record_payment, data)

    @rpc
    def quarter_schedules(self, period: str, facilities: list[str]) -> list[dict[str, Any]]:
        """The dated steps of each facility's quarter (with what is overdue today)."""
        with self.db.transaction() as s:
            return [views.quarter_schedule(s, f, period) for f in facilities]

    @rpc
    def surplus_uses(self) -> list[dict[str, Any]]:
        with self.db.transaction() as s:
            return views.surplus_uses(s)

    @rpc
    def overdue_steps(self, facilities: list[str] | None) -> list[dict[str, Any]]:
        """The settlement steps past due today of every quarter reported or contracted (within `facilities`),
        newest first."""
        with self.db.transaction() as s:
            return views.overdue_steps(s, facilities)

    @rpc
    def settlement_facilities(self, period: str) -> list[str]:
        """The facilities that reported quarter `period` or are contracted for it."""
        with self.db.transaction() as s:
            return views.settlement_facilities(s, period)

    @rpc
    def reported_facilities(self, period: str) -> list[str]:
        """Kept for gateways of the release before `settlement_facilities`, while a rolling upgrade runs both."""
        with self.db.transaction() as s:
            return views.reported_facilities(s, period)

    @reliable_event_handler("claims", "capitation_spend_changed")
    def on_capitation_spend_changed(self, envelope: dict[str, Any]) -> bool:
        fresh = self._write(handlers.record_capitation_spend, envelope)
        if not fresh:
            log.info("capitation_spend_changed %s already handled", envelope.get("event_id"))
        return fresh  # False: counted as a duplicate (ReliableEventHandler)
