"""Finance service entrypoints (nameko). Thin: each method opens a unit of work and calls the domain."""

from __future__ import annotations

import logging
from typing import Any

from nameko.rpc import RpcProxy, rpc

from services.common.business_metrics import BusinessMetrics
from services.common.dlq import QueueDepths
from services.common.messaging import Database, OutboxRelay, reliable_event_handler
from services.common.metrics import EntrypointMetrics
from services.finance import figures, ledger, queries
from services.finance.models import Outbox

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
    # A quarter's figures are the claims service's (by RPC, asked before the write transaction opens).
    claims = RpcProxy("claims")

    # --- plans -------------------------------------------------------------------------------------

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

    @rpc
    def list_sources(self) -> list[dict[str, Any]]:
        return queries.list_sources()

    # --- the ledger (writes) ------------------------------------------------------------------------

    def _write(self, command: Any, *args: Any) -> dict[str, Any]:
        with self.db.transaction() as s:
            result = command(s, *args, correlation_id=self.db.correlation_id)
        self.relay()
        return result

    @rpc
    def create_allocation(self, data: dict[str, Any]) -> dict[str, Any]:
        return self._write(ledger.make_allocation, data)

    @rpc
    def disburse(self, allocation_id: int, data: dict[str, Any]) -> dict[str, Any]:
        return self._write(ledger.disburse, allocation_id, data)

    @rpc
    def reverse_disbursement(self, disbursement_id: int, data: dict[str, Any]) -> dict[str, Any]:
        return self._write(ledger.reverse_disbursement, disbursement_id, data)

    @rpc
    def adjust(self, allocation_id: int, data: dict[str, Any]) -> dict[str, Any]:
        return self._write(ledger.adjust, allocation_id, data)

    # --- the ledger (reads) -------------------------------------------------------------------------

    @rpc
    def get_allocation(self, allocation_id: int) -> dict[str, Any]:
        with self.db.transaction() as s:
            return queries.allocation_detail(s, allocation_id)

    @rpc
    def get_disbursement(self, disbursement_id: int) -> dict[str, Any]:
        with self.db.transaction() as s:
            return queries.disbursement_detail(s, disbursement_id)

    @rpc
    def list_allocations(self, filters: dict[str, Any] | None = None, page: int = 1, per_page: int = 50) -> dict:
        with self.db.transaction() as s:
            return queries.list_allocations(s, **(filters or {}), page=page, per_page=per_page)

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
    def funding_by_unit(self, unit: str, year: int | None = None) -> dict[str, Any]:
        with self.db.transaction() as s:
            return queries.funding_by_unit(s, unit, year)

    # --- capitation (định suất) ---------------------------------------------------------------------

    @rpc
    def set_capitation_fund(self, data: dict[str, Any]) -> dict[str, Any]:
        return self._write(ledger.set_capitation_fund, data)

    @rpc
    def pay_advance(self, data: dict[str, Any]) -> dict[str, Any]:
        return self._write(ledger.pay_advance, data)

    @rpc
    def settle_capitation(self, data: dict[str, Any]) -> dict[str, Any]:
        return self._write(ledger.settle_capitation, data)

    @rpc
    def advance_suggestion(self, facility_code: str, period: str) -> dict[str, Any]:
        with self.db.transaction() as s:
            return ledger.advance_suggestion(s, facility_code, period)

    @rpc
    def capitation_status(self, facility_code: str, period: str) -> dict[str, Any]:
        with self.db.transaction() as s:
            return queries.capitation_status(s, facility_code, period)

    def _quarter_figures(self, data: dict[str, Any]) -> dict[str, Any]:
        facility, period = data.get("facility_code"), data.get("period")
        ledger.domain.parse_facility(facility)
        ledger.domain.parse_quarter(period)
        return self.claims.reconciliation(facility, period)

    @rpc
    def record_quarterly_report(self, data: dict[str, Any], actor: str | None = None) -> dict[str, Any]:
        figures = self._quarter_figures(data)
        with self.db.transaction() as s:
            result = ledger.record_report(s, data, figures, actor, correlation_id=self.db.correlation_id)
        self.relay()
        return result

    @rpc
    def record_quarterly_result(self, data: dict[str, Any]) -> dict[str, Any]:
        figures = self._quarter_figures(data)
        with self.db.transaction() as s:
            result = ledger.record_result(s, data, figures, correlation_id=self.db.correlation_id)
        self.relay()
        return result

    @rpc
    def record_quarterly_payment(self, data: dict[str, Any]) -> dict[str, Any]:
        return self._write(ledger.record_payment, data)

    @rpc
    def quarter_schedules(self, period: str, facilities: list[str]) -> list[dict[str, Any]]:
        """The dated steps of each facility's quarter (with what is overdue today)."""
        with self.db.transaction() as s:
            return [ledger.quarter_schedule(s, f, period) for f in facilities]

    @rpc
    def surplus_uses(self) -> list[dict[str, Any]]:
        with self.db.transaction() as s:
            return queries.surplus_uses(s)

    @rpc
    def reported_facilities(self, period: str) -> list[str]:
        with self.db.transaction() as s:
            return ledger.facilities_with_reports(s, period)

    @reliable_event_handler("claims", "capitation_spend_changed")
    def on_capitation_spend_changed(self, envelope: dict[str, Any]) -> bool:
        with self.db.transaction() as s:
            fresh = ledger.record_capitation_spend(s, envelope)
        if not fresh:
            log.info("capitation_spend_changed %s already handled", envelope.get("event_id"))
        return fresh  # False: counted as a duplicate (ReliableEventHandler)
