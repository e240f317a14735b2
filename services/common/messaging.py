"""Nameko plumbing shared by the services: the database dependency, the outbox relay, reliable event
handlers (dead-lettering instead of dropping, quorum queues for a cluster), named errors over RPC and RPC between
services that gives up in time (`BoundedRpcProxy`).

This is transport code: domain modules never import it.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

import eventlet
from kombu import Exchange, Queue
from nameko.amqp.publish import Publisher
from nameko.events import EventHandler
from nameko.exceptions import deserialize_to_instance
from nameko.extensions import DependencyProvider
from nameko.rpc import Rpc, RpcProxy
from nameko.standalone.events import get_event_exchange
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from services.common import logs, metrics, outbox
from services.common.config import MessagingOptions
from services.common.db import make_engine, transaction
from services.common.errors import SERVICE_NAMES, Conflict, DomainError, Malformed, NotFound, error
from services.common.unit_of_work import UnitOfWork

U = TypeVar("U", bound=UnitOfWork)

log = logging.getLogger(__name__)

# Named refusals cross RPC as themselves, so the gateway can answer 4xx with their codes.
for _kind in (DomainError, NotFound, Conflict, Malformed):
    deserialize_to_instance(_kind)

DLX_NAME = "ytcs.dlx"
DLQ_NAME = "ytcs.dead-letters"


def dead_letter_exchange() -> Exchange:
    return Exchange(DLX_NAME, type="fanout", durable=True)


def dead_letter_queue() -> Queue:
    return Queue(DLQ_NAME, exchange=dead_letter_exchange(), durable=True, queue_arguments=_queue_args(dlx=False))


def _queue_args(dlx: bool = True) -> dict[str, Any]:
    opts = MessagingOptions.from_env()
    args: dict[str, Any] = {}
    if opts.quorum:
        # Quorum queues replicate across a RabbitMQ cluster and count deliveries: a message that keeps
        # crashing its consumer is dead-lettered after `delivery_limit` tries instead of looping forever.
        args["x-queue-type"] = "quorum"
        if dlx:
            args["x-delivery-limit"] = opts.delivery_limit
    if dlx:
        args["x-dead-letter-exchange"] = DLX_NAME
    return args


# --- database -------------------------------------------------------------------------------------


class Database(DependencyProvider):
    """Gives each worker the service's session factory; `with db.transaction() as s:` is a unit of work."""

    engine: Engine
    factory: sessionmaker[Session]

    def setup(self) -> None:
        self.engine = make_engine(self.container.config["DB_URL"])
        self.factory = sessionmaker(self.engine, expire_on_commit=False)
        self._log_tokens: dict[Any, Any] = {}

    def stop(self) -> None:
        self.engine.dispose()

    # Every worker of every service declares Database, so this is where the request's correlation id
    # (RPC context from the gateway, or the `nameko.correlation_id` header of an event) joins the logs.
    def worker_setup(self, worker_ctx: Any) -> None:
        self._log_tokens[worker_ctx] = logs.bind(worker_ctx.data.get("correlation_id"))

    def worker_teardown(self, worker_ctx: Any) -> None:
        token = self._log_tokens.pop(worker_ctx, None)
        if token is not None:
            with contextlib.suppress(ValueError):  # set in another context: nothing of ours to undo
                logs.unbind(token)

    def get_dependency(self, worker_ctx: Any) -> DatabaseAccess:
        return DatabaseAccess(
            self.factory, worker_ctx.data.get("correlation_id"), rpc_deadline(worker_ctx), rpc_command_key(worker_ctx)
        )


def _rpc_context(worker_ctx: Any) -> dict[str, Any]:
    """The caller's context of an RPC call; an event or a timer has none of the gateway's (no caller waits)."""
    return worker_ctx.data if isinstance(worker_ctx.entrypoint, Rpc) else {}


