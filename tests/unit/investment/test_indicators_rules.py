"""The indicator rules without a database: reading values, versions merged, consistency, and each kind of
target measured over a handful of stations (values computed by hand)."""

from __future__ import annotations

from services.investment.domain import indicators as ind
from services.investment.domain import targets


def unit(code: str, group: str | None = "910", **facts: object) -> targets.Unit:
    return targets.Unit(code=code, name=f"Trạm {code}", group=group, group_name=group, facts=facts or None)


def test_values_are_read_liberally_and_refused_by_name() -> None:
    assert ind.parse_value("population", "12.345") == (12345, None)
    assert ind.parse_value("population", 12000.0) == (12000, None)
    assert ind.parse_value("population", " ") == (None, None)
    assert ind.parse_value("population", "1,5")[1].code == "invalid_number"
    assert ind.parse_value("population", "12.34")[1].code == "invalid_number"  # not a thousands group
    assert ind.parse_value("doctor_days_per_week", 8)[1].code == "out_of_range"
    assert ind.parse_value("bhyt_eligible", "Có") == (True, None)
    assert ind.parse_value("bhyt_eligible", "không") == (False, None)
    assert ind.parse_value("bhyt_eligible", "maybe")[1].code == "invalid_boolean"
    assert ind.parse_value("criteria_scores", {"TC1": "8,5", "TC2": 10}) == ({"TC1": 8.5, "TC2": 10}, None)
    assert ind.parse_value("criteria_scores", {"TC1": -1})[1].code == "invalid_scores"
    assert ind.parse_source("  Báo cáo   số 12 ")[0] == "Báo cáo số 12"
    assert ind.parse_source("")[1].code == "source_required"


def test_a_version_carries_the_previous_values_over() -> None:
    previous = {name: None for name in ind.FACT_NAMES} | {"population": 100, "population_managed": 80}
    merged, changed, problems = ind.merge_facts(previous, {"population_managed": 90, "source": "x"}, "commune")
    assert problems == [] and merged["population"] == 100 and merged["population_managed"] == 90
    assert changed == ["population_managed"]
    _m, _c, problems = ind.merge_facts(previous, {"population": 50, "source": "x"}, "commune")
    assert [(p.field, p.code) for p in problems] == [("population_managed", "exceeds_total")]
    _m, _c, problems = ind.merge_facts(None, {"doctors": 0, "doctor_days_per_week": 2, "source": "x"}, "commune")
    assert [(p.field, p.code) for p in problems] == [("doctor_days_per_week", "no_doctor")]
    _m, _c, problems = ind.merge_facts(None, {"doctors": 1, "source": "x"}, "district")
    assert [(p.field, p.code) for p in problems] == [("doctors", "not_for_centre")]


def test_each_kind_of_target() -> None:
    stations = [
        unit("A", doctors=1, doctor_days_per_week=2, population=300, population_managed=200),
        unit("B", doctors=2, doctor_days_per_week=1, population=100, population_managed=100),
        unit("C"),  # not reported
    ]
    # A share: only A has a doctor ≥ 2 days; C counts in the denominator and is named as not reported.
    r = targets.evaluate(targets.Spec("stations_with_doctor", 80, ">="), stations, 2024)
    assert (r.actual, r.numerator, r.denominator, r.met, r.reported) == ("33.33", 1, 3, False, 2)
    assert [(m["code"], m["reason"]) for m in r.misses] == [
        ("B", "2 bác sỹ, 1 ngày/tuần"),
        ("C", "chưa có số liệu bác sỹ năm 2024"),
    ]
    # Pooled: (200 + 100) / (300 + 100) = 75.00; A's own 66.67 misses 70, B's 100 does not.
    r = targets.evaluate(targets.Spec("population_health_managed", 70, ">="), stations, 2024)
    assert (r.actual, r.numerator, r.denominator, r.met, r.reported, r.expected) == ("75.00", 300, 400, True, 2, 3)
    assert [m["code"] for m in r.misses] == ["A", "C"]
    # Nobody reported: not measured.
    r = targets.evaluate(targets.Spec("stations_with_doctor", 80, ">="), [unit("C")], 2024)
    assert r.actual is None and r.met is None
    # The register answers where the year has no fact; a fact of the year wins.
    registered = unit("D")
    registered.register = {"bhyt_eligible": True}
    surveyed = unit("E", bhyt_eligible=False)
    surveyed.register = {"bhyt_eligible": True}
    r = targets.evaluate(targets.Spec("stations_bhyt_eligible", 90, ">="), [registered, surveyed], 2024)
    assert (r.actual, r.numerator, r.source) == ("50.00", 1, "indicators+register")
    # Centres: 70 % and 95 % of their lists; > 80 % of centres must reach 90 %: 1 of 2 = 50.00.
    centres = [
        unit("901", None, services_performed=70, services_in_list=100),
        unit("902", None, services_performed=95, services_in_list=100),
    ]
    share = targets.Spec("district_centres_technical_services_share", 80, ">", threshold=90)
    r = targets.evaluate(share, centres, 2020)
    assert (r.actual, r.numerator, r.denominator, r.met) == ("50.00", 1, 2, False)
    r = targets.evaluate(targets.Spec("district_centres_technical_services", 70, ">="), centres, 2020)
    assert (r.actual, r.numerator, r.denominator, r.met) == ("82.50", 165, 200, True)
    # Per group one level down.
    r = targets.evaluate(targets.Spec("stations_with_doctor", 80, ">="), stations, 2024)
    assert r.by_unit == [
        {"unit": "910", "name": "910", "actual_value": "33.33", "numerator": 1, "denominator": 3, "met": False}
    ]
