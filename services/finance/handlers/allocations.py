"""Finance commands on the ledger of budget money: allocations and sub-allocations (one by one or from a
sheet), disbursements (one by one or from a statement) and their reversals, adjustments."""

from __future__ import annotations

from collections import Counter
from typing import Any

from services.common import clock, imports, outbox, units
from services.common.commands import load_command
from services.common.contracts.finance import (
    AdjustmentCommandIn,
    AllocationCommandIn,
    AllocationImportIn,
    DisbursementCommandV1,
    DisbursementImportIn,
    ReversalCommandV1,
)
from services.common.errors import DomainError, error
from services.finance import domain, records
from services.finance.models import (
    Adjustment,
    Allocation,
    Disbursement,
)
from services.finance.reference import reference
from services.finance.unit_of_work import FinanceUnitOfWork


def _inherit_from_parent(uow: FinanceUnitOfWork, cmd: dict[str, Any]) -> Allocation | None:
    """A sub-allocation (`parent_allocation_id`) locks its parent and takes what the command leaves out from
    it: the plan (the most local one holding the recipient), item, source, years, kind and use."""
    if cmd["parent_allocation_id"] is None:
        return None
    parent = uow.repo.find_allocation(cmd["parent_allocation_id"], lock=True)
    if parent is None:
        raise DomainError.one(
            "unknown_allocation",
            f"Không có phân bổ cấp trên số {cmd['parent_allocation_id']}.",
            "parent_allocation_id",
        )
    if cmd["plan_id"] is None:
        cmd["plan_id"] = parent.plan_id
        if units.is_known_unit(cmd["recipient_unit"]):
            below = [uow.repo.plan(pid) for pid in uow.repo.plans_below(parent.plan_id)]
            candidates = [uow.repo.plan(parent.plan_id), *below]
            cmd["plan_id"] = domain.most_local_plan(parent.plan_id, candidates, cmd["recipient_unit"])
    for key, value in (
        ("item_code", parent.item_code),
        ("source", parent.source),
        ("fiscal_year", parent.fiscal_year),
        ("kind", parent.kind),
        ("fund_year", parent.fund_year),
        ("use", parent.surplus_use),
    ):
        if cmd[key] is None:
            cmd[key] = value
    return parent


def create_allocation(uow: FinanceUnitOfWork, data: dict[str, Any]) -> dict[str, Any]:
    """Phân bổ (or, with `parent_allocation_id`, phân bổ tiếp xuống cấp dưới)."""
    cmd = load_command(AllocationCommandIn, data)
    uow.repo.serialize_writes()
    return uow.repo.allocation_dict(_record_allocation(uow, cmd, _inherit_from_parent(uow, cmd)))


def import_allocations(uow: FinanceUnitOfWork, data: dict[str, Any]) -> dict[str, Any]:
    """A sheet of allocations (the gateway's import), in one transaction: each row checked and recorded as
    `create_allocation` does, unless the ledger already holds it (domain.imports: the sheet sent again, a row
    entered by hand before). One refused row refuses the sheet, every refusal naming its row, and nothing is
    written; the rows are taken in order, so a sub-allocation sees what the rows above it passed down."""
    cmd = load_command(AllocationImportIn, data)
    uow.repo.serialize_writes()
    uow.repo.lock_imports()
    # The ledger before the sheet: the n-th row alike is the n-th allocation alike, or a new one past them.
    recorded = uow.repo.recorded_by_key({(r["decision_no"] or "").strip() for r in cmd["rows"]})
    alike: Counter[domain.ImportKey] = Counter()

    def take(row: dict[str, Any]) -> tuple[int, bool]:
        parent = _inherit_from_parent(uow, row)
        key = domain.import_key(row, parent.id if parent is not None else None)
        alike[key] += 1
        twin = domain.recorded_twin(alike[key], recorded.get(key, []), row["amount"])
        return (_record_allocation(uow, row, parent).id, True) if twin is None else (twin, False)

    return imports.take_rows(cmd["rows"], take)