def rpc_deadline(worker_ctx: Any) -> float | None:
    """The caller's deadline of an RPC call (the `deadline` context the gateway sends, wall-clock seconds): its
    units of work commit nothing after it (common/unit_of_work.py). Events have none: they are never late."""
    try:
        return float(_rpc_context(worker_ctx)["deadline"])
    except (KeyError, TypeError, ValueError):
        return None


def rpc_command_key(worker_ctx: Any) -> str | None:
    """The command key of an RPC call (the `command_key` context the gateway sends for a request with an
    Idempotency-Key): a command sent again under it is answered, not recorded again (common/answers.py)."""
    key = _rpc_context(worker_ctx).get("command_key")
    return key if isinstance(key, str) and 0 < len(key) <= 1000 else None


class DatabaseAccess:
    def __init__(
        self,
        factory: sessionmaker[Session],
        correlation_id: str | None,
        deadline: float | None = None,
        command_key: str | None = None,
    ) -> None:
        self.factory = factory
        self.correlation_id = correlation_id
        self.deadline = deadline
        self.command_key = command_key

    def transaction(self):  # noqa: ANN201 - a context manager of Session
        return transaction(self.factory)

    def session(self) -> Session:
        return self.factory()

    def unit_of_work(self, uow_class: type[U]) -> U:
        """A fresh unit of work of the service's own class, carrying the request's correlation id, deadline and
        command key."""
        return uow_class(self.factory, self.correlation_id, self.deadline, self.command_key)


# --- RPC between services -------------------------------------------------------------------------

class BoundedRpcProxy(RpcProxy):
    """nameko's `RpcProxy`, whose calls wait for their reply at most half of `YTCS_RPC_TIMEOUT` (the gateway's own
    wait), then refuse with 503 `service_unavailable` naming the service that did not answer.

    A service asks another inside a command (finance asks claims for a quarter's figures before it writes), and
    nameko's proxy waits for ever. With claims stuck, finance's worker waited with it, the gateway answered 503
    after its own timeout, and when claims answered at last finance wrote what the person had been told was not
    written. Giving up first, and before the write transaction opens, makes the 503 true: nothing was written,
    and the same command can simply be sent again. A reply that comes after is dropped by nameko's reply
    listener (an unknown correlation id)."""

    def setup(self) -> None:
        super().setup()
        self.seconds = MessagingOptions.from_env().rpc_timeout / 2

    def get_dependency(self, worker_ctx: Any) -> BoundedServiceProxy:
        return BoundedServiceProxy(super().get_dependency(worker_ctx), self.target_service, self.seconds)


class BoundedServiceProxy:
    """`proxy.method(*args)` as nameko's service proxy, bounded in time (see `BoundedRpcProxy`)."""

    def __init__(self, proxy: Any, service: str, seconds: float) -> None:
        self._proxy = proxy
        self._service = service
        self.seconds = seconds

    def __getattr__(self, method: str) -> Callable[..., Any]:
        target = getattr(self._proxy, method)

        def call(*args: Any, **kwargs: Any) -> Any:
            reply = target.call_async(*args, **kwargs)
            timer = eventlet.Timeout(self.seconds)
            try:
                return reply.result()
            except eventlet.Timeout as exc:
                if exc is not timer:
                    raise
                log.warning("%s.%s did not answer within %.1f s", self._service, method, self.seconds)
                name = SERVICE_NAMES.get(self._service, self._service)
                raise DomainError([error(
                    "service_unavailable",
                    f"Dịch vụ {name} không trả lời kịp; chưa ghi gì. Vui lòng thử lại sau.",
                    service=self._service,
                )], 503) from None
            finally:
                timer.cancel()

        return call


# --- outbox relay ---------------------------------------------------------------------------------


