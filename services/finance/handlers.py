"""Finance commands: one function per command, each given a `FinanceUnitOfWork` already entered.

A handler reads its command with the contract schema (a refused payload is a named 422), reads the facts the
rules need through `uow.repo` (under lock), asks `domain` for the decision, inserts what it allows and
announces it with `uow.publish`. It never commits: leaving the unit of work does, rows and events together.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from decimal import Decimal
from typing import Any

from services.common import clock, imports, outbox, units
from services.common.commands import load_command
from services.common.contracts.claims import CapitationSpendChangedV1
from services.common.contracts.finance import (
    AdjustmentCommandIn,
    AdvanceCommandV1,
    AllocationCommandIn,
    AllocationImportIn,
    CapitationFundCommandV1,
    DisbursementCommandV1,
    DisbursementImportIn,
    QuarterlyPaymentCommandV1,
    QuarterlyReportCommandV1,
    QuarterlyResultCommandV1,
    ReversalCommandV1,
    SettlementCommandV1,
    YearEndCommandV1,
    YearEndReversalCommandV1,
)
from services.common.errors import DomainError, error
from services.common.money import round_vnd
from services.common.periods import Quarter, quarter_or_refuse
from services.finance import domain, records
from services.finance.models import (
    Adjustment,
    Allocation,
    CapitationAdvance,
    CapitationFundRecord,
    CapitationPayment,
    CapitationReport,
    CapitationResult,
    CapitationSettlement,
    CapitationSpendReport,
    Disbursement,
    YearEndRecord,
)
from services.finance.reference import reference
from services.finance.unit_of_work import FinanceUnitOfWork

# --------------------------------------------------------------------------- allocations


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


# --------------------------------------------------------------------------- the budget year end


def _year_end(
    uow: FinanceUnitOfWork, kind: str, allocation_id: int, data: dict[str, Any], actor: str | None
) -> dict[str, Any]:
    """Chuyển nguồn or quyết toán of what a past year's allocation still holds: an append-only record."""
    cmd = load_command(YearEndCommandV1, data)
    uow.repo.serialize_writes()
    row = uow.repo.allocation(allocation_id, lock=True)
    today = clock.today()
    domain.raise_if(domain.check_decision(cmd["decision_no"], cmd["decision_date"], today))
    domain.check_year_end(uow.repo.facts(row), kind, cmd["amount"], cmd["date"], today)
    event = "allocation_carried_over" if kind == domain.CARRY_OVER else "allocation_closed"
    return _year_end_recorded(uow, event, row, kind, cmd["amount"], cmd, actor)


def _year_end_recorded(
    uow: FinanceUnitOfWork,
    event: str,
    row: Allocation,
    kind: str,
    amount: int,
    cmd: dict[str, Any],
    actor: str | None,
    reverses_id: int | None = None,
) -> dict[str, Any]:
    """Insert a year-end record (or its reversal), announce it, answer it with its allocation's money."""
    record = uow.repo.add(
        YearEndRecord(
            allocation_id=row.id,
            kind=kind,
            amount=amount,
            date=cmd["date"],
            decision_no=cmd["decision_no"].strip(),
            decision_date=cmd["decision_date"],
            recorded_by=actor,
            note=cmd["note"],
            reverses_id=reverses_id,
            created_at=outbox.utcnow(),
        )
    )
    uow.publish(
        event,
        {
            "record_id": record.id,
            "allocation_id": row.id,
            "fiscal_year": row.fiscal_year,
            "to_year": row.fiscal_year + 1 if kind == domain.CARRY_OVER else None,
            "amount": record.amount,
            "date": record.date,
            "decision_no": record.decision_no,
            "decision_date": record.decision_date,
            "recorded_by": actor,
            "kind": kind,
            "reverses_id": reverses_id,
        },
    )
    return records.year_end_dict(record) | {"allocation": uow.repo.allocation_dict(row)}


def carry_over(uow: FinanceUnitOfWork, allocation_id: int, data: dict[str, Any], actor: str | None = None) -> dict:
    """Chuyển nguồn: money the allocation held on 31/12 becomes payable in the next fiscal year."""
    return _year_end(uow, domain.CARRY_OVER, allocation_id, data, actor)


