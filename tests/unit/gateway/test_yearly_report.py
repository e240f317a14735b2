"""The yearly report's pure parts: who is late after 30/11 (on time, late, overdue, pending; the latest
submission counts), the gauge's counts, the unit's sections as versions, the Vietnamese figures and the issuer
of each level's report."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from services.common import catalog
from services.gateway.application import yearly_report as report
from services.gateway.models import GatewayBase, ReportSubmission


@pytest.fixture
def session() -> Session:
    engine = create_engine("sqlite://")
    GatewayBase.metadata.create_all(engine)
    with Session(engine) as s:
        yield s


def submit(s: Session, unit: str, on: date, year: int = 2024, plan_id: int = 1) -> None:
    s.add(ReportSubmission(plan_id=plan_id, unit=unit, year=year, submitted_on=on, document="1/BC", recorded_by="t"))
    s.flush()


def test_on_time_late_overdue_and_pending(session: Session) -> None:
    plan = catalog.get_plan(1)
    submit(session, "910", date(2024, 11, 30))  # the deadline day itself is on time
    submit(session, "903", date(2024, 11, 20))
    submit(session, "903", date(2024, 12, 2))  # a resubmission after 30/11: the latest counts
    before = report.reporting_status(session, plan, 2024, date(2024, 11, 30), None)
    assert before["rollup"] == {"expected": 15, "reported": 2, "on_time": 1, "late": 1, "overdue": 0,
                                "pending": 13, "late_total": 1}  # fmt: skip
    after = report.reporting_status(session, plan, 2024, date(2024, 12, 1), None)
    assert after["rollup"]["overdue"] == 13 and after["rollup"]["late_total"] == 14
    by_unit = {u["unit"]: u for u in after["units"]}
    assert by_unit["903"]["status"] == "late" and by_unit["903"]["submission"]["submitted_on"] == "2024-12-02"
    assert by_unit["910"]["status"] == "on_time" and by_unit["910"]["name"] == "Huyện Vĩnh Thuận"
    assert [u["unit"] for u in report.reporting_status(session, plan, 2024, date(2025, 1, 1), "910")["units"]] == [
        "910"
    ]
    # The district plan: its own health centre reports.
    assert report.expected_units(catalog.get_plan(2)) == ["910"]


def test_the_gauge_counts_each_plans_current_year_and_every_year_submitted(session: Session) -> None:
    submit(session, "910", date(2022, 12, 5), year=2022, plan_id=2)
    counts = report.late_counts(session, date(2026, 12, 6))
    assert counts[("34/KH-UBND", 2022)] == 1  # sent after 30/11/2022
    assert counts[("158/KH-UBND", 2025)] == 15 and counts[("34/KH-UBND", 2025)] == 1  # nobody reported 2025


def test_sections_are_versions_and_the_same_text_makes_none(session: Session) -> None:
    assert report.sections_answer(session, "910", 2024)["history"] == []
    assert report.record_sections(session, "910", 2024, {"shortcomings": "A\x00", "proposals": "B"}, "u1")
    session.flush()
    assert not report.record_sections(session, "910", 2024, {"shortcomings": "A", "proposals": "B "}, "u2")
    assert report.record_sections(session, "910", 2024, {"shortcomings": "A", "proposals": "C"}, "u2")
    session.flush()
    got = report.sections_answer(session, "910", 2024)
    assert (got["shortcomings"], got["proposals"]) == ("A", "C")
    assert [(v["version"], v["recorded_by"]) for v in got["history"]] == [(2, "u2"), (1, "u1")]


def test_vietnamese_figures_and_issuers() -> None:
    assert report.vnd(1_234_567_000) == "1.234.567.000"
    assert report.money2("1903725.5") == "1.903.725,50" and report.money2(None) == "–"
    assert report.decimal_vn("87.50") == "87,50" and report.rate(480, 123) == "25,6%"
    assert report.quarter_vn("2024-Q3") == "Quý III/2024"
    row = {"target": 80.0, "target_unit": "percent", "comparison": ">=", "target_year": 2025}
    assert report.target_text(row) == "≥ 80% (năm 2025)"
    assert report.issuer_of("91").body == "SỞ Y TẾ"
    district = report.issuer_of("910")
    assert (district.body, district.name, district.place) == (
        "TRUNG TÂM Y TẾ HUYỆN VĨNH THUẬN",
        "Trung tâm Y tế huyện Vĩnh Thuận",
        "Vĩnh Thuận",
    )


def test_the_rollup_sums_each_units_money_and_what_the_reported_ones_hold(session: Session) -> None:
    submit(session, "910", date(2024, 11, 1))
    status = report.reporting_status(session, catalog.get_plan(1), 2024, date(2024, 12, 1), None)
    per_unit = {"910": {"allocated": 700, "disbursed": 150}, "903": {"allocated": 70, "disbursed": 7}}
    out = report.add_money(status, per_unit)
    rows = {u["unit"]: u["money"] for u in out["units"]}
    assert rows["910"] == {"allocated": 700, "disbursed": 150} and rows["899"] == {"allocated": 0, "disbursed": 0}
    assert out["rollup"]["money"] == {
        "allocated": 770, "disbursed": 157, "reported_allocated": 700, "reported_disbursed": 150
    }  # fmt: skip
    assert report.add_money(status, None)["rollup"]["money"] is None
