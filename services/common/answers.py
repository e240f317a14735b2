"""A command sent twice is recorded once: each service keeps the answer of every keyed command it committed.

The gateway frees a request's Idempotency-Key when it answers 5xx (a timeout, a service restarting), so that the
same request can be sent again. But the command may have been committed all the same: its reply came back too
late, or it waited in a queue and was recorded just before its deadline (common/unit_of_work.py). Sent again,
it would be recorded twice: two disbursements for one.

So the gateway gives each RPC call of a keyed request a command key (gateway/clients.py: the caller, the
Idempotency-Key, the request and the call), and the service keeps, in the same transaction as the command's
writes, the key's digest with the answer it gave. The same key again is answered with that answer and changes
nothing. The row is taken before the handler runs: on PostgreSQL a second delivery running at the same moment
waits on the key's primary key until the first commits, then reads its answer (READ COMMITTED).

A kept answer lives as long as the gateway keeps an Idempotency-Key (YTCS_IDEMPOTENCY_TTL_HOURS): after that
the gateway may take the same key for a new request, and so may the service.
"""

from __future__ import annotations

import hashlib
import os
from datetime import datetime, timedelta
from typing import Any

from kombu.utils import json as wire
from sqlalchemy import String, Text, delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, declared_attr, mapped_column

from services.common.db import Instant, write_lock_now
from services.common.errors import Conflict
from services.common.outbox import utcnow


def ttl() -> timedelta:
    """How long an Idempotency-Key and its answers are kept (the gateway's and the services' one setting)."""
    return timedelta(hours=int(os.environ.get("YTCS_IDEMPOTENCY_TTL_HOURS", "72")))


class AnswerMixin:
    """Declare `class Answer(AnswerMixin, Base)` in each service that takes commands by RPC."""

    __tablename__ = "command_answers"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the gateway's command key
    answer: Mapped[str | None] = mapped_column(Text)  # as it went on the wire (kombu's JSON)

    @declared_attr
    def created_at(cls) -> Mapped[datetime]:  # noqa: N805
        return mapped_column(Instant, default=utcnow, index=True)


def digest(command_key: str) -> str:
    return hashlib.sha256(command_key.encode("utf-8")).hexdigest()


class Kept:
    """The answer a command gave when it was first recorded."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


def take(session: Session, model: type, command_key: str) -> Kept | None:
    """Inside the command's transaction, before its handler: the kept answer if this command was recorded
    before, else None, the key now held by this transaction (kept with `keep` when the command commits)."""
    write_lock_now(session)  # on SQLite a second delivery waits here, then finds the key
    key = digest(command_key)
    cutoff = utcnow() - ttl()
    row = session.get(model, key)
    if row is not None:
        if row.created_at > cutoff and row.answer is not None:
            return Kept(wire.loads(row.answer))
        session.delete(row)  # older than any key the gateway still holds: a new request
        session.flush()
    try:
        with session.begin_nested():
            session.add(model(key=key, answer=None, created_at=utcnow()))
    except IntegrityError:
        # The same command was being recorded by another worker: it has committed now (we waited on its key).
        row = session.get(model, key, populate_existing=True)
        if row is not None and row.answer is not None:
            return Kept(wire.loads(row.answer))
        raise Conflict.one(
            "request_in_progress", "Yêu cầu với Idempotency-Key này đang được xử lý.", "Idempotency-Key"
        ) from None
    session.execute(delete(model).where(model.created_at < cutoff))  # type: ignore[attr-defined]
    return None


def keep(session: Session, model: type, command_key: str, answer: Any) -> None:
    """The answer of the command whose key `take` holds, in the same transaction as its writes."""
    row = session.get(model, digest(command_key))
    assert row is not None, "keep() without take()"
    row.answer = wire.dumps(answer)