def close_allocation(
    uow: FinanceUnitOfWork, allocation_id: int, data: dict[str, Any], actor: str | None = None
) -> dict[str, Any]:
    """Quyết toán: money the allocation held on 31/12 lapses; it is never paid out."""
    return _year_end(uow, domain.CLOSE, allocation_id, data, actor)


def reverse_year_end(
    uow: FinanceUnitOfWork, record_id: int, data: dict[str, Any], actor: str | None = None
) -> dict[str, Any]:
    """Hủy (một phần) a carry-over or a close: a negative record naming the original; the money is the year's
    again. A carry-over is never undone below what the next year already paid out of it."""
    cmd = load_command(YearEndReversalCommandV1, data)
    uow.repo.serialize_writes()
    original = uow.repo.year_end_record(record_id)
    row = uow.repo.allocation(original.allocation_id, lock=True)
    domain.raise_if(domain.check_decision(cmd["decision_no"], cmd["decision_date"], clock.today()))
    already = uow.repo.year_end_reversed(original.id)
    amount = cmd["amount"] if cmd["amount"] is not None else int(original.amount) - already
    domain.check_year_end_reversal(
        uow.repo.facts(row), original.kind, int(original.amount), already, amount, original.id
    )
    return _year_end_recorded(
        uow, "allocation_year_end_reversed", row, original.kind, -amount, cmd, actor, reverses_id=original.id
    )


# --------------------------------------------------------------------------- capitation (định suất)


def _facility_quarter(cmd: dict[str, Any]) -> tuple[str, Quarter]:
    """The facility and quarter every quarterly command names, or their named refusals."""
    return domain.parse_facility(cmd["facility_code"]), quarter_or_refuse(cmd["period"])


def _facility_fund_period(cmd: dict[str, Any]) -> tuple[str, int, Quarter | None]:
    """The facility and the fund's period: a year (the legal fund) or a quarter of it (provisional)."""
    facility = domain.parse_facility(cmd["facility_code"])
    year, quarter = domain.parse_fund_period(cmd["period"])
    return facility, year, quarter


def set_capitation_fund(uow: FinanceUnitOfWork, data: dict[str, Any]) -> dict[str, Any]:
    """Quỹ định suất of a facility-year (or a provisional quarter); a later fund for the same period
    supersedes the earlier one."""
    cmd = load_command(CapitationFundCommandV1, data)
    facility, year, quarter = _facility_fund_period(cmd)
    period = str(quarter) if quarter else str(year)
    result = domain.capitation_fund(
        quarter or year,
        cmd["cards"],
        cmd["rate_per_card"],
        cmd["coefficient"],
        cmd["groups"],
        settings=reference().capitation,
    )
    if cmd["decision_no"] is not None or cmd["decision_date"] is not None:
        domain.raise_if(domain.check_decision(cmd["decision_no"], cmd["decision_date"], clock.today()))
    uow.repo.serialize_writes()
    previous = uow.repo.latest_fund(facility, period)
    inputs = result.inputs() | ({"note": cmd["note"]} if cmd["note"] else {})
    if cmd["decision_no"]:  # the document that set the inputs (BHXH's notice of the fund)
        inputs["decision"] = {"number": cmd["decision_no"].strip(), "date": cmd["decision_date"].isoformat()}
    inputs["provisional"] = quarter is not None  # the legal fund is annual; a quarter's is a share of it
    row = uow.repo.add(
        CapitationFundRecord(
            facility_code=facility,
            period=period,
            cards=result.cards,
            coefficient=str(result.coefficient),
            fund=result.fund,
            inputs=inputs,
            supersedes_id=previous.id if previous else None,
            created_at=outbox.utcnow(),
        )
    )
    uow.publish(
        "capitation_fund_set",
        {
            "fund_id": row.id,
            "facility_code": facility,
            "period": row.period,
            "fund": row.fund,
            "cards": row.cards,
            "coefficient": row.coefficient,
            "supersedes_id": row.supersedes_id,
        },
    )
    return records.fund_dict(row)


