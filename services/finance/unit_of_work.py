"""Finance's unit of work: one transaction over the finance database, its outbox and its inbox."""

from __future__ import annotations

from services.common.unit_of_work import UnitOfWork
from services.finance.models import Inbox, Outbox
from services.finance.repository import FinanceRepository


class FinanceUnitOfWork(UnitOfWork[FinanceRepository]):
    outbox_model = Outbox
    inbox_model = Inbox
    repository = FinanceRepository
