"""Finance's unit of work: one transaction over the finance database, its outbox, its inbox and the answers of its
commands."""

from __future__ import annotations

from services.common.unit_of_work import UnitOfWork
from services.finance.models import Answer, Inbox, Outbox
from services.finance.repository import FinanceRepository


class FinanceUnitOfWork(UnitOfWork[FinanceRepository]):
    outbox_model = Outbox
    inbox_model = Inbox
    answer_model = Answer
    repository = FinanceRepository