def pay_advance(uow: FinanceUnitOfWork, data: dict[str, Any]) -> dict[str, Any]:
    """Tạm ứng: any positive amount (the 80% suggestion is kept beside it for audit)."""
    cmd = load_command(AdvanceCommandV1, data)
    facility, quarter = _facility_quarter(cmd)
    domain.raise_if(domain.check_positive(cmd["amount"]))
    uow.repo.serialize_writes()
    row = uow.repo.add(
        CapitationAdvance(
            facility_code=facility,
            period=str(quarter),
            amount=cmd["amount"],
            date=cmd["date"],
            reference=cmd["reference"],
            suggested=uow.repo.suggested_advance(facility, quarter),
            created_at=outbox.utcnow(),
        )
    )
    uow.publish(
        "advance_paid",
        {
            "advance_id": row.id,
            "facility_code": facility,
            "period": row.period,
            "amount": row.amount,
            "date": row.date,
        },
    )
    return records.advance_dict(row) | {"advanced": uow.repo.advanced_total(facility, row.period)}


def _year_figures(
    uow: FinanceUnitOfWork, facility: str, year: int
) -> tuple[CapitationFundRecord | None, int, Decimal, int | None, int]:
    """(fund record, fund, spend of the year, last spend report id, advanced). Without an annual fund, the
    latest fund of each quarter adds up; spend is Σ of each quarter's level in force."""
    quarters = [f"{year}-Q{q}" for q in range(1, 5)]
    record = uow.repo.latest_fund(facility, str(year))
    fund = int(record.fund) if record else 0
    if record is None:
        for p in quarters:
            f = uow.repo.latest_fund(facility, p)
            if f is not None:
                fund += int(f.fund)
                record = f
    spend = Decimal("0.00")
    last: int | None = None
    for p in quarters:
        r = uow.repo.latest_spend(facility, p)
        if r is not None:
            spend += Decimal(r.spend)
            last = r.id
    advanced = sum(uow.repo.advanced_total(facility, p) for p in quarters)
    return record, fund, spend, last, advanced


def _quarter_figures(
    uow: FinanceUnitOfWork, facility: str, period: str
) -> tuple[CapitationFundRecord | None, int, Decimal, int | None, int]:
    """The same figures for one provisional quarter: its fund and spend level in force, its advances."""
    fund = uow.repo.latest_fund(facility, period)
    report = uow.repo.latest_spend(facility, period)
    return (
        fund,
        int(fund.fund) if fund else 0,
        Decimal(report.spend) if report else Decimal("0.00"),
        report.id if report else None,
        uow.repo.advanced_total(facility, period),
    )


