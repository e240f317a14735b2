"""The claims domain's own rules in plain Python (services/claims/domain): periods, the kept totals' increments
and how an assessment batch is answered and announced. No database: the handlers using them are tested on SQLite
and PostgreSQL in tests/integration/claims."""

from __future__ import annotations

from decimal import Decimal

import pytest

from services.claims.domain import assessment, totals
from services.claims.domain.periods import month_of, period_months, settlement_period
from services.common.errors import DomainError


def test_finance_periods_are_keyed_by_quarter() -> None:
    assert settlement_period("2024-Q3") == ("2024-Q3", 2024)
    assert settlement_period(" 2024-08 ") == ("2024-Q3", 2024)  # a month folds into its quarter
    assert settlement_period("2024-13") == ("2024-13", 2024)  # kept as sent: it matches no quarter
    assert settlement_period("quý 3") == ("quý 3", None)
    assert month_of("2024-7") is None and month_of("2024-07") == (2024, 7)


def test_claims_filter_periods() -> None:
    assert period_months("2024") == (2024, list(range(1, 13)))
    assert period_months("2024-Q2") == (2024, [4, 5, 6])
    assert period_months("2024-11") == (2024, [11])
    for bad in ("2024-Q5", "24-11", "", "2024-00"):
        with pytest.raises(DomainError) as exc:
            period_months(bad)
        assert exc.value.errors[0]["code"] == "invalid_period"


def test_assessment_increments_move_money_and_supersede() -> None:
    first = totals.for_assessments("91060", [(1, Decimal("100.00"), 2024, 3, Decimal("60.50"))], {})
    assert first[("91060", 2024, 3)] == {
        **dict.fromkeys(totals.FIELDS, 0), "assessed": 1, "pending": -10000, "approved": 6050, "rejected": 3950
    }
    again = totals.for_assessments("91060", [(1, Decimal("100.00"), 2024, 3, Decimal("100.00"))], {1: Decimal("60.50")})
    row = again[("91060", 2024, 3)]
    assert (row["assessed"], row["approved"], row["rejected"], row["pending"]) == (0, 3950, -3950, 0)


def test_claim_increments_count_only_accepted_claims() -> None:
    rows = [
        {"status": "accepted", "facility_code": "91060", "period_year": 2024, "period_quarter": 3,
         "t_bhtt": Decimal("10.00"), "bhtt_capitation": Decimal("4.00"), "bhtt_fee_for_service": Decimal("6.00")},
        {"status": "rejected", "facility_code": "91060", "period_year": 2024, "period_quarter": 3,
         "t_bhtt": Decimal("99.00")},
        {"status": "accepted", "facility_code": "91060", "period_year": None, "period_quarter": None, "t_bhtt": None},
    ]
    deltas = totals.for_claims(rows)
    assert deltas[("91060", 2024, 3)]["claims"] == 1 and deltas[("91060", 2024, 3)]["requested"] == 1000
    assert deltas[("91060", 2024, 3)]["capitation"] == 400 and deltas[("91060", 2024, 3)]["fee_for_service"] == 600
    assert deltas[("91060", 0, 0)]["claims"] == 1  # a claim without its period is kept under 0/0


