"""Pure finance rules: capitation arithmetic, the 20% surplus cut-off, refusals and their codes."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import partial

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.common.errors import DomainError
from services.common.money import execution_rate
from services.common.periods import Quarter, quarter_or_refuse
from services.finance import domain
from services.finance.domain import AllocationFacts
from services.finance.reference import parse_reference, reference

# The rules receive the reference data; the tests give them the real file's.
check_source = partial(domain.check_source, ref=reference())
capitation_fund = partial(domain.capitation_fund, settings=reference().capitation)
advance_of = partial(domain.advance_of, share=reference().capitation.advance_share)


def code_of(fn, *args, **kwargs) -> str:
    with pytest.raises(DomainError) as exc:
        fn(*args, **kwargs)
    return exc.value.errors[0]["code"]


def facts(**kw) -> AllocationFacts:
    base = dict(
        id=1,
        plan_id=1,
        item_code="II.5",
        source="provincial_budget",
        fiscal_year=2024,
        recipient_unit="91",
        kind="budget",
        parent_id=None,
        amount=1000,
        adjustments=0,
        children=0,
        disbursed=0,
    )
    return AllocationFacts(**(base | kw))


# --------------------------------------------------------------------------- reference data


def test_reference_holds_the_nine_sources_and_the_configured_numbers():
    ref = reference()
    assert set(ref.sources) == {
        "provincial_budget",
        "district_budget",
        "ntp_nrd",
        "ntp_health_population",
        "bhyt_surplus_20",
        "bhyt_fund",
        "oda_aid",
        "socialization",
        "other",
    }
    assert ref.sources["bhyt_surplus_20"].legal_basis and "Điều 35" in ref.sources["bhyt_surplus_20"].legal_basis
    assert ref.capitation.advance_share == Decimal("0.80")
    assert "bhyt_fund" not in ref.kinds["package_payment"].sources


def test_reference_refuses_floats_and_unknown_sources():
    from importlib import resources

    import yaml

    data = yaml.safe_load(resources.files("services.finance").joinpath("reference.yaml").read_text("utf-8"))
    bad = data | {"capitation": data["capitation"] | {"advance_share": 0.8}}
    with pytest.raises(ValueError, match="quoted"):
        parse_reference(bad)
    bad = data | {"allocation_kinds": data["allocation_kinds"] | {"x": {"name": "x", "sources": ["state_budget"]}}}
    with pytest.raises(ValueError, match="unknown sources"):
        parse_reference(bad)


# --------------------------------------------------------------------------- allocations


def test_surplus_source_follows_the_fund_year_2015_to_2020():
    def codes(*args: object) -> list[str]:
        return [e["code"] for e in check_source(*args)]  # type: ignore[arg-type]

    assert codes("bhyt_surplus_20", 2021, "budget", 2020, "equipment") == []  # 2020's surplus, spent in 2021
    assert codes("bhyt_surplus_20", 2024, "budget", 2015, "kcb_poor_fund") == []
    [err] = check_source("bhyt_surplus_20", 2022, "budget", 2021, "equipment")
    assert (err["code"], err["field"]) == ("surplus_source_closed", "fund_year")
    assert "Điều 35" in err["message"] and "105/2014" in err["message"]
    assert codes("bhyt_surplus_20", 2016, "budget", 2014, "equipment") == ["surplus_source_not_open"]
    assert codes("bhyt_surplus_20", 2020, "budget", 2020, "equipment") == ["fund_year_not_before_fiscal_year"]
    assert codes("bhyt_surplus_20", 2019, "budget", 2020, "equipment") == ["fund_year_not_before_fiscal_year"]
    assert codes("bhyt_surplus_20", 2021, "budget", None, "equipment") == ["fund_year_required"]
    assert codes("bhyt_surplus_20", 2021, "budget", 2020, None) == ["surplus_use_required"]
    assert codes("bhyt_surplus_20", 2021, "budget", 2020, "roads") == ["unknown_surplus_use"]
    assert codes("provincial_budget", 2024, "budget", 2020) == ["fund_year_not_applicable"]
    assert codes("provincial_budget", 2024, "budget", None, "equipment") == ["surplus_use_not_applicable"]


def test_package_payments_come_from_the_budget_or_programs_only():
    assert check_source("ntp_health_population", 2024, "package_payment", None) == []
    [refused] = check_source("bhyt_fund", 2024, "package_payment", None)
    assert refused["code"] == "source_not_allowed_for_kind"
    assert refused["message"].endswith(
        "không chi từ nguồn 'Quỹ bảo hiểm y tế'; nguồn được dùng: Ngân sách tỉnh, Ngân sách huyện, "
        "Chương trình mục tiêu Y tế – Dân số, Nguồn hợp pháp khác."
    )
    assert check_source("x", 2024, "budget", None)[0]["code"] == "unknown_source"
    assert check_source("other", 2024, "grant", None)[0]["code"] == "unknown_kind"


def test_decisions_need_a_number_and_a_date_not_in_the_future():
    today = date(2024, 5, 1)
    assert domain.check_decision("12/QĐ-UBND", date(2024, 5, 1), today) == []
    assert [e["field"] for e in domain.check_decision("", None, today)] == ["decision_no", "decision_date"]
    assert domain.check_decision("1", date(2024, 5, 2), today)[0]["code"] == "invalid_decision"


def test_sub_allocation_rules():
    parent = facts(children=300, disbursed=100)  # 600 left
    ok = dict(
        plan_ids_below_parent_plan={2},
        plan_id=2,
        item_code="II.5",
        source="provincial_budget",
        fiscal_year=2024,
        kind="budget",
        recipient="910",
        amount=600,
    )
    domain.check_sub_allocation(parent, **ok)
    assert code_of(domain.check_sub_allocation, parent, **(ok | {"amount": 601})) == "exceeds_parent"
    assert code_of(domain.check_sub_allocation, parent, **(ok | {"source": "other"})) == "sub_allocation_mismatch"
    assert code_of(domain.check_sub_allocation, parent, **(ok | {"fiscal_year": 2023})) == "sub_allocation_mismatch"
    assert code_of(domain.check_sub_allocation, parent, **(ok | {"item_code": "II.4"})) == "sub_allocation_mismatch"
    assert code_of(domain.check_sub_allocation, parent, **(ok | {"plan_id": 3})) == "sub_allocation_mismatch"
    assert code_of(domain.check_sub_allocation, parent, **(ok | {"recipient": "91"})) == "not_below_parent"
    district = facts(recipient_unit="910", item_code="II.2")
    domain.check_sub_allocation(district, **(ok | {"recipient": "31060", "item_code": "II.2.4", "amount": 1}))
    assert code_of(domain.check_sub_allocation, district, **(ok | {"recipient": "30730", "item_code": "II.2"})) == (
        "not_below_parent"
    )


def test_disbursements_reversals_and_adjustments():
    a = facts(adjustments=-100, children=500, disbursed=300)  # 900 allocated, 100 left
    domain.check_disbursement(a, 100)
    assert code_of(domain.check_disbursement, a, 101) == "exceeds_allocation"
    assert code_of(domain.check_disbursement, a, 0) == "amount_not_positive"
    domain.check_reversal(300, 100, 200, 7)
    assert code_of(domain.check_reversal, 300, 100, 201, 7) == "exceeds_disbursement"
    assert code_of(domain.check_reversal, 300, 300, 1, 7) == "already_reversed"
    assert code_of(domain.check_reversal, -300, 0, 1, 7) == "not_reversible"
    domain.check_adjustment(a, None, -100)  # down to exactly what is used
    assert code_of(domain.check_adjustment, a, None, -101) == "below_used"
    assert code_of(domain.check_adjustment, a, None, 0) == "amount_not_positive"
    parent = facts(id=9, children=900)  # 100 left
    domain.check_adjustment(a, parent, 100)
    assert code_of(domain.check_adjustment, a, parent, 101) == "exceeds_parent"


def test_what_an_allocation_keeps_covers_the_project_capital_linked_to_it():
    # 1,000 allocated, 300 passed down, 250 paid out directly: it keeps 700, of which projects hold 600.
    a = facts(children=300, disbursed=250)
    domain.check_linked_capital(a, 600, 100)  # down to exactly the capital
    refusal = pytest.raises(DomainError)
    with refusal:
        domain.check_linked_capital(a, 600, 101)
    error = refusal.excinfo.value.errors[0]
    assert (error["code"], error["field"]) == ("below_linked_capital", "amount")
    assert "nguồn của 600 đ vốn" in error["message"] and "chỉ còn giữ 599 đ" in error["message"]
    # Payments made directly against the allocation are not part of the test (the link's room leaves them
    # in, as the gateway computes it): what counts is allocated less what was passed down.
    domain.check_linked_capital(facts(children=300, disbursed=700), 600, 100)
    # Nothing linked, nothing known (a caller that did not ask investment), nothing taken: nothing to refuse.
    for linked, taken in ((0, 10_000), (None, 10_000), (600, 0), (600, -50)):
        domain.check_linked_capital(a, linked, taken)
    # Capital already above what the allocation keeps (a link and a reduction sent at the same instant): any
    # further taking is refused.
    assert code_of(domain.check_linked_capital, facts(children=500), 600, 1) == "below_linked_capital"


@pytest.mark.parametrize(
    ("allocated", "disbursed", "rate"),
    [
        (0, 0, None),
        (3, 1, "0.3333"),
        (3, 2, "0.6667"),
        (10_000, 4_523, "0.4523"),
        (7, 7, "1.0000"),
        (2_000_000, 1, "0.0000"),
        (20_000, 1, "0.0001"),  # 0.00005 rounds half up
    ],
)
def test_execution_rate_is_a_four_decimal_string(allocated, disbursed, rate):
    assert execution_rate(allocated, disbursed) == rate


# --------------------------------------------------------------------------- capitation


def test_fund_is_cards_times_rate_times_coefficient_rounded_half_up():
    q = Quarter(2024, 2)
    f = capitation_fund(q, 1000, 12_345, "1.05")
    assert (f.base, f.fund, f.cards) == (12_345_000, 12_962_250, 1000)
    assert capitation_fund(q, 3, 5, "1.1").fund == 17  # 16.5 → 17
    assert capitation_fund(q, 1, 5, "0.9").fund == 5  # 4.5 → 5
    assert capitation_fund(q, 1, 5, "0.89").fund == 4  # 4.45 → 4
    inputs = capitation_fund(q, 10, 100, Decimal("1.0000001")).inputs()
    assert inputs["coefficient"] == "1.0000001" and inputs["groups"] == [
        {"group": "all", "cards": 10, "rate_per_card": 100}
    ]


def test_fund_from_card_groups_and_from_the_years_defaults():
    q = Quarter(2024, 1)
    f = capitation_fund(
        q,
        None,
        None,
        "0.98",
        [
            {"group": "trẻ em", "cards": 200, "rate_per_card": 20_000},
            {"group": "khác", "cards": 800, "rate_per_card": 10_000},
        ],
    )
    assert f.fund == 11_760_000 and f.cards == 1000
    d = capitation_fund(q, 10, 1_000, None)
    assert d.coefficient == Decimal("1") and d.defaults_used == ("coefficient",)
    assert code_of(capitation_fund, q, 10, None, "1") == "rate_not_configured"
    assert code_of(capitation_fund, Quarter(2030, 1), 10, 5, None) == "coefficient_not_configured"
    assert code_of(capitation_fund, q, 10, 5, 1.05) == "invalid_decimal"  # a float is refused
    assert code_of(capitation_fund, q, 10, 5, "-1") == "invalid_decimal"
    assert code_of(capitation_fund, q, 10, 0, "1") == "amount_not_positive"
    assert code_of(capitation_fund, q, -1, 5, "1") == "invalid_cards"
    assert code_of(capitation_fund, q, 1, 5, "1", [{"group": "a", "cards": 1, "rate_per_card": 1}]) == (
        "groups_and_totals"
    )


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 200_000), st.integers(1, 2_000_000)), min_size=1, max_size=5),
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal("3"), places=4),
)
def test_fund_is_exact_for_any_inputs(groups, coefficient):
    f = capitation_fund(
        Quarter(2024, 3),
        None,
        None,
        coefficient,
        [{"group": str(i), "cards": c, "rate_per_card": r} for i, (c, r) in enumerate(groups)],
    )
    exact = sum(Decimal(c) * r for c, r in groups) * coefficient
    assert abs(Decimal(f.fund) - exact) <= Decimal("0.5")
    assert Decimal(f.fund) - exact != Decimal("-0.5")  # a half đồng goes up


def test_the_advance_is_80_percent_of_the_reports_total():
    assert advance_of(Decimal("1200000.40")) == 960_000
    assert advance_of(Decimal("10.63")) == 9  # 8.504
    assert advance_of(Decimal("0.625")) == 1  # 0.5 → 1


def test_a_quarterly_report_is_owed_for_each_quarter_a_capitation_fund_covers():
    """Luật BHYT Điều 32 k2: a contracted facility reports each quarter; NĐ 146/2018 Điều 25 k4: the fund is the
    year's, so a year's fund covers its four quarters; a provisional quarter's fund covers that quarter only."""
    owing = domain.quarters_owing_report([
        ("91301", "2025", 900_000_000),
        ("91302", "2025-Q3", 50_000_000),
        ("91303", "2025", 10), ("91303", "2025", 0),  # superseded by 0 (no cards): nothing owed
        ("91304", "2026-Q1", 0), ("91304", "2026-Q1", 70_000_000),  # the other way round: owed
    ])  # fmt: skip
    assert owing == {
        *{("91301", f"2025-Q{n}") for n in range(1, 5)}, ("91302", "2025-Q3"), ("91304", "2026-Q1"),
    }  # fmt: skip
    assert domain.quarters_owing_report([]) == set()


