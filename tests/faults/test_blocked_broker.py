"""A broker that blocks publishers (a memory or disk alarm) must not hold a retried event forever.

When a handler meets a passing outage, `ReliableEventHandler._retry_later` puts a copy of the event back on its
queue with publisher confirms. Under a resource alarm RabbitMQ stops reading from publishing connections, so
the confirm never comes; the copy's publish is bounded, and the original goes back on the queue instead. The
alarm is raised on the fault suite's private node (a threshold of 0 blocks every publisher) and cleared after."""

from __future__ import annotations

import threading
import time
import uuid
from types import SimpleNamespace
from typing import Any

from kombu import Connection, Queue

from services.common.messaging import PUT_BACK_SECONDS, RETRY_HEADER, ReliableEventHandler
from tests.faults.infra import PrivateRabbit


class Hands:
    """What the queue consumer does with a message, done for real on the message's own channel."""

    def __init__(self) -> None:
        self.done: list[str] = []

    def ack_message(self, message: Any) -> None:
        message.ack()
        self.done.append("ack")

    def requeue_message(self, message: Any) -> None:
        message.requeue()
        self.done.append("requeue")


def _watermark(node: PrivateRabbit) -> str:
    out = node.ctl("eval", "vm_memory_monitor:get_vm_memory_high_watermark().")
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_a_copy_the_broker_will_not_confirm_leaves_the_event_on_its_queue(private_rabbit: PrivateRabbit) -> None:
    queue = Queue(f"blocked-{uuid.uuid4().hex[:8]}", durable=True, auto_delete=False)
    handler = ReliableEventHandler("claims", "capitation_spend_changed")
    handler.container = SimpleNamespace(config={"AMQP_URI": private_rabbit.uri}, service_name="finance")
    handler.queue = queue
    handler.queue_consumer = hands = Hands()
    event_id = str(uuid.uuid4())
    before = _watermark(private_rabbit)

    with Connection(private_rabbit.uri) as consumer:
        channel = consumer.channel()
        queue.bind(channel).declare()
        consumer.Producer().publish({"event_id": event_id}, exchange="", routing_key=queue.name, message_id=event_id)
        message = queue.bind(channel).get(no_ack=False)
        assert message is not None

        assert private_rabbit.ctl("set_vm_memory_high_watermark", "0").returncode == 0
        try:
            worker = threading.Thread(target=handler._retry_later, args=(message,), daemon=True)
            started = time.monotonic()
            worker.start()
            worker.join(PUT_BACK_SECONDS * 3)
            assert not worker.is_alive(), "the retry waited for a confirm that never comes"
            assert hands.done == ["requeue"]  # not acked: the original stays, as nothing else was confirmed
            assert time.monotonic() - started < PUT_BACK_SECONDS * 2
        finally:
            assert private_rabbit.ctl("set_vm_memory_high_watermark", before).returncode == 0

        # The alarm over, the event is still there to be handled: the original, and perhaps the copy the broker
        # read after all (the consumers' inbox absorbs a second copy of an event id).
        deadline = time.monotonic() + 30
        seen: list[Any] = []
        while time.monotonic() < deadline and not seen:
            got = queue.bind(channel).get(no_ack=True)
            if got is not None:
                seen.append(got)
            else:
                time.sleep(0.2)
        assert seen and seen[0].payload["event_id"] == event_id
        assert RETRY_HEADER not in (seen[0].headers or {})  # the original came back first
        queue.bind(channel).delete()
