"""Claims service entrypoints (nameko). Thin: decode the call, open a unit of work (commands) or a session
(queries), call one function of handlers.py or views.py, return its dict.

These are the claims RPCs and the small event handlers, answered at once. The intake (checking claim files and
loading them in chunks) runs in processes of its own, worker.py (`runner claims-intake`): the same service to
the broker, on the same database, so `register_file` here queues `file_received` through the outbox and a worker
takes it; this process consumes neither `file_received` nor `file_chunk_ready`, and its hub never waits behind a
chunk (issue 19).
"""

from __future__ import annotations

import logging
from typing import Any

from nameko.rpc import rpc
from nameko.timer import timer

from services.claims import blobsweep, figures, handlers, reasons, views
from services.claims import metrics as claim_metrics
from services.claims.models import Outbox
from services.claims.unit_of_work import ClaimsUnitOfWork
from services.claims.validation.rulebook import rulebook
from services.common.blobstore import default_store
from services.common.business_metrics import BusinessMetrics
from services.common.dlq import QueueDepths
from services.common.messaging import Database, OutboxRelay, reliable_event_handler
from services.common.metrics import EntrypointMetrics

log = logging.getLogger(__name__)


class Service:
    name = "claims"

    db = Database()
    relay = OutboxRelay(Outbox)
    metrics = EntrypointMetrics()
    # Capitation fund and spend per facility-quarter for the wall, recomputed only when claims data changed, at
    # most once per 10 s while files stream in (a pass is one reconciliation per facility-quarter).
    business = BusinessMetrics(figures.business_figures, stamp=views.data_version)
    queues = QueueDepths()  # its event queues and ytcs.dead-letters, as ytcs_queue_messages

    @rpc
    def health(self) -> dict[str, Any]:
        with self.db.transaction() as s:
            return views.health(s)

    # --- files ------------------------------------------------------------------------------------

    @rpc
    def register_file(
        self,
        sha256: str,
        size: int,
        blob_name: str,
        uploaded_by: str,
        facility_code: str | None = None,
        filename: str | None = None,
    ) -> dict[str, Any]:
        data = {
            "sha256": sha256,
            "size": size,
            "blob_name": blob_name,
            "uploaded_by": uploaded_by,
            "facility_code": facility_code,
            "filename": filename,
        }
        # Not keyed (`run`): the same bytes are already one file (by sha256), answered as a duplicate.
        with self.db.unit_of_work(ClaimsUnitOfWork) as uow:
            out = handlers.register_file(uow, data)
        claim_metrics.file_registered(out["duplicate"])
        self.relay()  # publish file_received now rather than at the relay's next tick: an intake worker takes it
        return out

    @timer(interval=blobsweep.sweep_interval())
    def expire_blobs(self) -> None:
        """Refused files' bytes, never-registered blobs and cut uploads are deleted after a stated time."""
        removed = blobsweep.sweep(self.db.factory, default_store())
        if any(removed.values()):
            log.info("claim blobs expired: %s", removed)

    @rpc
    def file_status(
        self, file_id: int, limit: int = 100, offset: int = 0, code: str | None = None, severity: str | None = None
    ) -> dict[str, Any]:
        with self.db.transaction() as s:
            return views.file_status(s, file_id, limit, offset, code, severity)

    @rpc
    def file_issues(self, file_id: int, after_id: int = 0, limit: int = 1000) -> dict[str, Any]:
        with self.db.transaction() as s:
            return views.file_issues_after(s, file_id, after_id, limit)

    @rpc
    def list_files(
        self, page: int = 1, per_page: int = 50, facilities: list[str] | None = None, status: str | None = None
    ) -> dict[str, Any]:
        with self.db.transaction() as s:
            return views.list_files(s, page, per_page, facilities, status)

    @rpc
    def facilities_seen(self, registered: list[str]) -> list[dict[str, Any]]:
        """MA_CSKCB named by uploaded files but not in the gateway's register (`registered`), for mapping."""
        with self.db.transaction() as s:
            return views.facilities_seen(s, list(registered))

    # --- claims -----------------------------------------------------------------------------------

    @rpc
    def list_claims(self, personal: bool, facilities: list[str] | None = None, **filters: Any) -> dict[str, Any]:
        with self.db.transaction() as s:
            return views.list_claims(s, personal=personal, facilities=facilities, **filters)

    @rpc
    def get_claim(
        self, facility: str, ma_lk: str, personal: bool, facilities: list[str] | None = None
    ) -> dict[str, Any]:
        with self.db.transaction() as s:
            return views.get_claim(s, facility, ma_lk, personal=personal, facilities=facilities)

    # --- assessments (giám định) ------------------------------------------------------------------

    @rpc
    def record_assessments(self, facility_code: str, items: list[dict[str, Any]], assessed_by: str) -> dict[str, Any]:
        data = {"facility_code": facility_code, "items": items}
        out = self.db.unit_of_work(ClaimsUnitOfWork).run(handlers.record_assessments, data, assessed_by)
        self.relay()
        return out

    @rpc
    def rules(self) -> dict[str, Any]:
        """The validation rulebook (services/claims/validation/rulebook.py): codes, and rules by table and field."""
        return rulebook()

    @rpc
    def reasons(self) -> list[dict[str, Any]]:
        return reasons.listing()

    # --- reconciliation ---------------------------------------------------------------------------

    @rpc
    def reconciliation(self, facility: str | None, period: str, facilities: list[str] | None = None) -> dict[str, Any]:
        with self.db.transaction() as s:
            return views.reconciliation(s, facility, period, facilities)

    @rpc
    def quarters_on_record(self, facilities: list[str] | None = None) -> list[dict[str, str]]:
        with self.db.transaction() as s:
            return views.quarters_on_record(s, facilities)

    @rpc
    def capitation_summary(self, facilities: list[str] | None = None, year: int | None = None) -> dict[str, str]:
        with self.db.transaction() as s:
            return views.capitation_summary_cached(s, facilities, year)

    # --- finance's capitation figures (projection) ------------------------------------------------

    @reliable_event_handler("finance", "capitation_fund_set")
    def on_capitation_fund_set(self, body: dict[str, Any]) -> bool:
        with self.db.unit_of_work(ClaimsUnitOfWork) as uow:
            return handlers.record_fund(uow, body)  # False: a redelivery, counted as a duplicate

    @reliable_event_handler("investment", "station_facility_set")
    def on_station_facility_set(self, body: dict[str, Any]) -> bool:
        """A commune station's MA_CSKCB: its claims get the 100 % benefit level of Luật BHYT Điều 22 k1 e."""
        with self.db.unit_of_work(ClaimsUnitOfWork) as uow:
            return handlers.record_station(uow, body)  # False: a redelivery, counted as a duplicate

    @reliable_event_handler("finance", "advance_paid")
    def on_advance_paid(self, body: dict[str, Any]) -> bool:
        with self.db.unit_of_work(ClaimsUnitOfWork) as uow:
            return handlers.record_advance(uow, body)  # False: a redelivery, counted as a duplicate
