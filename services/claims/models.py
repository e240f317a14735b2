"""Claims' own tables (files, claims, lines, assessments come with the claims issue)."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase

from services.common.outbox import InboxMixin, OutboxMixin


class ClaimsBase(DeclarativeBase):
    """Every table of the claims database (its own metadata: each service owns its data)."""


class Outbox(OutboxMixin, ClaimsBase):
    pass


class Inbox(InboxMixin, ClaimsBase):
    pass
