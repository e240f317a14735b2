from datetime import date
from decimal import Decimal

import pytest
from marshmallow import Schema, ValidationError

from services.common.contracts.fields import VND, Money2
from services.common.money import MoneyError, decimal2, format_vnd, round_vnd
from services.common.periods import PeriodError, Quarter, parse_period


def test_decimal2_and_rounding():
    assert decimal2("12.345") == Decimal("12.35")
    assert round_vnd(Decimal("2.5")) == 3 and round_vnd(Decimal("-2.5")) == -3
    with pytest.raises(MoneyError):
        decimal2("NaN")
    with pytest.raises(MoneyError):
        decimal2(0.1)


def test_format_vnd_vietnamese_grouping():
    assert format_vnd(1234567000) == "1.234.567.000 đ"
    assert format_vnd(Decimal("1234.50")) == "1.234,50 đ"


def test_contract_fields():
    class S(Schema):
        amount = VND(required=True)
        claim = Money2(required=True)

    assert S().load({"amount": 5, "claim": "10.5"}) == {"amount": 5, "claim": Decimal("10.50")}
    for bad in ({"amount": 1.5, "claim": "1"}, {"amount": 1, "claim": 1.5}, {"amount": 1, "claim": "1.001"}):
        with pytest.raises(ValidationError):
            S().load(bad)
    assert S().dump({"amount": 5, "claim": Decimal("3")}) == {"amount": 5, "claim": "3.00"}


def test_periods():
    q = Quarter.parse("2024-Q3")
    assert (q.start, q.end, q.months) == (date(2024, 7, 1), date(2024, 9, 30), (7, 8, 9))
    assert str(q.previous()) == "2024-Q2" and str(Quarter.parse("2024-Q1").previous()) == "2023-Q4"
    assert Quarter.of_month(2024, 12) == Quarter(2024, 4)
    assert parse_period("2024-02") == (date(2024, 2, 1), date(2024, 2, 29))
    assert parse_period("2025") == (date(2025, 1, 1), date(2025, 12, 31))
    for bad in ("2024-Q5", "2024-13", "24", ""):
        with pytest.raises(PeriodError):
            parse_period(bad)
