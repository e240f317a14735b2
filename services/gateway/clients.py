"""RPC to the services from gunicorn threads, through nameko's standalone proxy (`ClusterRpcProxy`).

The proxy is not thread-safe, so each thread gets its own, created lazily after fork and dropped after a
timeout (its reply queue may still receive the late answer). `fan_out` sends every call at once
(`call_async`) and collects them against ONE deadline for the whole batch: nameko's own timeout is a socket
idle timeout per wait, so N slow replies could otherwise take N × timeout. A slow, dead, unknown or crashing
service becomes `Unavailable` for its own calls only, never a hang (errors.remote_failure says which).

Only nameko's public API is used: the proxy's `context_data` (the AMQP headers of every call; this module
keeps the dict and sets the request's correlation id in it) and `reply_listener_cls` (a reply listener whose
waits are bounded by the batch's deadline, `BoundedReplyListener`).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Mapping
from typing import Any

from nameko.standalone.rpc import ClusterRpcProxy, PollingQueueConsumer, SingleThreadedReplyListener

from services.common import config
from services.common.config import MessagingOptions
from services.common.errors import DomainError
from services.gateway.errors import BROKER_UNREACHABLE, Unavailable, remote_failure

log = logging.getLogger(__name__)

MIN_WAIT = 0.05  # after the deadline, still read what has already arrived
# The services' deadline comes this much before ours: a command committed just in time still has its reply back
# before we give up on it.
DEADLINE_MARGIN = 1.0

Call = tuple[str, str, tuple[Any, ...], dict[str, Any]]


class Waits:
    """How long the next wait for a reply may take, shared by a thread's proxy and its reply consumer."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds


class BoundedQueueConsumer(PollingQueueConsumer):
    """nameko's polling reply consumer, its socket timeout read from `Waits` before each wait."""

    def __init__(self, waits: Waits) -> None:
        super().__init__(timeout=waits.seconds)
        self.waits = waits

    def get_message(self, correlation_id: str) -> None:
        self.timeout = self.waits.seconds
        super().get_message(correlation_id)


class BoundedReplyListener(SingleThreadedReplyListener):
    """nameko's single-threaded reply listener with a `BoundedQueueConsumer` (passed as `reply_listener_cls`)."""

    def __init__(self, timeout: float | None = None, waits: Waits | None = None) -> None:
        super().__init__(timeout=timeout)
        self.queue_consumer = BoundedQueueConsumer(waits or Waits(timeout or 0))


class _Thread(threading.local):
    """One thread's proxy, its headers and its wait bound."""

    standalone: ClusterRpcProxy | None = None
    proxy: Any = None
    context: dict[str, Any]
    waits: Waits | None = None
    command_base: str | None = None  # set per request (set_command_key)
    command_calls: dict[tuple[str, str], int]


