"""Pure rules of the budget year end (chuyển nguồn, quyết toán) and of the sources a root allocation may
name (the plan's section III), figures worked by hand."""

from __future__ import annotations

from datetime import date

import pytest

from services.common.catalog import get_plan
from services.common.errors import DomainError
from services.finance import domain
from services.finance.domain import AllocationFacts, PlanFacts

TODAY = date(2025, 3, 10)
M = 1_000_000


def facts(**kw) -> AllocationFacts:
    base = dict(
        id=7,
        plan_id=1,
        item_code="II.5",
        source="provincial_budget",
        fiscal_year=2024,
        recipient_unit="91",
        kind="budget",
        parent_id=None,
        amount=1_000 * M,
        adjustments=0,
        children=0,
        disbursed=0,
    )
    return AllocationFacts(**(base | kw))


def refusal(fn, *args) -> tuple[str, str]:
    with pytest.raises(DomainError) as exc:
        fn(*args)
    return exc.value.errors[0]["code"], exc.value.errors[0]["field"]


# --------------------------------------------------------------------------- what an allocation holds


def test_without_year_end_records_nothing_changes():
    a = facts(adjustments=100 * M, children=300 * M, disbursed=250 * M, disbursed_after=50 * M)
    # 1 100 allocated − 300 passed down − 250 paid = 550, as before the year end existed.
    assert a.remaining == 550 * M
    assert not a.year_ended and a.carried_over_left == 0


def test_carry_over_keeps_money_for_the_next_year_apart():
    # 1 000 allocated, 300 passed to a district, 400 paid in 2024: 300 held on 31/12/2024.
    a = facts(children=300 * M, disbursed=400 * M)
    assert a.undisbursed_at_year_end == 300 * M
    carried = facts(children=300 * M, disbursed=400 * M, carried_over=200 * M)
    # 200 carried to 2025 (payable only then), 100 still undecided and payable on 2024 dates.
    assert (carried.year_end_open, carried.carried_over_left, carried.remaining) == (100 * M, 200 * M, 100 * M)
    # 2025: 150 paid out of the carried money; 50 of it left.
    paid = facts(children=300 * M, disbursed=550 * M, disbursed_after=150 * M, carried_over=200 * M)
    assert (paid.carried_over_left, paid.remaining, paid.year_end_open) == (50 * M, 100 * M, 100 * M)
    # The last 100 closed: it lapses; nothing of the year is left, 50 carried still to pay.
    closed = facts(children=300 * M, disbursed=550 * M, disbursed_after=150 * M, carried_over=200 * M, closed=100 * M)
    assert (closed.remaining, closed.year_end_open, closed.carried_over_left) == (0, 0, 50 * M)


def test_limits_of_a_carry_over_and_of_a_close():
    # 2025 payments recorded before any year-end record (80) must be covered by a carry-over: a close cannot
    # take money already paid out, a carry-over can (it is what covers them).
    a = facts(disbursed=700 * M, disbursed_after=80 * M)  # 620 paid in 2024, 380 held on 31/12
    assert domain.year_end_limit(a, domain.CARRY_OVER) == 380 * M
    assert domain.year_end_limit(a, domain.CLOSE) == 300 * M
    domain.check_year_end(a, domain.CLOSE, 300 * M, date(2024, 12, 31), TODAY)
    assert refusal(domain.check_year_end, a, domain.CLOSE, 300 * M + 1, date(2025, 1, 5), TODAY) == (
        "exceeds_undisbursed",
        "amount",
    )
    domain.check_year_end(a, domain.CARRY_OVER, 380 * M, date(2025, 1, 5), TODAY)
    assert refusal(domain.check_year_end, a, domain.CARRY_OVER, 380 * M + 1, date(2025, 1, 5), TODAY)[0] == (
        "exceeds_undisbursed"
    )


def test_a_parent_carries_over_only_what_its_children_do_not_hold():
    # A province allocation of 1 000 passed 600 to districts and paid 100 itself: it holds 300 on 31/12.
    parent = facts(children=600 * M, disbursed=100 * M)
    domain.check_year_end(parent, domain.CARRY_OVER, 300 * M, date(2025, 1, 2), TODAY)
    assert refusal(domain.check_year_end, parent, domain.CARRY_OVER, 300 * M + 1, date(2025, 1, 2), TODAY)[0] == (
        "exceeds_undisbursed"
    )


def test_year_end_dates_years_and_amounts():
    a = facts()
    assert refusal(domain.check_year_end, facts(fiscal_year=2025), domain.CARRY_OVER, 1, date(2025, 3, 1), TODAY) == (
        "year_not_ended",
        "id",
    )
    assert refusal(domain.check_year_end, a, domain.CARRY_OVER, 1, date(2024, 12, 30), TODAY) == (
        "before_year_end",
        "date",
    )
    assert refusal(domain.check_year_end, a, domain.CLOSE, 1, date(2025, 3, 11), TODAY) == ("date_in_future", "date")
    assert refusal(domain.check_year_end, a, domain.CLOSE, 0, date(2025, 1, 1), TODAY) == (
        "amount_not_positive",
        "amount",
    )
    domain.check_year_end(a, domain.CLOSE, 1_000 * M, date(2024, 12, 31), TODAY)


# --------------------------------------------------------------------------- paying after the year end


