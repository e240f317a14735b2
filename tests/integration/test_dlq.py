"""Dead letters on the real broker: a rejected message is parked, listed without being taken, and replayed
to the queue it died in."""

from __future__ import annotations

import uuid

from kombu import Connection, Exchange, Queue

from services.common import dlq
from services.common.messaging import _queue_args
from tests.support.infra import get_message


def test_rejected_message_is_parked_listed_and_replayed(amqp_uri):
    exchange = Exchange("test.events", type="topic", durable=True)
    queue = Queue(
        f"evt-test-{uuid.uuid4().hex[:6]}",
        exchange=exchange,
        routing_key="something_happened",
        durable=True,
        queue_arguments=_queue_args(),
    )
    event_id = str(uuid.uuid4())
    with Connection(amqp_uri) as conn:
        channel = conn.channel()
        dlq.dead_letter_queue()(channel).declare()
        queue(channel).declare()
        conn.Producer(serializer="json").publish(
            {"event_id": event_id, "event_type": "something_happened", "data": {"n": 1}},
            exchange=exchange,
            routing_key="something_happened",
            declare=[exchange],
        )
        message = get_message(queue(channel))
        assert message is not None
        message.reject(requeue=False)  # what ReliableEventHandler does with a poison message

    letters = [d for d in dlq.list_dead_letters(amqp_uri) if d.event_id == event_id]
    assert len(letters) == 1 and letters[0].queue == queue.name and letters[0].reason == "rejected"
    assert [d.event_id for d in dlq.list_dead_letters(amqp_uri)].count(event_id) == 1  # listing took nothing

    replayed = dlq.replay(amqp_uri, {event_id})
    assert [d.event_id for d in replayed] == [event_id]
    assert event_id not in [d.event_id for d in dlq.list_dead_letters(amqp_uri)]
    with Connection(amqp_uri) as conn:
        back = get_message(queue(conn.channel()), no_ack=True)
        assert back is not None and back.decode()["event_id"] == event_id
        queue(conn.channel()).delete()
    assert "something_happened" in dlq.format_letters(replayed)
