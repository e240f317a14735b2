"""Stand-ins for the finance, investment and claims services, speaking nameko's RPC wire protocol on the
real broker (a vhost of the test's own): the gateway's fan-out, deadlines and partial answers are tested
against real AMQP, with services that answer, answer late, fail, or are absent, as the test chooses."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from kombu import Connection, Consumer, Exchange, Producer, Queue

RPC_EXCHANGE = Exchange("nameko-rpc", durable=True, type="topic")


class FakeService:
    """Answers `<name>.<method>` calls with `handlers[method](*args, **kwargs)`; `delay` seconds late."""

    def __init__(self, amqp_uri: str, name: str, handlers: dict[str, Callable[..., Any]], delay: float = 0) -> None:
        self.amqp_uri = amqp_uri
        self.name = name
        self.handlers = handlers
        self.delay = delay
        self.calls: list[tuple[str, list, dict]] = []
        self.headers: list[dict[str, Any]] = []  # each call's AMQP headers (nameko's context: correlation id)
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> FakeService:
        self._thread.start()
        assert self._ready.wait(10), "fake service did not start"
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        queue = Queue(
            f"rpc-{self.name}", exchange=RPC_EXCHANGE, routing_key=f"{self.name}.*", durable=False, auto_delete=True
        )
        with Connection(self.amqp_uri) as conn:
            channel = conn.channel()
            producer = Producer(channel, serializer="json")

            def on_message(body: dict, message: Any) -> None:
                method = message.delivery_info["routing_key"].split(".", 1)[1]
                self.calls.append((method, body.get("args", []), body.get("kwargs", {})))
                self.headers.append(dict(message.headers or {}))
                if self.delay:
                    time.sleep(self.delay)
                handler = self.handlers.get(method)
                if handler is None:
                    error = {
                        "exc_type": "MethodNotFound",
                        "exc_path": "nameko.exceptions.MethodNotFound",
                        "exc_args": [method],
                        "value": method,
                    }
                    payload = {"result": None, "error": error}
                else:
                    try:
                        payload = {"result": handler(*body.get("args", []), **body.get("kwargs", {})), "error": None}
                    except Exception as exc:  # noqa: BLE001 - crosses the wire like nameko's own errors
                        # An exception may carry its own wire form (`wire`): a refusal as a service sends it.
                        error = getattr(exc, "wire", None) or {
                            "exc_type": type(exc).__name__,
                            "exc_path": "builtins.x",
                            "exc_args": [str(exc)],
                            "value": str(exc),
                        }
                        payload = {"result": None, "error": error}
                producer.publish(
                    payload,
                    exchange=RPC_EXCHANGE,
                    routing_key=message.properties["reply_to"],
                    correlation_id=message.properties.get("correlation_id"),
                )
                message.ack()

            with Consumer(channel, queues=[queue], callbacks=[on_message], accept=["json"]):
                self._ready.set()
                while not self._stop.is_set():
                    with contextlib.suppress(socket.timeout, TimeoutError):
                        conn.drain_events(timeout=0.2)


@contextlib.contextmanager
def running(*services: FakeService) -> Iterator[None]:
    for s in services:
        s.start()
    try:
        yield
    finally:
        for s in services:
            s.stop()


def figures(allocated: int, disbursed: int, source: str, year: int, code: str = "II.5") -> dict[str, Any]:
    """A funding answer in the services' shape."""
    pair = {"allocated": allocated, "disbursed": disbursed}
    return {
        "code": code,
        "allocated": allocated,
        "disbursed": disbursed,
        "execution_rate": None,
        "by_source": {source: dict(pair)},
        "by_year": {str(year): dict(pair)},
    }