def test_next_years_payments_draw_only_on_carried_money():
    carried = facts(disbursed=600 * M, carried_over=250 * M)  # 150 undecided of 2024, 250 carried to 2025
    domain.check_disbursement(carried, 250 * M, date(2025, 6, 1))
    assert refusal(domain.check_disbursement, carried, 250 * M + 1, date(2025, 6, 1)) == (
        "exceeds_carried_over",
        "amount",
    )
    # A late-entered payment dated in 2024 takes the year's undecided money, not the carried.
    domain.check_disbursement(carried, 150 * M, date(2024, 12, 20))
    assert refusal(domain.check_disbursement, carried, 150 * M + 1, date(2024, 12, 20))[0] == "exceeds_allocation"
    # Carried money is the next year's only.
    assert refusal(domain.check_disbursement, carried, 1, date(2026, 1, 2)) == ("carried_over_expired", "date")


def test_closed_money_is_never_paid_out():
    closed = facts(disbursed=600 * M, closed=400 * M)
    assert closed.remaining == 0
    assert refusal(domain.check_disbursement, closed, 1, date(2025, 2, 1))[0] == "exceeds_carried_over"
    assert refusal(domain.check_disbursement, closed, 1, date(2024, 12, 1))[0] == "exceeds_allocation"


def test_adjustments_and_sub_allocations_leave_carried_and_closed_money_alone():
    a = facts(disbursed=600 * M, carried_over=300 * M)  # 100 of 2024 still open
    assert refusal(domain.check_adjustment, a, None, -100 * M - 1)[0] == "below_used"
    domain.check_adjustment(a, None, -100 * M)
    assert a.remaining == 100 * M  # what a sub-allocation may take (exceeds_parent above it)


# --------------------------------------------------------------------------- section III of the plans


def plan_facts(plan_id: int) -> PlanFacts:
    plan = get_plan(plan_id)
    named = frozenset(s.code for i in plan.items if i.kind == "funding" for s in i.funding_sources)
    return PlanFacts(plan.id, plan.number, plan.unit, plan.period_from, plan.period_to, None, named)


def test_the_real_plans_name_their_sources():
    # 158/KH-UBND section III: ngân sách tỉnh, CTMTQG NTM, CTMT Y tế – Dân số, 20% kết dư, tài trợ/viện trợ,
    # xã hội hóa, nguồn hợp pháp khác. 34/KH-UBND: the same less the 20% surplus; neither names the district
    # budget or the BHYT fund.
    assert plan_facts(1).sources == {
        "provincial_budget", "ntp_nrd", "ntp_health_population", "bhyt_surplus_20", "oda_aid", "socialization", "other",
    }  # fmt: skip
    assert plan_facts(2).sources == plan_facts(1).sources - {"bhyt_surplus_20"}


@pytest.mark.parametrize(
    ("plan_id", "source", "refused"),
    [
        (1, "provincial_budget", False),
        (1, "bhyt_surplus_20", False),
        (1, "district_budget", True),
        (1, "bhyt_fund", True),
        (2, "ntp_nrd", False),
        (2, "bhyt_surplus_20", True),
        (2, "district_budget", True),
    ],
)
def test_a_root_names_a_source_of_its_plans_section_iii(plan_id, source, refused):
    errors = domain.check_source_in_plan(plan_facts(plan_id), source)
    assert [(e["code"], e["field"]) for e in errors] == ([("source_not_in_plan", "source")] if refused else [])


def test_a_source_outside_section_iii_is_named_as_people_read_it():
    [refused] = domain.check_source_in_plan(plan_facts(2), "district_budget")
    assert "không nêu nguồn 'Ngân sách huyện'" in refused["message"]
    assert "provincial_budget" not in refused["message"] and "Ngân sách tỉnh" in refused["message"]


def test_a_plan_the_catalog_does_not_hold_is_not_asked():
    assert domain.check_source_in_plan(PlanFacts(9, "x", "91", 2018, 2025, None), "bhyt_fund") == []


# --------------------------------------------------------------------------- correcting a record


def test_a_year_end_record_is_undone_by_a_negative_record():
    # 300 carried over, 120 of it paid in 2025: 180 may be undone, not more.
    a = facts(disbursed=820 * M, disbursed_after=120 * M, carried_over=300 * M)
    domain.check_year_end_reversal(a, domain.CARRY_OVER, 300 * M, 0, 180 * M, 4)
    assert refusal(domain.check_year_end_reversal, a, domain.CARRY_OVER, 300 * M, 0, 180 * M + 1, 4) == (
        "carried_over_paid",
        "amount",
    )
    # A close is undone whatever was paid: the money is the year's again.
    closed = facts(disbursed=700 * M, closed=300 * M)
    domain.check_year_end_reversal(closed, domain.CLOSE, 300 * M, 100 * M, 200 * M, 5)
    assert refusal(domain.check_year_end_reversal, closed, domain.CLOSE, 300 * M, 100 * M, 200 * M + 1, 5)[0] == (
        "exceeds_year_end_record"
    )
    assert refusal(domain.check_year_end_reversal, closed, domain.CLOSE, 300 * M, 300 * M, 1, 5)[0] == (
        "already_reversed"
    )
    assert refusal(domain.check_year_end_reversal, closed, domain.CLOSE, -10, 0, 1, 6)[0] == "not_reversible"
