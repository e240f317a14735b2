"""Claims intake against real SQLite and PostgreSQL databases (no broker needed: the pipeline is called
directly, as the service's event handler calls it)."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from services.claims import handlers, views
from services.claims.intake import Intake
from services.claims.unit_of_work import ClaimsUnitOfWork
from services.common.blobstore import FilesystemBlobStore
from services.common.db import make_engine, transaction
from services.common.migrate import upgrade
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
