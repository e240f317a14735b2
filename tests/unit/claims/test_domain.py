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
