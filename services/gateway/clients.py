"""RPC to the services from gunicorn threads.

nameko's `ClusterRpcProxy` is not thread-safe, so each thread gets its own, created lazily after fork
and dropped after a timeout (its reply queue may still receive the late answer). `fan_out` sends every
call at once (`call_async`) and collects them against ONE deadline for the whole batch: nameko's own
timeout is a socket idle timeout per wait, so N slow replies could otherwise take N × timeout. A slow,
dead, unknown or crashing service becomes `Unavailable` for its own calls only, never a hang.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Mapping
from typing import Any

from nameko.exceptions import (
    BadRequest,
    MethodNotFound,
    RemoteError,
    RpcTimeout,
    UnknownService,
    deserialize_to_instance,
)
from nameko.standalone.rpc import ClusterRpcProxy

from services.common import config
from services.common.config import MessagingOptions
from services.common.errors import DomainError, NotFound

log = logging.getLogger(__name__)

# Refusals must cross RPC as themselves here too: the services register them in
# services.common.messaging, which the gateway never imports; unregistered, a 422 became a 503.
deserialize_to_instance(DomainError)
deserialize_to_instance(NotFound)

MIN_WAIT = 0.05  # after the deadline, still read what has already arrived


class Unavailable(Exception):
    """A service did not answer in time, is not running, or failed on the call.

    `kind`: timeout | unknown_service | broker | method_not_found | error."""

    def __init__(self, service: str, reason: str, kind: str = "error") -> None:
        super().__init__(service, reason)
        self.service = service
        self.reason = reason
        self.kind = kind


Call = tuple[str, str, tuple[Any, ...], dict[str, Any]]


class ServiceClients:
    def __init__(self, amqp_uri: str | None = None, timeout: float | None = None) -> None:
        self.config = {"AMQP_URI": amqp_uri or config.amqp_uri(), "serializer": "json"}
        self.timeout = timeout if timeout is not None else MessagingOptions.from_env().rpc_timeout
        self._local = threading.local()

    def _standalone(self) -> ClusterRpcProxy:
        standalone = getattr(self._local, "standalone", None)
        if standalone is None:
            standalone = ClusterRpcProxy(self.config, timeout=self.timeout)
            self._local.proxy = standalone.start()
            self._local.standalone = standalone
        return standalone

    def _drop(self) -> None:
        standalone = getattr(self._local, "standalone", None)
        self._local.standalone = self._local.proxy = None
        if standalone is not None:
            # The connection may already be gone; there is nothing left to release then.
            with contextlib.suppress(Exception):
                standalone.stop()

    def set_correlation_id(self, cid: str | None) -> None:
        """Carried in the AMQP headers of every call this thread makes for the current request."""
        self._local.correlation_id = cid

    def _context(self, standalone: ClusterRpcProxy) -> None:
        cid = getattr(self._local, "correlation_id", None)
        data = standalone._worker_ctx.data
        if cid:
            data["correlation_id"] = cid
        else:
            data.pop("correlation_id", None)

    @staticmethod
    def _set_wait(standalone: ClusterRpcProxy, seconds: float) -> None:
        # The polling consumer reads its socket timeout on every wait: this bounds the next wait.
        standalone._reply_listener.queue_consumer.timeout = seconds

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
        results: dict[str, Any] = {}
        pending: dict[str, Any] = {}
        try:
            standalone = self._standalone()
            self._context(standalone)
            proxy = self._local.proxy
        except Exception as exc:  # broker unreachable
            self._drop()
            log.warning("rpc: broker unreachable: %s", exc)
            results = {k: Unavailable(c[0], "không kết nối được RabbitMQ", "broker") for k, c in calls.items()}
            return self._finish(results, raise_domain)
        broken = False
        for key, (svc, meth, args, kwargs) in calls.items():
            try:
                pending[key] = getattr(getattr(proxy, svc), meth).call_async(*args, **kwargs)
            except UnknownService:
                # No queue for it: the service has never started on this broker (or its queue is gone).
                results[key] = Unavailable(svc, "dịch vụ chưa chạy", "unknown_service")
            except Exception as exc:  # noqa: BLE001 - connection lost while publishing
                log.warning("rpc %s.%s: publish failed: %r", svc, meth, exc)
                results[key] = Unavailable(svc, "không kết nối được RabbitMQ", "broker")
                broken = True
        for key, reply in pending.items():
            service, method = calls[key][0], calls[key][1]
            self._set_wait(standalone, max(MIN_WAIT, deadline - time.monotonic()))
            try:
                results[key] = reply.result()
            except DomainError as exc:
                results[key] = exc
            except RpcTimeout:
                results[key] = Unavailable(service, "dịch vụ không trả lời kịp", "timeout")
                broken = True
            except MethodNotFound:
                results[key] = Unavailable(service, f"dịch vụ chưa có thao tác {method}", "method_not_found")
            except Exception as exc:  # noqa: BLE001 - connection lost mid-call, remote crash
                log.warning("rpc %s.%s failed: %r", service, method, exc)
                if isinstance(exc, (RemoteError, BadRequest)):  # the service answered: with a failure
                    results[key] = Unavailable(service, "dịch vụ gặp lỗi khi xử lý", "error")
                else:
                    results[key] = Unavailable(service, "mất kết nối tới dịch vụ", "broker")
                    broken = True
        self._set_wait(standalone, self.timeout)
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
