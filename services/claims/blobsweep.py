"""Uploaded bytes nobody needs any more are deleted after a stated time, so a refused upload does not stay on
disk for ever (a 50 MB garbage file included).

After `YTCS_FAILED_BLOB_TTL_SECONDS` (default 86,400: one day, long enough for BHXH staff to ask about a
refused file the same day and for any upload in flight to finish), the claims service's timer
(`Service.expire_blobs`, every `YTCS_BLOB_SWEEP_SECONDS`, default 600) removes:

- the blob of a file refused whole (status `failed`: not XML, no envelope, another facility's file…), counted
  from the moment it failed; the file row, its status and its error stay;
- a blob that no file row points to (stored, then refused before registration: an Idempotency-Key reused with
  other bytes, or a gateway that stopped between storing and registering), counted from when it was written;
- a temporary part of an upload cut mid-way (`tmp/*.part`).

Blobs of files being processed or done are never touched.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from services.claims.unit_of_work import ClaimsUnitOfWork
from services.common.blobstore import BlobStore
from services.common.outbox import utcnow

_NAME = re.compile(r"^[0-9a-f]{64}$")


def ttl_seconds() -> float:
    return float(os.environ.get("YTCS_FAILED_BLOB_TTL_SECONDS", "86400"))


def sweep_interval() -> float:
    return float(os.environ.get("YTCS_BLOB_SWEEP_SECONDS", "600"))


def _unlink(path: Path) -> bool:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
        return True
    return False


def sweep(factory: sessionmaker[Session], store: BlobStore, ttl: float | None = None) -> dict[str, int]:
    """Delete what has expired; returns how many of each kind were removed."""
    ttl = ttl_seconds() if ttl is None else ttl
    cutoff = time.time() - ttl
    removed = {"failed": 0, "orphan": 0, "partial": 0}
    with ClaimsUnitOfWork(factory) as uow:
        failed = uow.repo.failed_blobs(utcnow() - timedelta(seconds=ttl))
    for name in failed:
        if _NAME.match(name) and _unlink(store.root / name):
            removed["failed"] += 1
    old = [p.name for p in store.root.iterdir() if _NAME.match(p.name) and _mtime(p) < cutoff]
    with ClaimsUnitOfWork(factory) as uow:
        # A failed file's blob is the first rule's (its own clock); only rows that need their bytes keep them.
        known = uow.repo.blobs_in_use(old)
    for name in old:
        if name not in known and _unlink(store.root / name):
            removed["orphan"] += 1
    for part in store.tmp.glob("*.part"):
        if _mtime(part) < cutoff and _unlink(part):
            removed["partial"] += 1
    return removed


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return float("inf")
