"""The dead-letter queue: where messages that failed their handler wait for a person (`ytcs dlq`).

A handler that fails for a reason other than a passing outage rejects its message; RabbitMQ moves it, with an
`x-death` header naming the queue it came from, to `ytcs.dead-letters`. Listing looks without taking; replay
sends a message back to the very queue it died in (not to the exchange, which would reach every consumer);
discard removes it for good. Every replay and discard is appended, with who and why and the whole message, to
the audit log `dead-letters.log` (JSON lines) in the data folder (`YTCS_VAR`, or `YTCS_DLQ_LOG`), so a
discarded event can still be read, and republished by hand, afterwards.
"""

from __future__ import annotations

import getpass
import json
import logging
import os
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kombu import Connection
from marshmallow import ValidationError
from nameko.extensions import DependencyProvider
from prometheus_client import Gauge

from services.common import config, contracts
from services.common.messaging import DLQ_NAME, dead_letter_queue

log = logging.getLogger(__name__)


@dataclass
class DeadLetter:
    delivery_tag: int
    event_id: str | None
    event_type: str | None
    queue: str | None  # where it died
    reason: str | None  # rejected | delivery_limit | expired
    count: int
    body: Any
    died_at: str | None = None
    headers: dict[str, Any] = field(default_factory=dict)


def _describe(message: Any) -> DeadLetter:
    deaths = (message.headers or {}).get("x-death") or [{}]
    first = deaths[0]
    try:
        body = message.decode()
    except Exception:  # noqa: BLE001 - show undecodable bodies as they are
        body = message.body if isinstance(message.body, str) else repr(message.body)
    event_id = body.get("event_id") if isinstance(body, dict) else None
    event_type = body.get("event_type") if isinstance(body, dict) else None
    died = first.get("time")
    return DeadLetter(
        delivery_tag=message.delivery_tag,
        event_id=event_id or message.properties.get("message_id"),
        event_type=event_type,
        queue=first.get("queue"),
        reason=first.get("reason"),
        count=int(first.get("count", 1)),
        body=body,
        died_at=died.isoformat() if isinstance(died, datetime) else (str(died) if died else None),
        headers={k: _plain(v) for k, v in (message.headers or {}).items()},
    )


def _plain(value: Any) -> Any:
    """Header values as JSON-able values (x-death carries datetimes and nested tables)."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def _drain(conn: Connection, limit: int) -> list[Any]:
    channel = conn.channel()
    queue = dead_letter_queue()(channel)
    queue.declare()
    messages = []
    while len(messages) < limit:
        message = queue.get(no_ack=False)
        if message is None:
            break
        messages.append(message)
    return messages


def list_dead_letters(amqp_uri: str, limit: int = 1000) -> list[DeadLetter]:
    with Connection(amqp_uri) as conn:
        messages = _drain(conn, limit)
        out = [_describe(m) for m in messages]
        for m in messages:
            m.requeue()  # looking is not taking
    return out


def find(amqp_uri: str, event_id: str, limit: int = 1000) -> DeadLetter | None:
    """The dead letter with this event id (or AMQP message id), if one waits."""
    return next((d for d in list_dead_letters(amqp_uri, limit) if d.event_id == event_id), None)


def audit_log_path() -> Path:
    return Path(os.environ.get("YTCS_DLQ_LOG") or config.var_dir() / "dead-letters.log")


def _audit(action: str, letter: DeadLetter, by: str, reason: str, **extra: Any) -> None:
    entry = {
        "at": datetime.now(UTC).isoformat(),
        "action": action,
        "by": by,
        "reason": reason,
        "event_id": letter.event_id,
        "event_type": letter.event_type,
        "queue": letter.queue,
        "death_reason": letter.reason,
        "deaths": letter.count,
        "body": letter.body,
        **extra,
    }
    path = audit_log_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as f:  # append-only: a line per decision, never rewritten
        f.write(json.dumps(entry, ensure_ascii=False, default=str) + "\n")
        f.flush()
        os.fsync(f.fileno())


def audit_entries(path: Path | None = None) -> list[dict[str, Any]]:
    path = path or audit_log_path()
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def fixed_body(letter: DeadLetter, data: dict[str, Any]) -> dict[str, Any]:
    """The envelope with its `data` replaced, validated against the event's contract. The event id stays, so
    the consumer's inbox still absorbs it if the original was handled after all."""
    if not isinstance(letter.body, dict) or not letter.event_type:
        raise ValueError("only an event envelope (JSON with event_type) can be fixed")
    schema, version = contracts.event_schema(letter.event_type)
    try:
        clean = schema.dump(schema.load(data))
    except ValidationError as exc:  # names the fields still wrong
        raise ValueError(f"the fixed data does not meet {letter.event_type} v{version}: {exc.messages}") from exc
    return {**letter.body, "version": version, "data": clean}