def test_capitation_counts_against_the_fund_of_the_cards_registered_facility() -> None:
    """NĐ 146/2018 Điều 25 k2: A's card treated at B adds to A's capitation spend; B keeps what it treated."""
    a, b = "91060", "91061"
    rows = [
        # A's card treated at B: 12.34 capitation, 5.00 fee for service
        {"status": "accepted", "facility_code": b, "period_year": 2024, "period_quarter": 3, "ma_dkbd": a,
         "t_bhtt": Decimal("17.34"), "bhtt_capitation": Decimal("12.34"), "bhtt_fee_for_service": Decimal("5.00")},
        # B's own card treated at B: 3.00 capitation (lower case and spaces forgiven, as the reader forgives them)
        {"status": "accepted", "facility_code": b, "period_year": 2024, "period_quarter": 3, "ma_dkbd": " 91061 ",
         "t_bhtt": Decimal("3.00"), "bhtt_capitation": Decimal("3.00")},
        # A's card (its first card; the second names B) treated at A: 1.00
        {"status": "accepted", "facility_code": a, "period_year": 2024, "period_quarter": 3, "ma_dkbd": f"{a};{b}",
         "t_bhtt": Decimal("1.00"), "bhtt_capitation": Decimal("1.00")},
        # no MA_DKBD: counted at the treating facility, as its own card
        {"status": "accepted", "facility_code": a, "period_year": 2024, "period_quarter": 3, "ma_dkbd": None,
         "t_bhtt": Decimal("2.00"), "bhtt_capitation": Decimal("2.00")},
        # rejected: nowhere
        {"status": "rejected", "facility_code": b, "period_year": 2024, "period_quarter": 3, "ma_dkbd": a,
         "t_bhtt": Decimal("50.00"), "bhtt_capitation": Decimal("50.00")},
    ]
    deltas = totals.for_claims(rows)
    at_a, at_b = deltas[(a, 2024, 3)], deltas[(b, 2024, 3)]
    # by the treating facility, as before
    assert (at_b["claims"], at_b["capitation"], at_b["requested"]) == (2, 1534, 2034)
    assert (at_a["claims"], at_a["capitation"]) == (2, 300)
    # by the registered facility: A's fund bears 12.34 (at B) + 1.00 + 2.00 (at A); B's only its own 3.00
    assert (at_a["registered_claims"], at_a["capitation_registered"], at_a["capitation_own"]) == (3, 1534, 300)
    assert (at_b["registered_claims"], at_b["capitation_registered"], at_b["capitation_own"]) == (1, 300, 300)
    # the three views of the reconciliation: own cards here, own cards elsewhere, other cards here
    assert at_a["capitation_registered"] - at_a["capitation_own"] == 1234
    assert at_b["capitation"] - at_b["capitation_own"] == 1234


def test_the_registered_facility_of_a_claim() -> None:
    assert totals.registered_facility("91001", "91060") == "91001"
    assert totals.registered_facility("91001;91060", "91060") == "91001"  # the first card's
    assert totals.registered_facility(";91001", "91060") == "91001"
    assert totals.registered_facility("9100a", "91060") == "9100A"
    assert totals.registered_facility(None, "91060") == "91060"
    assert totals.registered_facility("  ", "91060") == "91060"
    assert totals.registered_facility("junk", "91060") == "91060"  # never accepted (value_invalid); not guessed


def test_an_assessment_batch_is_answered_and_announced_per_quarter() -> None:
    items = [
        assessment.read_item({"ma_lk": " A ", "approved_amount": "10"}),
        assessment.read_item({"ma_lk": "B", "approved_amount": "2.504", "reason_code": "sai_gia"}),
        assessment.read_item({"ma_lk": "C", "approved_amount": "0", "reason_code": "sai_gia"}),
    ]
    assert items[0].ma_lk == "A" and items[1].approved_amount == Decimal("2.50")
    claims = {
        "A": assessment.AcceptedClaim(1, Decimal("10.00"), 2024, 3),
        "B": assessment.AcceptedClaim(2, Decimal("5.00"), 2024, 3),
        "C": assessment.AcceptedClaim(3, Decimal("7.00"), 2024, 4),
    }
    assert [assessment.item_answer(i, claims[i.ma_lk].requested)["outcome"] for i in items] == [
        "approved", "partial", "refused"
    ]
    assert assessment.item_answer(items[1], Decimal("5.00"))["rejected"] == "2.50"
    assert assessment.by_quarter(items, claims) == {(2024, 3): (2, Decimal("12.50")), (2024, 4): (1, Decimal("0"))}