def test_a_years_settlement_needs_the_stations_share_and_its_decision():
    dec = {"decision_no": "12/QĐ-TTYT", "decision_date": date(2025, 1, 20)}
    s = domain.settle(1_000_000, Decimal("800000.50"), 600_000, Decimal("0.30"), **dec)
    assert (s.spend_vnd, s.balance, s.surplus, s.deficit) == (800_001, 199_999, 199_999, 0)
    assert s.station_share == 60_000  # 30% of 199 999 = 59 999.7, the decision's share
    assert s.to_pay == 400_000
    # No default share: a surplus without the share, or without its decision, is refused.
    assert code_of(domain.settle, 1_000_000, Decimal("800000"), 0) == "station_share_required"
    assert code_of(domain.settle, 1_000_000, Decimal("800000"), 0, Decimal("0.3")) == "invalid_decision"
    # A deficit is borne by the facility: nothing to pass on, no share needed.
    d = domain.settle(1_000_000, Decimal("1100000"), 800_000)
    assert (d.balance, d.surplus, d.deficit, d.station_share, d.to_pay) == (-100_000, 0, 100_000, 0, 200_000)
    assert code_of(domain.settle, 1, Decimal(0), 0, Decimal("1.5"), **dec) == "invalid_share"
    # A quarter is provisional: no share is passed, and none may be given.
    q = domain.settle(1_000_000, Decimal("800000"), 0, provisional=True)
    assert (q.surplus, q.station_share) == (200_000, 0)
    assert code_of(domain.settle, 1, Decimal(0), 0, Decimal("0.3"), provisional=True) == "station_share_yearly"


@pytest.mark.parametrize("code", ["9100", "910011", "A1001", "91a01", "", None, 91001])
def test_facility_codes_are_five_characters_province_first(code):
    assert code_of(domain.parse_facility, code) == "invalid_facility"


def test_facility_codes_accepted():
    assert domain.parse_facility("91001") == "91001" and domain.parse_facility("91T01") == "91T01"


def test_periods_are_quarters():
    assert quarter_or_refuse("2024-Q3") == Quarter(2024, 3)
    for bad in ("2024-Q5", "2024-07", "2024", None):
        assert code_of(quarter_or_refuse, bad) == "invalid_period"
