"""Transactional outbox and inbox: exactly-once effects on at-least-once AMQP.

A service writes its events into its own `outbox` table in the same transaction as the business change;
a relay publishes them with publisher confirms and only then marks them sent (a crash in between
re-publishes, which consumers absorb). Consumers record each handled `event_id` in their `inbox` table
in the same transaction as the effect, under a primary key, so a redelivery changes nothing.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Integer, String, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, declared_attr, mapped_column

from services.common import contracts, logs
from services.common.db import BigId, Instant, write_lock_now

log = logging.getLogger(__name__)


def utcnow() -> datetime:
    return datetime.now(UTC)


class OutboxMixin:
    """Declare `class Outbox(OutboxMixin, Base)` in each publishing service's models."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    event_type: Mapped[str] = mapped_column(String(80))
    version: Mapped[int] = mapped_column(Integer)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    correlation_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(Instant, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(Instant, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)


class InboxMixin:
    """Declare `class Inbox(InboxMixin, Base)` in each consuming service's models."""

    __tablename__ = "inbox"

    event_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(80))

    @declared_attr
    def handled_at(cls) -> Mapped[datetime]:  # noqa: N805
        return mapped_column(Instant, default=utcnow)


def record_event(
    session: Session, outbox_model: type, event_type: str, data: dict[str, Any], correlation_id: str | None = None
) -> str:
    """Validate `data` against the event's versioned schema and queue it in the outbox. Returns the event id."""
    schema, version = contracts.event_schema(event_type)
    clean = schema.dump(schema.load(data))
    event_id = str(uuid.uuid4())
    session.add(
        outbox_model(
            event_id=event_id,
            event_type=event_type,
            version=version,
            payload=clean,
            # The request's id travels on with the event unless the caller names another one.
            correlation_id=correlation_id or logs.correlation_id.get(),
            created_at=utcnow(),
        )
    )
    return event_id


def claim_once(session: Session, inbox_model: type, event_id: str, event_type: str) -> bool:
    """Mark an event handled inside the caller's transaction. False if it was handled before (a redelivery)."""
    # On SQLite the SAVEPOINT below must be inside a transaction: otherwise its RELEASE would commit the inbox row
    # on its own and a handler failing after it would leave its event "handled" (a replayed dead letter dropped).
    write_lock_now(session)
    if session.get(inbox_model, event_id) is not None:
        return False
    try:
        with session.begin_nested():
            session.add(inbox_model(event_id=event_id, event_type=event_type, handled_at=utcnow()))
    except IntegrityError:
        # A competing consumer handled the same delivery at the same moment.
        return False
    return True


def pending(session: Session, outbox_model: type, limit: int) -> list[Any]:
    stmt = select(outbox_model).where(outbox_model.sent_at.is_(None)).order_by(outbox_model.id).limit(limit)
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        # Replicas relay side by side without publishing the same row at the same time.
        stmt = stmt.with_for_update(skip_locked=True)
    return list(session.scalars(stmt))


def backlog(session: Session, outbox_model: type) -> tuple[int, float]:
    """(unsent rows, age in seconds of the oldest unsent row) for the metrics."""
    count, oldest = session.execute(
        select(func.count(), func.min(outbox_model.created_at)).where(outbox_model.sent_at.is_(None))
    ).one()
    if not oldest:
        return 0, 0.0
    return int(count), max(0.0, (utcnow() - oldest).total_seconds())


def mark_sent(session: Session, outbox_model: type, ids: list[int]) -> None:
    if ids:
        session.execute(update(outbox_model).where(outbox_model.id.in_(ids)).values(sent_at=utcnow()))


def envelope(row: Any, source: str) -> dict[str, Any]:
    """The message body every event carries: nameko events have no message id, so we add ours."""
    return {
        "event_id": row.event_id,
        "event_type": row.event_type,
        "version": row.version,
        "source": source,
        "occurred_at": row.created_at.isoformat(),
        "correlation_id": row.correlation_id,
        "data": row.payload,
    }
