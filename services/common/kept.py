"""Answers of read queries kept while the data they read is unchanged.

A service whose reads are frequent and whose writes are rare (finance's roll-ups, claims' capitation summary)
keeps each question's answer with a *stamp* of the data: a cheap query whose value moves with every committed
write that could change the answer (counts of append-only tables). The stamp is read before the answer is
computed, so a write committing meanwhile can only make a kept answer newer than its stamp, never older.
Kept per engine (one database) and bounded; every process (replica) keeps its own, and since the stamp is
read from the shared database, a write through one replica is seen by the others at their next call.

Counting append-only rows is no stamp for data updated in place (investment's current project status): there
`WriteCounter` keeps a version row that every transaction writing the service's tables bumps before it commits.
"""

from __future__ import annotations

import copy
import weakref
from collections.abc import Callable, Hashable
from itertools import chain
from typing import Any, TypeVar

from sqlalchemy import Table, event, insert, select, update
from sqlalchemy.orm import DeclarativeBase, ORMExecuteState, Session, SessionTransaction, UOWTransaction

T = TypeVar("T")


class KeptAnswers:
    def __init__(self, stamp: Callable[[Session], tuple[int, ...]], size: int) -> None:
        self.stamp = stamp
        self.size = size
        self._by_engine: weakref.WeakKeyDictionary[Any, dict[Hashable, tuple[tuple[int, ...], Any]]] = (
            weakref.WeakKeyDictionary()
        )

    def get(self, session: Session, question: Hashable, answer: Callable[[], T]) -> T:
        """`answer()`, or the answer kept for `question` while the stamp is unchanged (a refusal raised by
        `answer` is not kept). The caller gets its own copy, free to change."""
        version = self.stamp(session)
        cache = self._by_engine.setdefault(session.get_bind(), {})
        hit = cache.get(question)
        if hit is None or hit[0] != version:
            if len(cache) >= self.size:
                cache.clear()
            hit = cache[question] = (version, answer())
        return copy.deepcopy(hit[1])


class WriteCounter:
    """A one-row version (`id` 1, `version`) bumped in the same transaction as any write to a declarative
    base's tables, whatever writes them: ORM flushes (inserts, in-place updates such as a status, deletes) and
    Core INSERT/UPDATE/DELETE through the session. The bump is an UPDATE of the row, so concurrent writers
    serialise on it and each commit moves the version: `stamp` is sound for in-place updates, unlike row counts.
    Writes made outside a Session (raw connections, migrations) are not seen."""

    def __init__(self, base: type[DeclarativeBase], table: Table) -> None:
        self.metadata = base.metadata
        self.base = base
        self.table = table
        self._flag = f"kept.wrote.{table.name}"
        event.listen(Session, "after_flush", self._after_flush)
        event.listen(Session, "do_orm_execute", self._on_execute)
        event.listen(Session, "before_commit", self._before_commit)
        event.listen(Session, "after_transaction_end", self._forget)

    def stamp(self, session: Session) -> tuple[int, ...]:
        return (int(session.scalar(select(self.table.c.version).where(self.table.c.id == 1)) or 0),)

    def _after_flush(self, session: Session, _ctx: UOWTransaction) -> None:
        if any(isinstance(o, self.base) for o in chain(session.new, session.dirty, session.deleted)):
            session.info[self._flag] = True

    def _on_execute(self, state: ORMExecuteState) -> None:
        if state.is_insert or state.is_update or state.is_delete:
            target = getattr(state.statement, "table", None)
            if getattr(target, "metadata", None) is self.metadata and getattr(target, "name", None) != self.table.name:
                state.session.info[self._flag] = True

    def _before_commit(self, session: Session) -> None:
        session.flush()  # commit flushes after this hook: flush now so those writes count
        if session.info.pop(self._flag, False):
            row = self.table.c
            bumped = session.execute(update(self.table).where(row.id == 1).values(version=row.version + 1))
            if not bumped.rowcount:  # type: ignore[attr-defined]
                session.execute(insert(self.table).values(id=1, version=1))

    def _forget(self, session: Session, transaction: SessionTransaction) -> None:
        if transaction.parent is None:  # the outermost transaction ended: committed (bumped) or rolled back
            session.info.pop(self._flag, None)