def settle_capitation(uow: FinanceUnitOfWork, data: dict[str, Any]) -> dict[str, Any]:
    """Quyết toán định suất: the year (`YYYY`) is the final settlement — surplus to the facility, which passes
    the share its decision sets to the stations; a deficit borne by the facility. A quarter (`YYYY-Qn`) is a
    provisional view. A later settlement of the same period supersedes the earlier (e.g. after late claims)."""
    cmd = load_command(SettlementCommandV1, data)
    facility, year, quarter = _facility_fund_period(cmd)
    period = str(quarter) if quarter else str(year)
    uow.repo.serialize_writes()
    if quarter is not None:
        fund, fund_amount, spend, report_id, advanced = _quarter_figures(uow, facility, period)
    else:
        fund, fund_amount, spend, report_id, advanced = _year_figures(uow, facility, year)
    if fund is None:
        raise DomainError.one(
            "no_capitation_fund",
            f"Chưa có quỹ định suất {period} của cơ sở {facility}: không thể quyết toán.",
            "period",
        )
    decision_no, decision_date = cmd["station_share_decision_no"], cmd["station_share_decision_date"]
    if decision_no or decision_date:
        domain.raise_if(domain.check_decision(decision_no, decision_date, clock.today(), "station_share_decision"))
    result = domain.settle(
        fund_amount,
        spend,
        advanced,
        cmd["station_share_rate"],
        provisional=quarter is not None,
        decision_no=decision_no,
        decision_date=decision_date,
    )
    previous = uow.repo.latest_settlement(facility, period)
    final_share = quarter is None and result.surplus > 0
    row = uow.repo.add(
        CapitationSettlement(
            facility_code=facility,
            period=period,
            fund_id=fund.id,
            spend_report_id=report_id,
            fund=result.fund,
            spend=result.spend,
            spend_vnd=result.spend_vnd,
            advanced=result.advanced,
            balance=result.balance,
            station_share_rate=str(result.station_share_rate),
            station_share=result.station_share,
            provisional=quarter is not None,
            station_share_decision_no=decision_no.strip() if final_share else None,
            station_share_decision_date=decision_date if final_share else None,
            supersedes_id=previous.id if previous else None,
            created_at=outbox.utcnow(),
        )
    )
    uow.publish(
        "settlement_made",
        {
            "settlement_id": row.id,
            "facility_code": facility,
            "period": row.period,
            "fund": row.fund,
            "spend": row.spend_vnd,
            "balance": row.balance,
            "spend_exact": result.spend,
            "advanced": row.advanced,
            "station_share": row.station_share,
            "supersedes_id": row.supersedes_id,
        },
    )
    return records.settlement_dict(row) | {"spend_reported": report_id is not None}


def record_capitation_spend(uow: FinanceUnitOfWork, envelope: dict[str, Any]) -> bool:
    """Consume claims' `capitation_spend_changed` (a level per facility-quarter). Idempotent by event id;
    returns False for a redelivery. Every report is kept; the latest by `occurred_at` is in force."""
    uow.repo.serialize_writes()  # before the inbox savepoint: on SQLite it must sit inside our transaction
    if not uow.first_delivery(envelope["event_id"], envelope["event_type"]):
        return False
    data = load_command(CapitationSpendChangedV1, envelope["data"])
    occurred = datetime.fromisoformat(envelope["occurred_at"])  # stored as the moment it is (Instant: UTC)
    uow.repo.add(
        CapitationSpendReport(
            event_id=envelope["event_id"],
            facility_code=domain.parse_facility(data["facility_code"]),
            period=str(quarter_or_refuse(data["period"])),
            spend=data["spend"],
            claims=data["claims"],
            occurred_at=occurred,
            received_at=outbox.utcnow(),
        )
    )
    return True


# --------------------------------------------------------------------------- quarterly report, result, payment


def check_quarter(data: dict[str, Any]) -> None:
    """Refuse a malformed facility or period before the claims service is asked for the quarter's figures."""
    domain.parse_facility(data.get("facility_code"))
    quarter_or_refuse(data.get("period"))


def record_report(
    uow: FinanceUnitOfWork, data: dict[str, Any], figures: dict[str, Any], actor: str | None = None
) -> dict[str, Any]:
    """BHXH received a facility's quarterly settlement report: its figures are the claims accepted for the
    quarter that day (`figures`, claims' reconciliation), kept as they were; it gives the next quarter's
    advance and the dates of what follows. A later report of the same quarter supersedes the earlier."""
    cmd = load_command(QuarterlyReportCommandV1, data)
    facility, quarter = _facility_quarter(cmd)
    f = domain.QuarterFigures.read(figures)
    share = reference().capitation.advance_share
    terms = domain.report_terms(quarter, cmd["received_date"], f.total, clock.today(), share)
    uow.repo.serialize_writes()
    previous = uow.repo.latest_report(facility, str(quarter))
    row = uow.repo.add(
        CapitationReport(
            facility_code=facility,
            period=str(quarter),
            received_date=cmd["received_date"],
            claims=f.count,
            total=f.total,
            fee_for_service=f.fee_for_service,
            capitation=f.capitation,
            drg=f.drg,
            advance=terms.advance,
            advance_period=str(terms.advance_period),
            advance_due=terms.advance_due,
            result_due=terms.result_due,
            recorded_by=actor,
            supersedes_id=previous.id if previous else None,
            created_at=outbox.utcnow(),
        )
    )
    uow.publish(
        "quarterly_report_received",
        {
            "report_id": row.id,
            "facility_code": facility,
            "period": row.period,
            "received_date": row.received_date,
            "total": Decimal(row.total),
            "advance": row.advance,
            "advance_due": row.advance_due,
        },
    )
    return records.report_dict(row)


