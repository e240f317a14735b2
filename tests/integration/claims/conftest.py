"""Claims intake against real SQLite and PostgreSQL databases (no broker needed: the pipeline is called
directly, as the service's event handler calls it)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from services.claims import generator, ledger, queries
from services.claims.intake import Intake
from services.common.blobstore import FilesystemBlobStore
from services.common.db import make_engine, transaction
from services.common.migrate import upgrade


@dataclass
class ClaimsEnv:
    factory: sessionmaker[Session]
    store: FilesystemBlobStore

    def session(self) -> Any:
        return transaction(self.factory)

    def register(self, data: bytes) -> dict[str, Any]:
        blob = self.store.put(io.BytesIO(data))
        with self.session() as s:
            return ledger.register_file(s, blob.sha256, blob.size, blob.name, "test")

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
            return queries.file_status(s, file_id, limit=100_000)


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
