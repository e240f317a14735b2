"""The claims transaction: its rows through `ClaimsRepository`, its events in the claims outbox, the events it
consumes in the claims inbox (services/common/unit_of_work.py says how)."""

from __future__ import annotations

from services.claims.models import Answer, Inbox, Outbox
from services.claims.repository import ClaimsRepository
from services.common.unit_of_work import UnitOfWork


class ClaimsUnitOfWork(UnitOfWork[ClaimsRepository]):
    outbox_model = Outbox
    inbox_model = Inbox
    answer_model = Answer
    repository = ClaimsRepository
