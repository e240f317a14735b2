"""Finance's write-side data access: the facts a command's rules need, read under lock, and its inserts.

Money rows are only ever inserted. Every command that checks an allocation's remaining money locks that
allocation first (parents before children), so two checks cannot both pass on stale sums.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from services.common import catalog
from services.common.db import write_lock_now
from services.common.errors import DomainError, NotFound, error
from services.common.imports import RecordedPayment
from services.common.periods import Quarter
from services.finance import records
from services.finance.domain import AllocationFacts, ImportKey, PlanFacts, Recorded, import_key
from services.finance.models import (
    Allocation,
    CapitationFundRecord,
    CapitationReport,
    CapitationResult,
    CapitationSettlement,
    CapitationSpendReport,
    Disbursement,
    Plan,
    PlanItem,
    YearEndRecord,
)

_Row = TypeVar("_Row")
IMPORT_LOCK = 0x494D50  # the advisory lock of imported sheets ("IMP"), in finance's database


def _section_iii(plan_id: int) -> frozenset[str] | None:
    """The funding sources section III of the plan names (the reviewed catalog); None when the catalog does
    not hold the plan or names none, and then nothing is checked."""
    try:
        plan = catalog.get_plan(plan_id)
    except KeyError:
        return None
    named = frozenset(s.code for item in plan.items if item.kind == "funding" for s in item.funding_sources)
    return named or None


class FinanceRepository:
    def __init__(self, session: Session) -> None:
        self.session = session
        self._plans: dict[int, PlanFacts] = {}
        self._items: dict[int, set[str]] = {}

    # --- locking ----------------------------------------------------------------------------------

    def serialize_writes(self) -> None:
        """Make check-then-insert atomic. SQLite: take the write lock before the first read (BEGIN IMMEDIATE),
        so no other writer commits between our check and our insert. PostgreSQL: row locks."""
        write_lock_now(self.session)

    def _for_update(self, stmt: Any) -> Any:
        return stmt.with_for_update() if self.session.get_bind().dialect.name == "postgresql" else stmt

    # --- allocations ------------------------------------------------------------------------------

    def allocation(self, allocation_id: int, lock: bool = False) -> Allocation:
        """The allocation (locked for the rest of the transaction with `lock`), or 404 unknown_allocation."""
        row = self.find_allocation(allocation_id, lock)
        if row is None:
            raise NotFound([error("unknown_allocation", f"Không có phân bổ số {allocation_id}.", "id")])
        return row

    def find_allocation(self, allocation_id: int, lock: bool = False) -> Allocation | None:
        stmt = select(Allocation).where(Allocation.id == allocation_id)
        return self.session.scalar(self._for_update(stmt) if lock else stmt)

    def lock_imports(self) -> None:
        """One imported sheet at a time: a sheet sent twice at once would otherwise find, twice, none of its rows
        recorded (and two sheets would lock their allocations in two orders). PostgreSQL: a transaction-scoped
        advisory lock; SQLite: serialize_writes already holds the database's write lock."""
        if self.session.get_bind().dialect.name == "postgresql":
            self.session.execute(text("SELECT pg_advisory_xact_lock(:space, 0)"), {"space": IMPORT_LOCK})

    def locked_allocations(self, allocation_ids: set[int]) -> dict[int, Allocation]:
        """These allocations by id, locked in the order of their ids (a parent before its children, as every
        command locks them); an unknown id is missing from the answer."""
        stmt = select(Allocation).where(Allocation.id.in_(sorted(allocation_ids))).order_by(Allocation.id)
        return {a.id: a for a in self.session.scalars(self._for_update(stmt))}

    def recorded_by_key(self, decision_numbers: set[str]) -> dict[ImportKey, list[Recorded]]:
        """The allocations of these decisions, by what makes an imported row the same allocation
        (domain.import_key), each list by id: one query for a whole sheet."""
        stmt = select(Allocation).where(Allocation.decision_no.in_(sorted(decision_numbers))).order_by(Allocation.id)
        out: dict[ImportKey, list[Recorded]] = {}
        for a in self.session.scalars(stmt):
            fields = {
                "plan_id": a.plan_id,
                "item_code": a.item_code,
                "source": a.source,
                "fiscal_year": a.fiscal_year,
                "kind": a.kind,
                "recipient_unit": a.recipient_unit,
                "fund_year": a.fund_year,
                "use": a.surplus_use,
                "decision_no": a.decision_no,
                "decision_date": a.decision_date,
            }
            out.setdefault(import_key(fields, a.parent_id), []).append(Recorded(id=a.id, amount=a.amount))
        return out

    def facts(self, row: Allocation) -> AllocationFacts:
        """The allocation's own money and what is already used of it, summed in the database."""
        money = self.session.execute(select(*records.money_columns()).where(Allocation.id == row.id)).one()
        return records.facts_of(row, money)

    def facts_of_many(self, rows: dict[int, Allocation]) -> dict[int, AllocationFacts]:
        """`facts` of each of these allocations (by id) in one query: an imported sheet's, read once."""
        stmt = select(Allocation.id, *records.money_columns()).where(Allocation.id.in_(sorted(rows)))
        return {money.id: records.facts_of(rows[money.id], money) for money in self.session.execute(stmt)}

    def allocation_dict(self, row: Allocation) -> dict[str, Any]:
        return records.allocation_dict(row, self.facts(row))

    def disbursement(self, disbursement_id: int) -> Disbursement:
        d = self.session.get(Disbursement, disbursement_id)
        if d is None:
            raise NotFound([error("unknown_disbursement", f"Không có lần giải ngân số {disbursement_id}.", "id")])
        return d

    def recorded_payments(self, allocation_ids: set[int]) -> list[RecordedPayment]:
        """The disbursements (not reversals) of these allocations with how much of each was reversed, as an
        imported sheet's rows are matched to them: one query for a whole sheet."""
        ids = sorted(allocation_ids)
        back = (
            select(Disbursement.reverses_id.label("id"), func.sum(Disbursement.amount).label("amount"))
            .where(Disbursement.allocation_id.in_(ids), Disbursement.reverses_id.is_not(None))
            .group_by(Disbursement.reverses_id)
            .subquery()
        )
        stmt = (
            select(Disbursement, func.coalesce(back.c.amount, 0))
            .outerjoin(back, back.c.id == Disbursement.id)
            .where(Disbursement.allocation_id.in_(ids), Disbursement.reverses_id.is_(None))
            .order_by(Disbursement.id)
        )
        return [
            RecordedPayment(
                id=d.id,
                account=d.allocation_id,
                reference=d.reference,
                date=d.date,
                amount=d.amount,
                reversed=-int(taken_back),
            )
            for d, taken_back in self.session.execute(stmt)
        ]

    def reversed_amount(self, disbursement_id: int) -> int:
        """Σ of the reversals of a disbursement, as a positive amount."""
        total = self.session.scalar(
            select(func.coalesce(func.sum(Disbursement.amount), 0)).where(Disbursement.reverses_id == disbursement_id)
        )
        return -int(total)

    def year_end_record(self, record_id: int) -> YearEndRecord:
        r = self.session.get(YearEndRecord, record_id)
        if r is None:
            raise NotFound([error("unknown_year_end_record", f"Không có bút toán cuối năm số {record_id}.", "id")])
        return r

    def year_end_reversed(self, record_id: int) -> int:
        """Σ of the reversals of a year-end record, as a positive amount."""
        total = self.session.scalar(
            select(func.coalesce(func.sum(YearEndRecord.amount), 0)).where(YearEndRecord.reverses_id == record_id)
        )
        return -int(total)

    # --- plans ------------------------------------------------------------------------------------

    def plan(self, plan_id: int, field: str = "plan_id") -> PlanFacts:
        if plan_id in self._plans:  # reference data: read once a unit of work (an import asks once a row)
            return self._plans[plan_id]
        plan = self.session.get(Plan, plan_id)
        if plan is None:
            raise DomainError.one("unknown_plan", f"Không có kế hoạch số hiệu {plan_id}.", field)
        facts = PlanFacts(
            plan.id, plan.number, plan.unit, plan.period_from, plan.period_to, plan.parent_id, _section_iii(plan.id)
        )
        self._plans[plan_id] = facts
        return facts

    def plans_below(self, plan_id: int) -> list[int]:
        return records.plans_below(self.session, plan_id)

    def item_exists(self, plan_id: int, code: str) -> bool:
        if plan_id not in self._items:
            self._items[plan_id] = set(self.session.scalars(select(PlanItem.code).where(PlanItem.plan_id == plan_id)))
        return code in self._items[plan_id]

    # --- capitation -------------------------------------------------------------------------------

    def _latest(self, model: type[_Row], facility: str, period: str) -> _Row | None:
        return records.latest(self.session, model, facility, period)  # type: ignore[type-var]

    def latest_fund(self, facility: str, period: str) -> CapitationFundRecord | None:
        return self._latest(CapitationFundRecord, facility, period)

    def latest_report(self, facility: str, period: str) -> CapitationReport | None:
        return self._latest(CapitationReport, facility, period)

    def latest_result(self, facility: str, period: str) -> CapitationResult | None:
        return self._latest(CapitationResult, facility, period)

    def latest_settlement(self, facility: str, period: str) -> CapitationSettlement | None:
        return self._latest(CapitationSettlement, facility, period)

    def latest_spend(self, facility: str, period: str) -> CapitationSpendReport | None:
        return records.latest_spend(self.session, facility, period)

    def advanced_total(self, facility: str, period: str) -> int:
        return records.advanced_total(self.session, facility, period)

    def suggested_advance(self, facility: str, quarter: Quarter) -> int | None:
        """The advance the law suggests for the quarter (kept beside the one paid, for audit)."""
        return records.suggested_advance(self.session, facility, quarter)[1]

    def settled_on(self, result: CapitationResult) -> int:
        """Σ recorded against a result, its row locked first (PostgreSQL): concurrent payments of one result
        queue on it, so Σ recorded never passes what is owed."""
        self.session.execute(self._for_update(select(CapitationResult.id).where(CapitationResult.id == result.id)))
        payments = records.payments_of(self.session, result.facility_code, result.period, result.id)
        return sum(int(p.amount) for p in payments)

    # --- inserts ----------------------------------------------------------------------------------

    def add(self, row: _Row) -> _Row:
        """Insert a row and give it its id (money rows are append-only: this is the only write)."""
        self.session.add(row)
        self.session.flush()
        return row
