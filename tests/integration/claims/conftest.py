"""Claims intake against real SQLite and PostgreSQL databases (no broker needed: the pipeline is called
directly, as the service's event handler calls it)."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from services.claims import handlers, views
from services.claims.intake import Intake
from services.claims.parsing import decode_record, open_claim_file
from services.claims.unit_of_work import ClaimsUnitOfWork
from services.common.blobstore import FilesystemBlobStore
from services.common.db import make_engine, transaction
from services.common.migrate import upgrade
from services.common.periods import Quarter
from services.devtools import claims_generator as generator


class SimulatedCrash(Exception):
    """A worker dying mid-file, raised by `crash_after` (tests of resumption)."""


def crash_after(batches: int) -> Callable[[int, int], None]:
    """An `Intake(after_batch=...)` observer that crashes the run once it has committed `batches` batches."""

    def after_batch(file_id: int, committed: int) -> None:
        if committed >= batches:
            raise SimulatedCrash(file_id)

    return after_batch


def register(uow: ClaimsUnitOfWork, blob: Any, uploaded_by: str, facility_code: str | None = None) -> dict[str, Any]:
    """`register_file` of a stored blob, as the gateway calls it."""
    data = {"sha256": blob.sha256, "size": blob.size, "blob_name": blob.name, "uploaded_by": uploaded_by}
    return handlers.register_file(uow, data | {"facility_code": facility_code})


@dataclass
class ClaimsEnv:
    factory: sessionmaker[Session]
    store: FilesystemBlobStore

    def session(self) -> Any:
        return transaction(self.factory)

    def uow(self) -> ClaimsUnitOfWork:
        return ClaimsUnitOfWork(self.factory)

    def run(self, handler: Callable[..., Any], *args: Any) -> Any:
        """A command handler in its own unit of work, as the service's entrypoints call it."""
        with self.uow() as uow:
            return handler(uow, *args)

    def register(self, data: bytes) -> dict[str, Any]:
        blob = self.store.put(io.BytesIO(data))
        with self.uow() as uow:
            return register(uow, blob, "test")

    def intake(self, **kwargs: Any) -> Intake:
        kwargs.setdefault("batch_size", 50)
        return Intake(self.factory, self.store, **kwargs)

    def load(self, data: bytes, **kwargs: Any) -> dict[str, Any]:
        """Register and process a file; its status (with every issue)."""
        reg = self.register(data)
        self.intake(**kwargs).process(reg["id"])
        return self.status(reg["id"])

    def status(self, file_id: int) -> dict[str, Any]:
        with self.session() as s:
            return views.file_status(s, file_id, limit=100_000)


@pytest.fixture
def claims_env(any_db_url: str, tmp_path: Path) -> Iterator[ClaimsEnv]:
    upgrade("claims", any_db_url)
    engine = make_engine(any_db_url)
    yield ClaimsEnv(sessionmaker(engine, expire_on_commit=False), FilesystemBlobStore(tmp_path / "blobs"))
    engine.dispose()


def generate(**kwargs: Any) -> tuple[bytes, generator.GeneratedSummary]:
    buf = io.BytesIO()
    kwargs.setdefault("year", 2024)
    kwargs.setdefault("months", [7, 8, 9])
    kwargs.setdefault("seed", 1)
    summary = generator.generate(buf, **kwargs)
    return buf.getvalue(), summary


@dataclass
class Registered:
    """A facility-quarter's capitation by the cards' registered facility (MA_DKBD), as a reader of the file sees it."""

    spend: Decimal = Decimal("0.00")  # Σ capitation lines of the cards registered here, wherever treated
    own_here: Decimal = Decimal("0.00")  # of those, treated here
    other_here: Decimal = Decimal("0.00")  # capitation lines treated here of cards registered elsewhere
    claims: int = 0  # accepted claims of the cards registered here


def by_registration(data: bytes, summary: generator.GeneratedSummary) -> dict[tuple[str, str], Registered]:
    """(facility, "YYYY-Qn") -> its capitation by registration, from the generated file read again record by
    record with the pure reader (not the intake): the first card's MA_DKBD names the fund, none the treating
    facility. Only the records the generator expects accepted count."""
    out: dict[tuple[str, str], Registered] = {}
    reader = open_claim_file(io.BytesIO(data))
    for raw in reader:
        if summary.fault_index.get(raw.index) in generator.CRITICAL_FAULTS:
            continue
        claim, _ = decode_record(raw, reader.header)
        assert claim is not None and claim.nam_qt and claim.thang_qt and claim.ma_cskcb
        period = str(Quarter.of_month(claim.nam_qt, claim.thang_qt))
        first = (claim.ma_dkbd or "").split(";")[0].strip()
        registered = first or claim.ma_cskcb
        cap = sum((ln.t_bhtt or Decimal(0) for ln in claim.lines if ln.ma_pttt == "2"), Decimal("0.00"))
        fund = out.setdefault((registered, period), Registered())
        fund.spend += cap
        fund.claims += 1
        if registered == claim.ma_cskcb:
            fund.own_here += cap
        else:
            out.setdefault((claim.ma_cskcb, period), Registered()).other_here += cap
    return out
