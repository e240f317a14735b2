"""What the tests of every service share: the service's database built as `ytcs migrate` builds it, its entrypoints
as nameko declares them, and the rows a call left in the service's database."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR, Entrypoint
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from services.common.db import make_engine, transaction
from services.common.migrate import upgrade


@contextlib.contextmanager
def migrated(service: str, url: str, load: Callable[[Session], Any]) -> Iterator[sessionmaker[Session]]:
    """`service`'s database at `url` built by its migrations, with its reference data loaded by `load` (finance's
    plan catalog, investment's station register), as `ytcs migrate` does."""
    upgrade(service, url)
    engine = make_engine(url)
    factory = sessionmaker(engine, expire_on_commit=False)
    with transaction(factory) as s:
        load(s)
    yield factory
    engine.dispose()


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
