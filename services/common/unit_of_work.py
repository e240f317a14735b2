"""The unit of work every service's `unit_of_work.py` specialises: one transaction, its outbox, its inbox.

A command handler receives a unit of work and nothing else of the infrastructure. Inside `with uow:` it reads
and writes through `uow.repo` and announces what happened with `uow.publish(...)`; leaving the block commits
the business rows and the outbox rows together (or neither), so an event is never published for a change that
was rolled back and never lost for one that committed (the relay sends it later). `uow.first_delivery(...)`
records an event id in the inbox in the same transaction: a redelivered event is recognised and skipped.

A command sent by RPC carries its caller's `deadline` (wall-clock seconds; the gateway's, see gateway/clients.py):
past it the caller has answered 503 and the person will send it again, so the unit of work commits nothing and
refuses with 503 `request_expired` instead (a command that waited in a queue while its service restarted, say).
A keyed command (the gateway's `command_key`, from a request's Idempotency-Key) runs through `run`: sent again, it is
answered with what it answered the first time and records nothing (common/answers.py).

Subclasses name the service's `outbox_model`, `inbox_model`, `answer_model` and `repository` class. Tests use the
same class over SQLite or PostgreSQL: there is nothing to fake.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from services.common import answers, outbox
from services.common.errors import DomainError, error

R = TypeVar("R")


class UnitOfWork(Generic[R]):
    outbox_model: ClassVar[type]
    inbox_model: ClassVar[type | None] = None
    answer_model: ClassVar[type | None] = None
    repository: ClassVar[type]

    def __init__(
        self,
        factory: sessionmaker[Session],
        correlation_id: str | None = None,
        deadline: float | None = None,
        command_key: str | None = None,
    ) -> None:
        self._factory = factory
        self.correlation_id = correlation_id
        self.deadline = deadline
        self.command_key = command_key
        self.published: list[str] = []

    def __enter__(self) -> UnitOfWork[R]:
        self.session = self._factory()
        self.repo: R = self.repository(self.session)
        self.published = []
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if exc_type is None and self.deadline is not None and time.time() > self.deadline:
                self.session.rollback()
                raise DomainError([error(
                    "request_expired",
                    "Yêu cầu đã quá thời gian chờ của cổng nên không được ghi. Vui lòng gửi lại.",
                )], 503)
            if exc_type is None:
                self.session.commit()
            else:
                self.session.rollback()
        finally:
            self.session.close()

    def run(self, handler: Callable[..., Any], *args: Any) -> Any:
        """`handler(uow, *args)` in this unit of work, committed. A command with a key that was recorded before
        is not run again: its first answer is returned (nothing is written, nothing published)."""
        with self:
            key, model = self.command_key, self.answer_model
            if key is None or model is None:
                return handler(self, *args)
            kept = answers.take(self.session, model, key)
            if kept is not None:
                return kept.value
            result = handler(self, *args)
            answers.keep(self.session, model, key, result)
            return result

    def refusals(self, handler: Callable[..., Any], *args: Any) -> list[dict[str, Any]]:
        """What `handler(uow, *args)` would refuse, each error as it names it ([] for none), with nothing kept: a
        command checked, not recorded (an import's other rows, when the gateway already refuses some of them)."""
        with self:
            try:
                handler(self, *args)
                problems: list[dict[str, Any]] = []
            except DomainError as exc:
                problems = exc.errors
            self.session.rollback()  # a command with no problem would have been recorded: keep none of it
            return problems

    def publish(self, event_type: str, data: dict[str, Any], correlation_id: str | None = None) -> str:
        """Validate `data` against the event's versioned contract and queue it in this transaction's outbox."""
        event_id = outbox.record_event(
            self.session, self.outbox_model, event_type, data, correlation_id or self.correlation_id
        )
        self.published.append(event_type)
        return event_id

    def first_delivery(self, event_id: str, event_type: str) -> bool:
        """Record an incoming event as handled; False when it was handled before (at-least-once delivery)."""
        if self.inbox_model is None:
            raise TypeError(f"{type(self).__name__} consumes no events: it names no inbox_model")
        return outbox.claim_once(self.session, self.inbox_model, event_id, event_type)