def _record_allocation(uow: FinanceUnitOfWork, cmd: dict[str, Any], parent: Allocation | None) -> Allocation:
    """Check an allocation against the rules and the ledger (its parent locked), insert it and announce it."""
    kind = cmd["kind"] or "budget"

    plan = uow.repo.plan(cmd["plan_id"])
    errs: list[dict] = []
    if not uow.repo.item_exists(plan.id, cmd["item_code"]):
        errs.append(error("unknown_item", f"Kế hoạch {plan.number} không có mục {cmd['item_code']}.", "item_code"))
    errs += domain.check_source(cmd["source"], cmd["fiscal_year"], kind, cmd["fund_year"], cmd["use"], ref=reference())
    errs += domain.check_unit(cmd["recipient_unit"], cmd["decision_date"])
    errs += domain.check_positive(cmd["amount"])
    errs += domain.check_decision(cmd["decision_no"], cmd["decision_date"], clock.today())
    errs += domain.check_plan_year(plan, cmd["fiscal_year"])
    errs += domain.check_recipient_in_plan(plan, cmd["recipient_unit"])
    if parent is None:  # money entering the plan: only from a source its section III names
        errs += domain.check_source_in_plan(plan, cmd["source"])
    domain.raise_if(errs)

    if parent is not None:
        parent_facts = uow.repo.facts(parent)
        domain.check_same_fund(parent_facts, cmd["fund_year"], cmd["use"])
        domain.check_sub_allocation(
            parent_facts,
            set(uow.repo.plans_below(parent.plan_id)),
            plan.id,
            cmd["item_code"],
            cmd["source"],
            cmd["fiscal_year"],
            kind,
            cmd["recipient_unit"],
            cmd["amount"],
        )
        domain.check_linked_capital(parent_facts, cmd["parent_linked_capital"], cmd["amount"])

    row = uow.repo.add(
        Allocation(
            plan_id=plan.id,
            item_code=cmd["item_code"],
            source=cmd["source"],
            fiscal_year=cmd["fiscal_year"],
            fund_year=cmd["fund_year"],
            surplus_use=cmd["use"],
            recipient_unit=cmd["recipient_unit"],
            kind=kind,
            amount=cmd["amount"],
            decision_no=cmd["decision_no"].strip(),
            decision_date=cmd["decision_date"],
            parent_id=parent.id if parent is not None else None,
            note=cmd["note"],
            created_at=outbox.utcnow(),
        )
    )
    uow.publish(
        "sub_allocation_made" if parent is not None else "allocation_made",
        {
            "allocation_id": row.id,
            "parent_allocation_id": row.parent_id,
            "plan_id": row.plan_id,
            "item_code": row.item_code,
            "source": row.source,
            "fiscal_year": row.fiscal_year,
            "recipient_unit": row.recipient_unit,
            "kind": row.kind,
            "amount": row.amount,
            "fund_year": row.fund_year,
            "use": row.surplus_use,
            "decision_no": row.decision_no,
            "decision_date": row.decision_date,
        },
    )
    return row


def _disbursed(uow: FinanceUnitOfWork, d: Disbursement, allocation: Allocation) -> dict[str, Any]:
    """Insert a disbursement (or its reversal), announce it, and answer it with its allocation's money."""
    _insert_disbursement(uow, d)
    return records.disbursement_dict(d) | {"allocation": uow.repo.allocation_dict(allocation)}


def _insert_disbursement(uow: FinanceUnitOfWork, d: Disbursement) -> Disbursement:
    """Insert a disbursement (or its reversal) and announce it."""
    uow.repo.add(d)
    uow.publish(
        "disbursed",
        {
            "disbursement_id": d.id,
            "allocation_id": d.allocation_id,
            "amount": d.amount,
            "date": d.date,
            "reverses_id": d.reverses_id,
            "reference": d.reference,
        },
    )
    return d


def disburse(uow: FinanceUnitOfWork, allocation_id: int, data: dict[str, Any]) -> dict[str, Any]:
    """Giải ngân: never beyond what the allocation has left (exceeds_allocation)."""
    cmd = load_command(DisbursementCommandV1, data)
    uow.repo.serialize_writes()
    row = uow.repo.allocation(allocation_id, lock=True)
    d, _after = _record_disbursement(uow, row, cmd)
    return records.disbursement_dict(d) | {"allocation": uow.repo.allocation_dict(row)}


def _record_disbursement(
    uow: FinanceUnitOfWork, row: Allocation, cmd: dict[str, Any], facts: domain.AllocationFacts | None = None
) -> tuple[Disbursement, domain.AllocationFacts]:
    """Check a payment from an allocation (locked) against the rules and its money (read here unless given),
    insert it and announce it; the allocation's facts after it."""
    # Money is paid to a unit that exists on the day it is paid; after a merger, allocate to the successor.
    domain.raise_if(domain.check_unit(row.recipient_unit, cmd["date"], "date"))
    facts = facts or uow.repo.facts(row)
    domain.check_disbursement(facts, cmd["amount"], cmd["date"])
    d = Disbursement(
        allocation_id=row.id,
        amount=cmd["amount"],
        date=cmd["date"],
        reference=cmd["reference"],
        created_at=outbox.utcnow(),
    )
    return _insert_disbursement(uow, d), facts.after_payment(cmd["amount"], cmd["date"])


