"""RPC to the services from gunicorn threads.

nameko's `ClusterRpcProxy` is not thread-safe, so each thread gets its own, created lazily after fork
and dropped after a timeout (its reply queue may still receive the late answer). `call_async` fans out
to several services from one thread; a slow or dead service becomes `Unavailable`, never a hang.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Mapping
from typing import Any

from nameko.exceptions import RpcTimeout
from nameko.standalone.rpc import ClusterRpcProxy

from services.common import config
from services.common.config import MessagingOptions
from services.common.errors import DomainError

log = logging.getLogger(__name__)


class Unavailable(Exception):
    """A service did not answer in time, or the broker is unreachable."""

    def __init__(self, service: str, reason: str) -> None:
        super().__init__(service, reason)
        self.service = service
        self.reason = reason


Call = tuple[str, str, tuple[Any, ...], dict[str, Any]]


class ServiceClients:
    def __init__(self, amqp_uri: str | None = None, timeout: float | None = None) -> None:
        self.config = {"AMQP_URI": amqp_uri or config.amqp_uri(), "serializer": "json"}
        self.timeout = timeout if timeout is not None else MessagingOptions.from_env().rpc_timeout
        self._local = threading.local()

    def _proxy(self) -> Any:
        proxy = getattr(self._local, "proxy", None)
        if proxy is None:
            standalone = ClusterRpcProxy(self.config, timeout=self.timeout)
            proxy = standalone.start()
            self._local.standalone, self._local.proxy = standalone, proxy
        return proxy

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

    def _context(self, proxy: Any) -> None:
        cid = getattr(self._local, "correlation_id", None)
        data = self._local.standalone._worker_ctx.data
        if cid:
            data["correlation_id"] = cid
        else:
            data.pop("correlation_id", None)

    def call(self, service: str, method: str, *args: Any, **kwargs: Any) -> Any:
        return self.fan_out({"r": (service, method, args, kwargs)}, raise_domain=True)["r"]

    def fan_out(self, calls: Mapping[str, Call], raise_domain: bool = False) -> dict[str, Any]:
        """Send all calls at once, then collect. A failed call's value is its exception (`Unavailable`
        or `DomainError`), unless `raise_domain` raises the first DomainError / Unavailable."""
        results: dict[str, Any] = {}
        try:
            proxy = self._proxy()
            self._context(proxy)
            pending = {
                k: getattr(getattr(proxy, svc), meth).call_async(*a, **kw) for k, (svc, meth, a, kw) in calls.items()
            }
        except Exception as exc:  # broker unreachable
            self._drop()
            log.warning("rpc: broker unreachable: %s", exc)
            err = Unavailable("broker", "không kết nối được RabbitMQ")
            if raise_domain:
                raise err from exc
            return {k: Unavailable(calls[k][0], err.reason) for k in calls}
        dropped = False
        for key, reply in pending.items():
            service = calls[key][0]
            try:
                results[key] = reply.result()
            except DomainError as exc:
                results[key] = exc
            except RpcTimeout:
                results[key] = Unavailable(service, "dịch vụ không trả lời kịp")
                dropped = True
            except Exception as exc:  # noqa: BLE001 - connection lost mid-call, remote crash
                log.warning("rpc %s.%s failed: %r", service, calls[key][1], exc)
                results[key] = Unavailable(service, "dịch vụ gặp lỗi")
                if not hasattr(exc, "exc_type"):
                    dropped = True
        if dropped:
            self._drop()
        if raise_domain:
            for value in results.values():
                if isinstance(value, (DomainError, Unavailable)):
                    raise value
        return results