class OutboxRelay(DependencyProvider):
    """Publishes the service's outbox rows with publisher confirms, then marks them sent.

    Runs as a managed green thread in every replica; on PostgreSQL `FOR UPDATE SKIP LOCKED` keeps two
    replicas from publishing the same row at once, and a row published twice (crash between confirm and
    commit) is absorbed by the consumers' inbox.
    """

    def __init__(self, outbox_model: type, interval: float = 0.2, batch: int = 500) -> None:
        self.outbox_model = outbox_model
        self.interval = interval
        self.batch = batch
        self._wake = eventlet.event.Event()
        self._running = False

    def setup(self) -> None:
        cfg = self.container.config
        self.service = self.container.service_name
        self.exchange = get_event_exchange(self.service, cfg)
        self.publisher = Publisher(cfg["AMQP_URI"], declare=[self.exchange], use_confirms=True)
        self.engine = make_engine(cfg["DB_URL"])
        self.factory = sessionmaker(self.engine, expire_on_commit=False)
        metrics.OUTBOX_PUBLISH_FAILURES.labels(self.service)  # at 0 from the start: increase() sees the first

    def start(self) -> None:
        self._running = True
        self.container.spawn_managed_thread(self._loop)

    def stop(self) -> None:
        self._running = False
        self.wake()

    def get_dependency(self, worker_ctx: Any) -> Callable[[], None]:
        return self.wake

    def wake(self) -> None:
        if not self._wake.ready():
            self._wake.send(True)

    def _loop(self) -> None:
        while self._running:
            with eventlet.Timeout(self.interval, False):
                self._wake.wait()
            self._wake = eventlet.event.Event()
            try:
                while self._running and self.flush() == self.batch:
                    pass
            except Exception:  # broker or database away: keep the rows, try again next tick
                log.exception("outbox relay of %s failed; will retry", self.service)
                metrics.OUTBOX_PUBLISH_FAILURES.labels(self.service).inc()
                eventlet.sleep(1.0)

    def flush(self) -> int:
        with transaction(self.factory) as session:
            rows = outbox.pending(session, self.outbox_model, self.batch)
            for row in rows:
                headers = {"nameko.correlation_id": row.correlation_id} if row.correlation_id else {}
                self.publisher.publish(
                    outbox.envelope(row, self.service),
                    exchange=self.exchange,
                    routing_key=row.event_type,
                    message_id=row.event_id,
                    extra_headers=headers,
                )
                metrics.EVENTS_PUBLISHED.labels(self.service, row.event_type).inc()
            outbox.mark_sent(session, self.outbox_model, [r.id for r in rows])
            count, age = outbox.backlog(session, self.outbox_model)
        metrics.OUTBOX_BACKLOG.labels(self.service).set(count)
        metrics.OUTBOX_OLDEST_AGE.labels(self.service).set(age)
        return len(rows)


# --- reliable event handlers ----------------------------------------------------------------------

TRANSIENT = (OperationalError, ConnectionError, TimeoutError)
RETRY_HEADER = "ytcs-transient-retries"  # how often an event met a passing outage
PUT_BACK_SECONDS = 10.0  # longest wait to connect for, and for the confirm of, a retry's copy


