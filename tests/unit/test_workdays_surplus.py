"""Working days from the shipped holiday list, and the one 20% surplus rule."""

from __future__ import annotations

from datetime import date

import pytest

from services.common import surplus, workdays


def test_the_holiday_list_covers_2018_to_2026_and_counts_swaps():
    cal = workdays.calendar()
    assert (cal.first_year, cal.last_year) == (2018, 2026)
    # Received Wed 10/7/2024: Thu 11, Fri 12, Mon 15, Tue 16, Wed 17.
    assert workdays.add_working_days(date(2024, 7, 10), 5) == date(2024, 7, 17)
    # Received Thu 25/4/2024: Fri 26, (29/4 swapped off, 30/4, 1/5 holidays), Thu 2, Fri 3, Sat 4 worked, Mon 6.
    assert workdays.add_working_days(date(2024, 4, 25), 5) == date(2024, 5, 6)
    # Tết Ất Tỵ: received Fri 24/1/2025; 27–31/1 off, Sat 8/2 worked in exchange.
    assert workdays.add_working_days(date(2025, 1, 24), 5) == date(2025, 2, 7)
    assert workdays.add_working_days(date(2025, 1, 24), 6) == date(2025, 2, 8)
    with pytest.raises(workdays.CalendarNotCovered):
        workdays.add_working_days(date(2026, 12, 28), 5)


def test_a_holiday_list_with_a_gap_or_a_weekday_worked_is_refused():
    with pytest.raises(ValueError, match="2019"):
        workdays.parse_calendar(["date,kind,name", "2018-01-01,holiday,a", "2020-01-01,holiday,b"])
    with pytest.raises(ValueError, match="weekend"):
        workdays.parse_calendar(["date,kind,name", "2024-05-06,working,x"])


@pytest.mark.parametrize(
    ("fiscal", "fund", "use", "expected"),
    [
        (2021, 2020, "equipment", []),
        (2016, 2015, "kcb_poor_fund", []),
        (2025, 2019, "patient_transport", []),
        (2022, 2021, "equipment", ["surplus_source_closed"]),
        (2015, 2014, "equipment", ["surplus_source_not_open"]),
        (2020, 2020, "equipment", ["fund_year_not_before_fiscal_year"]),
        (2021, None, "equipment", ["fund_year_required"]),
        (2021, 2020, None, ["surplus_use_required"]),
        (2021, 2020, "bridge", ["unknown_surplus_use"]),
    ],
)
def test_the_20_percent_surplus_rule(fiscal, fund, use, expected):
    assert [e["code"] for e in surplus.check(surplus.SOURCE, fiscal, fund, use)] == expected


def test_the_uses_are_in_their_legal_order():
    assert surplus.USE_CODES == ("kcb_poor_fund", "premium_support", "equipment", "patient_transport")
    assert sorted(["equipment", "kcb_poor_fund", None], key=surplus.use_order) == ["kcb_poor_fund", "equipment", None]


def test_the_uses_report_follows_the_legal_order_and_flags_expired_money():
    finance = [
        {"fund_year": 2020, "use": "equipment", "allocated": 500, "disbursed": 200},
        {"fund_year": 2019, "use": "kcb_poor_fund", "allocated": 100, "disbursed": 100},
        {"fund_year": 2018, "use": None, "allocated": 7, "disbursed": 0},
    ]
    investment = [{"fund_year": 2020, "use": "equipment", "capital": 300}]
    r = surplus.report(finance, investment, date(2022, 9, 30))
    assert [u["use"] for u in r["uses"]] == ["kcb_poor_fund", "equipment", None]
    assert [u["order"] for u in r["uses"]] == [1, 3, None]
    [eq] = r["uses"][1]["fund_years"]
    assert (eq["allocated"], eq["disbursed"], eq["project_capital"], eq["unused"]) == (500, 200, 300, 300)
    assert (eq["expires_on"], eq["expired_unused"]) == ("2022-10-01", False)
    assert surplus.report(finance, investment, date(2022, 10, 1))["uses"][1]["fund_years"][0]["expired_unused"]
    assert r["uses"][0]["fund_years"][0]["expired_unused"] is False  # all disbursed