class ServiceClients:
    def __init__(self, amqp_uri: str | None = None, timeout: float | None = None) -> None:
        self.config = {"AMQP_URI": amqp_uri or config.amqp_uri(), "serializer": "json"}
        self.timeout = timeout if timeout is not None else MessagingOptions.from_env().rpc_timeout
        self._local = _Thread()
        self._local.context = {}

    def _proxy(self) -> Any:
        local = self._local
        if local.standalone is None:
            self._context()
            local.waits = Waits(self.timeout)
            waits = local.waits

            def listener(timeout: float | None = None) -> BoundedReplyListener:
                return BoundedReplyListener(timeout=timeout, waits=waits)

            standalone = ClusterRpcProxy(
                self.config, context_data=local.context, timeout=self.timeout, reply_listener_cls=listener
            )
            local.proxy = standalone.start()
            local.standalone = standalone
        return local.proxy

    def _drop(self) -> None:
        standalone = self._local.standalone
        self._local.standalone = self._local.proxy = None
        if standalone is not None:
            # The connection may already be gone; there is nothing left to release then.
            with contextlib.suppress(Exception):
                standalone.stop()

    def _context(self) -> dict[str, Any]:
        """This thread's call context (the AMQP headers of its calls), the dict its proxy was given."""
        context = getattr(self._local, "context", None)
        if context is None:
            context = self._local.context = {}
        return context

    def set_correlation_id(self, cid: str | None) -> None:
        """Carried in the AMQP headers of every call this thread makes for the current request."""
        context = self._context()
        if cid:
            context["correlation_id"] = cid
        else:
            context.pop("correlation_id", None)

    def set_command_key(self, base: str | None) -> None:
        """The request's Idempotency-Key (with its caller and request), or None: each call the thread makes for
        this request then carries a command key of its own, the same when the request is sent again, so that a
        service recording a command keeps it once (services/common/answers.py)."""
        self._local.command_base = base
        self._local.command_calls = {}

    def _command_key(self, service: str, method: str) -> str | None:
        """`base:service.method:n`, n counting this request's calls of that method: the same request sent again
        makes the same calls, in the same order, under the same keys."""
        base = self._local.command_base
        if base is None:
            return None
        calls = self._local.command_calls
        n = calls[service, method] = calls.get((service, method), 0) + 1
        return f"{base}:{service}.{method}:{n}"

    def _set_wait(self, seconds: float) -> None:
        if self._local.waits is not None:
            self._local.waits.seconds = seconds

    def call(self, service: str, method: str, *args: Any, **kwargs: Any) -> Any:
        """One call; a DomainError or Unavailable is raised (the app answers it as 4xx / 503)."""
        return self.fan_out({"r": (service, method, args, kwargs)}, raise_domain=True)["r"]

    def fan_out(
        self, calls: Mapping[str, Call], raise_domain: bool = False, timeout: float | None = None
    ) -> dict[str, Any]:
        """Send all calls at once, then collect them within `timeout` seconds in total (default: the RPC
        timeout). A failed call's value is its exception (`Unavailable` or `DomainError`), unless
        `raise_domain` raises the first one."""
        budget = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + budget
        context = self._context()
        # The services' units of work commit nothing after this (common/unit_of_work.py): a command that waited
        # in a queue past our answer is never recorded behind the 503 that said to send it again.
        context["deadline"] = f"{time.time() + budget - min(DEADLINE_MARGIN, budget / 4):.3f}"
        results: dict[str, Any] = {}
        pending: dict[str, Any] = {}
        try:
            proxy = self._proxy()
        except Exception as exc:  # broker unreachable
            self._drop()
            log.warning("rpc: broker unreachable: %s", exc)
            results = {k: Unavailable(c[0], BROKER_UNREACHABLE, "broker") for k, c in calls.items()}
            return self._finish(results, raise_domain)
        broken = False
        for key, (svc, meth, args, kwargs) in calls.items():
            command_key = self._command_key(svc, meth)
            if command_key is None:
                context.pop("command_key", None)
            else:
                context["command_key"] = command_key  # read by the proxy as it publishes this call
            try:
                pending[key] = getattr(getattr(proxy, svc), meth).call_async(*args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - unknown service, or the connection lost while publishing
                failed = remote_failure(svc, meth, exc)
                if not (isinstance(failed, Unavailable) and failed.kind == "unknown_service"):
                    log.warning("rpc %s.%s: publish failed: %r", svc, meth, exc)
                    failed = Unavailable(svc, BROKER_UNREACHABLE, "broker")
                    broken = True
                results[key] = failed
        for key, reply in pending.items():
            service, method = calls[key][0], calls[key][1]
            self._set_wait(max(MIN_WAIT, deadline - time.monotonic()))
            try:
                results[key] = reply.result()
            except Exception as exc:  # noqa: BLE001 - a refusal, a timeout, a remote crash, a lost connection
                failed = remote_failure(service, method, exc)
                if isinstance(failed, Unavailable) and failed.kind in ("error", "broker", "unknown_service"):
                    log.warning("rpc %s.%s failed: %r", service, method, exc)
                if isinstance(failed, Unavailable) and failed.kind in ("timeout", "broker"):
                    broken = True  # the reply queue may still receive a late answer, or the connection is gone
                results[key] = failed
        self._set_wait(self.timeout)
        if broken:
            # A timed-out reply may still arrive on this reply queue: start the next request afresh.
            self._drop()
        return self._finish(results, raise_domain)

    @staticmethod
    def _finish(results: dict[str, Any], raise_domain: bool) -> dict[str, Any]:
        if raise_domain:
            for value in results.values():
                if isinstance(value, (DomainError, Unavailable)):
                    raise value
        return results
