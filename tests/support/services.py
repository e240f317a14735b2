"""What the `service.py` entrypoint tests of every service share: the service's entrypoints as nameko declares
them, and the rows a call left in the service's database."""

from __future__ import annotations

from typing import Any

from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR, Entrypoint
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from services.common.db import transaction


def entrypoint_names(service_cls: type) -> set[str]:
    """Every method of the class that nameko runs as an entrypoint (RPC, event handler, timer)."""
    return {
        name
        for name, member in vars(service_cls).items()
        if any(isinstance(e, Entrypoint) for e in getattr(member, ENTRYPOINT_EXTENSIONS_ATTR, ()))
    }


def outbox_rows(factory: sessionmaker[Session], outbox_model: type, event_type: str) -> list[Any]:
    with transaction(factory) as s:
        stmt = select(outbox_model).where(outbox_model.event_type == event_type).order_by(outbox_model.id)
        return list(s.scalars(stmt))


def row_count(factory: sessionmaker[Session], model: Any) -> int:
    with transaction(factory) as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)
