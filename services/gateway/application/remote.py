"""The gateway's handles on its surroundings, as the application layer uses them inside a request: the RPC
clients to the services (clients.py), a session on the gateway's own database, and the allocation guards
(guards.py)."""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AbstractContextManager
from typing import Any

from flask import current_app

from services.gateway.clients import Call, ServiceClients

__all__ = ["Call", "clients", "guarded", "rpc", "session", "ytcs"]


def ytcs() -> Any:
    """The app's shared state (clients, database sessions, settings), set up by app.create_app."""
    return current_app.extensions["ytcs"]


def clients() -> ServiceClients:
    return ytcs().clients


def rpc(service: str, method: str, *args: Any, **kwargs: Any) -> Any:
    """One call to a service; its DomainError answers 4xx, an unavailable service 503."""
    return clients().call(service, method, *args, **kwargs)


def session() -> Any:
    """A session on the gateway's database (a context manager)."""
    return ytcs().session()


def guarded(allocation_ids: Iterable[int | None]) -> AbstractContextManager[None]:
    """One command at a time on these finance allocations, from asking the other service to the answer."""
    return ytcs().guards.hold(allocation_ids)
