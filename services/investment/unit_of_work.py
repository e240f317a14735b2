"""Investment's unit of work: one transaction over investment's database, its outbox and inbox, with the
repository of its write side (services/common/unit_of_work.py says how it commits)."""

from __future__ import annotations

from services.common.unit_of_work import UnitOfWork
from services.investment.models import Answer, Inbox, Outbox
from services.investment.repository import InvestmentRepository


class InvestmentUnitOfWork(UnitOfWork[InvestmentRepository]):
    outbox_model = Outbox
    inbox_model = Inbox
    answer_model = Answer
    repository = InvestmentRepository
