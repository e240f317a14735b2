"""The dead-letter queue: where messages that failed their handler wait for a person (`ytcs dlq`).

A handler that fails for a reason other than a passing outage rejects its message; RabbitMQ moves it, with an
`x-death` header naming the queue it came from, to `ytcs.dead-letters`. Listing looks without taking; replay
sends a message back to the very queue it died in (not to the exchange, which would reach every consumer).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from kombu import Connection

from services.common.messaging import DLQ_NAME, dead_letter_queue


@dataclass
class DeadLetter:
    delivery_tag: int
    event_id: str | None
    event_type: str | None
    queue: str | None  # where it died
    reason: str | None  # rejected | delivery_limit | expired
    count: int
    body: Any


def _describe(message: Any) -> DeadLetter:
    deaths = (message.headers or {}).get("x-death") or [{}]
    first = deaths[0]
    try:
        body = message.decode()
    except Exception:  # noqa: BLE001 - show undecodable bodies as they are
        body = message.body if isinstance(message.body, str) else repr(message.body)
    event_id = body.get("event_id") if isinstance(body, dict) else None
    event_type = body.get("event_type") if isinstance(body, dict) else None
    return DeadLetter(
        delivery_tag=message.delivery_tag,
        event_id=event_id or message.properties.get("message_id"),
        event_type=event_type,
        queue=first.get("queue"),
        reason=first.get("reason"),
        count=int(first.get("count", 1)),
        body=body,
    )


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


def replay(amqp_uri: str, event_ids: set[str] | None = None, limit: int = 1000) -> list[DeadLetter]:
    """Send dead letters (all, or those with the given event ids) back to the queue each died in."""
    replayed: list[DeadLetter] = []
    with Connection(amqp_uri) as conn:
        producer = conn.Producer(serializer="json")
        messages = _drain(conn, limit)
        for m in messages:
            letter = _describe(m)
            if (event_ids is not None and letter.event_id not in event_ids) or not letter.queue:
                m.requeue()
                continue
            headers = {k: v for k, v in (m.headers or {}).items() if not k.startswith("x-")}
            producer.publish(
                m.body,
                exchange="",
                routing_key=letter.queue,
                headers=headers,
                content_type=m.content_type,
                content_encoding=m.content_encoding,
                message_id=m.properties.get("message_id"),
                delivery_mode=2,
                retry=True,
            )
            m.ack()
            replayed.append(letter)
    return replayed


def format_letters(letters: list[DeadLetter]) -> str:
    if not letters:
        return f"{DLQ_NAME}: trống (no dead letters)"
    rows = [f"{DLQ_NAME}: {len(letters)} message(s)"]
    for d in letters:
        rows.append(
            f"- {d.event_type or '?'} event_id={d.event_id or '?'} from={d.queue or '?'} reason={d.reason or '?'} "
            f"deaths={d.count} data={json.dumps(d.body.get('data') if isinstance(d.body, dict) else d.body)[:200]}"
        )
    return "\n".join(rows)