def import_disbursements(uow: FinanceUnitOfWork, data: dict[str, Any]) -> dict[str, Any]:
    """A sheet of disbursements (the gateway's import; a treasury statement typed or pasted into the template),
    in one transaction: each row checked and recorded as `disburse` does, unless the ledger already holds its
    voucher (domain.imports). One refused row refuses the sheet, every refusal naming its row, and nothing is
    written; rows are taken in order, so a payment is checked against what the rows above it paid."""
    cmd = load_command(DisbursementImportIn, data)
    uow.repo.serialize_writes()
    uow.repo.lock_imports()
    wanted = {r["allocation_id"] for r in cmd["rows"]}
    allocations = uow.repo.locked_allocations(wanted)
    ledger = imports.PaymentMatcher(
        uow.repo.recorded_payments(wanted), lambda a: f"phân bổ số {a}", lambda d, _ref: f"hủy lần giải ngân số {d}"
    )
    # The allocations' money read once, then carried past each payment recorded (their rows are locked till commit).
    facts = uow.repo.facts_of_many(allocations)

    def take(row: dict[str, Any]) -> tuple[int, bool]:
        allocation = allocations.get(row["allocation_id"])
        if allocation is None:
            raise DomainError.one(
                "unknown_allocation", f"Không có phân bổ số {row['allocation_id']}.", "allocation_id"
            )
        twin = ledger.match(allocation.id, row["reference"], row["date"], row["amount"])
        if twin is not None:
            return twin, False
        paid, facts[allocation.id] = _record_disbursement(uow, allocation, row, facts[allocation.id])
        return paid.id, True

    return imports.take_rows(cmd["rows"], take)


def reverse_disbursement(uow: FinanceUnitOfWork, disbursement_id: int, data: dict[str, Any]) -> dict[str, Any]:
    """Hủy giải ngân: a negative row naming the original; never more than the original left unreversed."""
    cmd = load_command(ReversalCommandV1, data)
    uow.repo.serialize_writes()
    original = uow.repo.disbursement(disbursement_id)
    row = uow.repo.allocation(original.allocation_id, lock=True)
    already = uow.repo.reversed_amount(original.id)
    amount = cmd["amount"] if cmd["amount"] is not None else int(original.amount) - already
    domain.check_reversal(int(original.amount), already, amount, original.id)
    d = Disbursement(
        allocation_id=row.id,
        amount=-amount,
        date=cmd["date"],
        reference=cmd["reference"],
        reverses_id=original.id,
        created_at=outbox.utcnow(),
    )
    return _disbursed(uow, d, row)


def adjust(uow: FinanceUnitOfWork, allocation_id: int, data: dict[str, Any]) -> dict[str, Any]:
    """Điều chỉnh (signed): up takes from the parent's remaining money; down never below what is used, nor
    below the project capital linked to the allocation."""
    cmd = load_command(AdjustmentCommandIn, data)
    uow.repo.serialize_writes()
    row = uow.repo.allocation(allocation_id)
    parent_facts = None
    if row.parent_id is not None:  # parents are locked before children
        parent_facts = uow.repo.facts(uow.repo.allocation(row.parent_id, lock=True))
    row = uow.repo.allocation(allocation_id, lock=True)
    domain.raise_if(domain.check_decision(cmd["decision_no"], cmd["decision_date"], clock.today()))
    facts = uow.repo.facts(row)
    domain.check_adjustment(facts, parent_facts, cmd["amount"])
    # Down: the allocation keeps less itself; up (a sub-allocation): its parent passes more down.
    if cmd["amount"] < 0:
        domain.check_linked_capital(facts, cmd["linked_capital"], -cmd["amount"])
    elif parent_facts is not None:
        domain.check_linked_capital(parent_facts, cmd["parent_linked_capital"], cmd["amount"])
    adj = uow.repo.add(
        Adjustment(
            allocation_id=row.id,
            amount=cmd["amount"],
            decision_no=cmd["decision_no"].strip(),
            decision_date=cmd["decision_date"],
            note=cmd["note"],
            created_at=outbox.utcnow(),
        )
    )
    uow.publish(
        "adjusted",
        {
            "adjustment_id": adj.id,
            "allocation_id": row.id,
            "amount": adj.amount,
            "decision_no": adj.decision_no,
            "decision_date": adj.decision_date,
        },
    )
    return records.adjustment_dict(adj) | {"allocation": uow.repo.allocation_dict(row)}
