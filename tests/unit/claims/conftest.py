"""Fixtures of the claims entrypoint tests (the RPC service and the intake worker): a migrated SQLite claims
database and the blob store the processes open."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from services.common.blobstore import FilesystemBlobStore
from services.common.db import make_engine
from services.common.migrate import upgrade


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FilesystemBlobStore:
    """The blob store the claims processes open (`default_store()`), in this test's directory."""
    monkeypatch.setenv("YTCS_BLOB_DIR", str(tmp_path / "blobs"))
    return FilesystemBlobStore(tmp_path / "blobs")


@pytest.fixture
def factory(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    url = f"sqlite:///{tmp_path / 'claims.db'}"
    upgrade("claims", url)
    engine = make_engine(url)
    yield sessionmaker(engine, expire_on_commit=False)
    engine.dispose()