def replay(
    amqp_uri: str,
    event_ids: set[str] | None = None,
    limit: int = 1000,
    *,
    data: dict[str, Any] | None = None,
    by: str | None = None,
    reason: str = "replay",
) -> list[DeadLetter]:
    """Send dead letters (all, or those with the given event ids) back to the queue each died in.

    With `data` (one event id only), the envelope's data is replaced by it first (see `fixed_body`). The
    message leaves the dead-letter queue only after the broker confirmed the republished copy."""
    if data is not None and (event_ids is None or len(event_ids) != 1):
        raise ValueError("fixed data applies to exactly one event id")
    who = by or getpass.getuser()
    replayed: list[DeadLetter] = []
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as conn:
        producer = conn.Producer(serializer="json")
        messages = _drain(conn, limit)
        try:
            for m in messages:
                letter = _describe(m)
                if (event_ids is not None and letter.event_id not in event_ids) or not letter.queue:
                    continue
                headers = {k: v for k, v in (m.headers or {}).items() if not k.startswith("x-")}
                common = {
                    "exchange": "",
                    "routing_key": letter.queue,
                    "headers": headers,
                    "message_id": m.properties.get("message_id"),
                    "delivery_mode": 2,
                    "retry": True,
                }
                extra: dict[str, Any] = {}
                if data is not None:
                    body = fixed_body(letter, data)
                    producer.publish(body, serializer="json", **common)
                    extra = {"fixed_data": body["data"]}
                else:
                    producer.publish(m.body, content_type=m.content_type, content_encoding=m.content_encoding, **common)
                _audit("replay", letter, who, reason, **extra)
                m.ack()
                replayed.append(letter)
        finally:
            for m in messages:
                if not m.acknowledged:
                    m.requeue()
    return replayed


def discard(amqp_uri: str, event_ids: set[str], by: str | None, reason: str, limit: int = 1000) -> list[DeadLetter]:
    """Remove the named dead letters for good, each recorded first (who, why, the whole message) in the log."""
    if not reason.strip():
        raise ValueError("a reason is required to discard a dead letter")
    who = by or getpass.getuser()
    gone: list[DeadLetter] = []
    with Connection(amqp_uri) as conn:
        messages = _drain(conn, limit)
        try:
            for m in messages:
                letter = _describe(m)
                if letter.event_id in event_ids:
                    _audit("discard", letter, who, reason)
                    m.ack()
                    gone.append(letter)
        finally:
            for m in messages:
                if not m.acknowledged:
                    m.requeue()
    return gone


def format_letters(letters: list[DeadLetter]) -> str:
    if not letters:
        return f"{DLQ_NAME}: trống (no dead letters)"
    rows = [f"{DLQ_NAME}: {len(letters)} message(s)"]
    for d in letters:
        rows.append(
            f"- {d.event_type or '?'} event_id={d.event_id or '?'} from={d.queue or '?'} reason={d.reason or '?'} "
            f"deaths={d.count} died_at={d.died_at or '?'} "
            f"data={json.dumps(d.body.get('data') if isinstance(d.body, dict) else d.body, ensure_ascii=False)[:200]}"
        )
    return "\n".join(rows)


def format_letter(letter: DeadLetter) -> str:
    """Everything about one dead letter, as JSON, for `ytcs dlq show`."""
    view = asdict(letter)
    view.pop("delivery_tag")
    return json.dumps(view, ensure_ascii=False, indent=2, default=str)


# --- queue depths, from the services themselves ---------------------------------------------------

QUEUE_MESSAGES = Gauge(
    "ytcs_queue_messages",
    "Messages ready in a queue: the consuming service's event queues and ytcs.dead-letters",
    ["queue"],
    multiprocess_mode="max",
)


class QueueDepths(DependencyProvider):
    """Every `interval` seconds, how many messages wait in this service's event queues and in the dead-letter
    queue (a passive declare each: no management API or broker plugin needed). Every consuming replica reports
    the dead-letter queue; dashboards and the alert take `max by (queue)`."""

    def __init__(self, interval: float = 5.0) -> None:
        self.interval = interval
        self._running = False

    def start(self) -> None:
        from services.common.messaging import ReliableEventHandler

        own = {e.queue.name for e in self.container.entrypoints if isinstance(e, ReliableEventHandler)}
        self.queues = [DLQ_NAME, *sorted(own)]
        self._running = True
        self.container.spawn_managed_thread(self._loop)

    def stop(self) -> None:
        self._running = False

    def _loop(self) -> None:
        import eventlet

        while self._running:
            try:
                with Connection(self.container.config["AMQP_URI"]) as conn:
                    channel = conn.default_channel
                    for name in self.queues:
                        QUEUE_MESSAGES.labels(name).set(channel.queue_declare(name, passive=True).message_count)
            except Exception:  # noqa: BLE001 - the broker away: the gauges keep their last value, up says the rest
                log.warning("queue depths could not be read", exc_info=True)
            eventlet.sleep(self.interval)

    def get_dependency(self, worker_ctx: Any) -> None:
        return None