class ReliableEventHandler(EventHandler):
    """A nameko event handler that never silently drops a message.

    - success: ack (counted `duplicate` when the handler returns False: its inbox had the event already);
    - a transient failure (database or broker away): tried again after a backoff, as a fresh copy of the
      message published to the same queue before the original is acked: a plain requeue would count as a
      delivery on a quorum queue, and a few seconds of database outage would use up `x-delivery-limit` and
      dead-letter events that did nothing wrong (tests/integration/test_redelivery.py);
    - any other failure: reject without requeue, so the broker dead-letters it to `ytcs.dead-letters`
      where `ytcs dlq list/replay` finds it (nameko's own handler acks and loses it).
    Its queue is durable, a quorum queue when `YTCS_QUORUM_QUEUES` is on (the default), with the DLX.
    """

    def setup(self) -> None:
        super().setup()
        self.queue = Queue(
            self.queue.name,
            exchange=self.queue.exchange,
            routing_key=self.queue.routing_key,
            durable=True,
            auto_delete=False,
            exclusive=False,
            queue_arguments=_queue_args(),
        )
        for outcome in ("ok", "duplicate", "retry", "dead_lettered"):
            # Series exist at 0 from the start, so the first dead letter shows in increase() and alerts.
            metrics.EVENTS_CONSUMED.labels(self.container.service_name, self.event_type, outcome)
        self._declare_dead_letters()

    def _declare_dead_letters(self) -> None:
        from kombu import Connection

        with Connection(self.container.config["AMQP_URI"]) as conn:
            channel = conn.channel()
            dead_letter_queue().bind(channel).declare()
            # Declare our own queue now, so events published before we consume are kept: one with no queue bound
            # vanishes.
            self.queue.bind(channel).declare()

    def handle_result(self, message: Any, worker_ctx: Any, result: Any = None, exc_info: Any = None) -> Any:
        service = self.container.service_name
        event_type = self.event_type
        if exc_info is None:
            outcome = "duplicate" if result is False else "ok"  # False: the inbox absorbed a redelivery
            metrics.EVENTS_CONSUMED.labels(service, event_type, outcome).inc()
            self.queue_consumer.ack_message(message)
        elif isinstance(exc_info[1], TRANSIENT) or (
            isinstance(exc_info[1], DBAPIError) and exc_info[1].connection_invalidated
        ):
            metrics.EVENTS_CONSUMED.labels(service, event_type, "retry").inc()
            self._retry_later(message)
        else:
            metrics.EVENTS_CONSUMED.labels(service, event_type, "dead_lettered").inc()
            log.error("event %s dead-lettered: %r", event_type, exc_info[1])
            if message.channel.connection:
                message.reject(requeue=False)
        return result, exc_info

    def _retry_later(self, message: Any) -> None:
        """After a backoff (0.5 s doubling to 30 s), put a copy back on our queue with confirms, then ack the
        original: the copy starts with a fresh delivery count. A crash between the two leaves both, and the
        inbox absorbs the second. While the broker takes no copy (a memory or disk alarm blocks publishers; each
        try waits at most PUT_BACK_SECONDS) the original is held and the copy tried again: a requeue would count
        a delivery, and an alarm of a few minutes would dead-letter events that did nothing wrong. Once our own
        connection is gone, the broker gives the original to a consumer again."""
        headers = {k: v for k, v in (message.headers or {}).items() if not k.startswith("x-")}
        tries = int(headers.get(RETRY_HEADER, 0)) + 1
        delay = min(30.0, 0.5 * 2 ** min(tries - 1, 6))
        while True:
            time.sleep(delay)  # eventlet-patched: yields to other workers
            if self._put_back(message, {**headers, RETRY_HEADER: tries}):
                self.queue_consumer.ack_message(message)
                return
            if not message.channel.connection:
                return
            delay = min(30.0, delay * 2)

    def _put_back(self, message: Any, headers: dict[str, Any]) -> bool:
        """A copy of `message` on our queue, confirmed by the broker within PUT_BACK_SECONDS."""
        from kombu import Connection

        conn = Connection(
            self.container.config["AMQP_URI"],
            connect_timeout=PUT_BACK_SECONDS,
            transport_options={"confirm_publish": True},
        )
        try:
            conn.Producer().publish(
                message.body,
                exchange="",
                routing_key=self.queue.name,
                headers=headers,
                content_type=message.content_type,
                content_encoding=message.content_encoding,
                message_id=message.properties.get("message_id"),
                delivery_mode=2,
                timeout=PUT_BACK_SECONDS,  # bounds the wait for the confirm
            )
        except Exception:  # noqa: BLE001 - the broker is away or blocks publishers: try again later
            conn.collect()  # no close handshake: a broker that stopped reading would never answer it
            log.warning("could not put event %s back for a retry yet; holding it", self.event_type, exc_info=True)
            return False
        conn.release()
        return True


reliable_event_handler = ReliableEventHandler.decorator