def record_result(uow: FinanceUnitOfWork, data: dict[str, Any], figures: dict[str, Any]) -> dict[str, Any]:
    """BHXH's assessed result of the quarter: the approved amounts of the assessments as claims holds them,
    against the quarter's advances; `approved − advanced` is due 10 days later (negative: an excess advance)."""
    cmd = load_command(QuarterlyResultCommandV1, data)
    facility, quarter = _facility_quarter(cmd)
    f = domain.QuarterFigures.read(figures)
    uow.repo.serialize_writes()
    report = uow.repo.latest_report(facility, str(quarter))
    if report is None:
        raise DomainError.one(
            "no_quarterly_report",
            f"Chưa nhận báo cáo quyết toán quý {quarter} của cơ sở {facility}: chưa thể thông báo kết quả.",
            "period",
        )
    domain.check_result_date(report.received_date, cmd["result_date"], clock.today())
    approved_vnd = round_vnd(f.approved)
    advanced = uow.repo.advanced_total(facility, str(quarter))
    previous = uow.repo.latest_result(facility, str(quarter))
    row = uow.repo.add(
        CapitationResult(
            facility_code=facility,
            period=str(quarter),
            report_id=report.id,
            result_date=cmd["result_date"],
            assessed=f.assessed,
            pending=f.pending,
            approved=f.approved,
            approved_vnd=approved_vnd,
            advanced=advanced,
            to_pay=approved_vnd - advanced,
            payment_due=domain.payment_due(cmd["result_date"]),
            reference=cmd["reference"],
            supersedes_id=previous.id if previous else None,
            created_at=outbox.utcnow(),
        )
    )
    uow.publish(
        "quarterly_result_notified",
        {
            "result_id": row.id,
            "facility_code": facility,
            "period": row.period,
            "result_date": row.result_date,
            "approved": Decimal(row.approved),
            "advanced": row.advanced,
            "to_pay": row.to_pay,
        },
    )
    return records.result_dict(row)


def record_payment(uow: FinanceUnitOfWork, data: dict[str, Any]) -> dict[str, Any]:
    """Settle a quarter's result: BHXH pays `approved − advanced`; an excess advance is refunded or offset."""
    cmd = load_command(QuarterlyPaymentCommandV1, data)
    facility, quarter = _facility_quarter(cmd)
    offset = quarter_or_refuse(cmd["offset_period"], "offset_period") if cmd["offset_period"] else None
    uow.repo.serialize_writes()
    result = uow.repo.latest_result(facility, str(quarter))
    if result is None:
        raise DomainError.one(
            "no_quarterly_result", f"Chưa có kết quả giám định quý {quarter} của cơ sở {facility}.", "period"
        )
    domain.check_payment_date(result.result_date, cmd["date"], clock.today())
    settled = uow.repo.settled_on(result)
    domain.check_payment(quarter, int(result.to_pay), settled, cmd["kind"], cmd["amount"], offset)
    row = uow.repo.add(
        CapitationPayment(
            facility_code=facility,
            period=str(quarter),
            result_id=result.id,
            kind=cmd["kind"],
            amount=cmd["amount"],
            date=cmd["date"],
            offset_period=str(offset) if offset else None,
            reference=cmd["reference"],
            created_at=outbox.utcnow(),
        )
    )
    uow.publish(
        "quarterly_payment_made",
        {
            "payment_id": row.id,
            "facility_code": facility,
            "period": row.period,
            "kind": row.kind,
            "amount": row.amount,
            "date": row.date,
            "offset_period": row.offset_period,
        },
    )
    return records.payment_dict(row) | {"left": abs(int(result.to_pay)) - settled - row.amount}
