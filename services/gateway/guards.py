"""One command at a time per finance allocation, across the gateway's workers and replicas, where a decision
needs both services.

Finance keeps an allocation covering the project capital linked to it (`below_linked_capital`), with the sum
the gateway asked investment for; investment refuses a link past the allocation's room (`exceeds_allocation`),
with the room the gateway asked finance for. Each service locks only its own rows, so a reduction and a link
sent at the same instant could each pass against the other's figure as it was before. The gateway is where
both kinds of command are assembled: it holds the allocation's guard from asking the other service until the
command is answered, so the second one asks after the first is recorded.

PostgreSQL (the gateway database every replica shares): a transaction-scoped advisory lock per allocation.
SQLite (one machine): a file lock per stripe of allocation ids under YTCS_VAR, so the gateway's own writes
(sessions, keys) do not wait on it. Waiting longer than `wait_seconds` is answered 503 `allocation_busy`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from pathlib import Path

from filelock import FileLock, Timeout
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from services.common.errors import DomainError

GUARD_SPACE = 0x4C4E4B  # the advisory-lock space of links to a finance allocation ("LNK"), in the gateway's database
STRIPES = 64  # SQLite: lock files, each shared by the allocations whose id has the same remainder
LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL: lock_timeout expired


def busy(allocation_id: int) -> DomainError:
    err = DomainError.one(
        "allocation_busy",
        f"Phân bổ số {allocation_id} đang được ghi bởi một thao tác khác (liên quan vốn dự án). Vui lòng thử lại.",
        status=503,
    )
    err.retry_after = 2  # type: ignore[attr-defined]  # errors.failure sends it as Retry-After
    return err


class AllocationGuards:
    def __init__(self, engine: Engine, lock_dir: Path, wait_seconds: float = 10.0) -> None:
        self.engine = engine
        self.lock_dir = lock_dir
        self.wait_seconds = wait_seconds

    @contextlib.contextmanager
    def hold(self, allocation_ids: Iterable[int | None]) -> Iterator[None]:
        """The guards of these allocations (None: no allocation) until the block ends, taken in id order."""
        ids = sorted({int(i) for i in allocation_ids if i is not None})
        if not ids:
            yield
        elif self.engine.dialect.name == "postgresql":
            with self._advisory(ids):
                yield
        else:
            with self._files(ids):
                yield

    @contextlib.contextmanager
    def _advisory(self, ids: list[int]) -> Iterator[None]:
        with self.engine.connect() as conn, conn.begin():  # the locks end with this transaction, whatever happens
            conn.execute(text(f"SET LOCAL lock_timeout = {int(self.wait_seconds * 1000)}"))
            for allocation_id in ids:
                try:
                    conn.execute(
                        text("SELECT pg_advisory_xact_lock(:space, CAST(:id % 2147483647 AS integer))"),
                        {"space": GUARD_SPACE, "id": allocation_id},
                    )
                except OperationalError as exc:
                    if getattr(exc.orig, "pgcode", None) == LOCK_NOT_AVAILABLE:
                        raise busy(allocation_id) from None
                    raise
            yield

    @contextlib.contextmanager
    def _files(self, ids: list[int]) -> Iterator[None]:
        self.lock_dir.mkdir(parents=True, exist_ok=True)
        by_stripe = {i % STRIPES: i for i in ids}
        with contextlib.ExitStack() as held:
            for stripe in sorted(by_stripe):
                # thread_local=False: a gthread worker's request threads exclude each other like two processes do
                lock = FileLock(self.lock_dir / f"allocation-{stripe:02d}.lock", thread_local=False)
                try:
                    lock.acquire(timeout=self.wait_seconds)
                except Timeout:
                    raise busy(by_stripe[stripe]) from None
                held.callback(lock.release)
            yield
