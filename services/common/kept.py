"""Answers of read queries kept while the data they read is unchanged.

A service whose reads are frequent and whose writes are rare (finance's roll-ups, claims' capitation summary)
keeps each question's answer with a *stamp* of the data: a cheap query whose value moves with every committed
write that could change the answer (counts of append-only tables). The stamp is read before the answer is
computed, so a write committing meanwhile can only make a kept answer newer than its stamp, never older.
Kept per engine (one database) and bounded; every process (replica) keeps its own, and since the stamp is
read from the shared database, a write through one replica is seen by the others at their next call.
"""

from __future__ import annotations

import copy
import weakref
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from sqlalchemy.orm import Session

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
