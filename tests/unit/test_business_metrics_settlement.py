"""The settlement and target gauges (services/common/business_metrics.py): counts per facility and step,
unpaid advances, targets not met, and labels kept bounded whatever the figures hold."""

from __future__ import annotations

from datetime import date

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from services.common import catalog
from services.common.business_metrics import (
    BusinessCollector,
    BusinessFigures,
    OverdueStep,
    TargetFigure,
    year_end_timestamp,
)
from services.investment.figures import reviewed_year


def scrape(figures: BusinessFigures) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    registry = CollectorRegistry()
    registry.register(BusinessCollector("finance", lambda: figures))
    out = {}
    for family in text_string_to_metric_families(generate_latest(registry).decode()):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_overdue_steps_are_counted_per_facility_and_step_with_the_unpaid_advances() -> None:
    got = scrape(
        BusinessFigures(
            overdue=[
                OverdueStep("91001", "2025-Q1", "advance", 8_000_000),
                OverdueStep("91001", "2025-Q2", "advance", 2_000_000),
                OverdueStep("91001", "2025-Q1", "result"),
                OverdueStep("91002", "2025-Q1", "payment"),
                OverdueStep("91002", "2025-Q2", "report"),
                OverdueStep("91002", "2025-Q3", "report"),
                OverdueStep("91003", "2025-Q1", "a step nobody knows"),  # dropped: the label set stays bounded
            ]
        )
    )
    steps = {k[1]: v for k, v in got.items() if k[0] == "ytcs_settlement_steps_overdue"}
    assert steps == {
        (("facility", "91001"), ("step", "advance")): 2,
        (("facility", "91001"), ("step", "result")): 1,
        (("facility", "91002"), ("step", "payment")): 1,
        (("facility", "91002"), ("step", "report")): 2,
    }
    money = {k[1]: v for k, v in got.items() if k[0] == "ytcs_capitation_advance_overdue_vnd"}
    assert money == {(("facility", "91001"),): 10_000_000}


def test_nothing_overdue_gives_empty_families_and_another_service_none() -> None:
    got = scrape(BusinessFigures(overdue=[]))
    assert not [k for k in got if k[0].startswith("ytcs_settlement_steps_overdue")]
    assert ("ytcs_business_figures_up", (("service", "finance"),)) in got
    assert not [k for k in scrape(BusinessFigures(funding=[])) if k[0] == "ytcs_targets_not_met"]


def test_targets_not_met_are_1_met_0_and_unmeasured_1() -> None:
    got = scrape(
        BusinessFigures(
            targets=[
                TargetFigure("158/KH-UBND", "I.2.b", "stations_with_doctor", 2025, False),
                TargetFigure("158/KH-UBND", "I.2.b", "stations_bhyt_eligible", 2025, True),
                TargetFigure("158/KH-UBND", "II.3", "stations_with_doctor", 2025, None),
            ]
        )
    )
    missed = {k[1]: v for k, v in got.items() if k[0] == "ytcs_targets_not_met"}
    assert missed == {
        (("item", "I.2.b"), ("plan", "158/KH-UBND"), ("target", "stations_with_doctor"), ("year", "2025")): 1,
        (("item", "I.2.b"), ("plan", "158/KH-UBND"), ("target", "stations_bhyt_eligible"), ("year", "2025")): 0,
        (("item", "II.3"), ("plan", "158/KH-UBND"), ("target", "stations_with_doctor"), ("year", "2025")): 1,
    }
    assert got[("ytcs_targets_year_end_timestamp_seconds", (("year", "2025"),))] == year_end_timestamp(2025)


def test_the_reviewed_year_is_last_year_kept_at_the_plans_last_year() -> None:
    plan = catalog.get_plan(1)  # 2018-2025
    assert reviewed_year(plan, date(2024, 3, 1)) == 2023
    assert reviewed_year(plan, date(2026, 12, 6)) == 2025
    assert reviewed_year(plan, date(2031, 1, 1)) == 2025
    assert reviewed_year(plan, date(2018, 6, 1)) is None
