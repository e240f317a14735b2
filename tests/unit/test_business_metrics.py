"""The business gauges collector: figures asked for on scrape, bounded labels, failures reported not raised."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from services.common import clock
from services.common.business_metrics import (
    BusinessCollector,
    BusinessFigures,
    BusinessMetrics,
    CapitationFigure,
    FundingFigure,
    exposed_quarters,
    exposed_years,
    quarter_end_timestamp,
    register,
    unregister,
)
from services.common.clock import VIETNAM
from services.common.periods import Quarter


def samples(registry: CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(generate_latest(registry).decode()):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def figures() -> BusinessFigures:
    return BusinessFigures(
        funding=[
            FundingFigure("158/KH-UBND", "II.2.1", "ngân sách tỉnh", 2024, 1_000_000_000, 250_000_000),
            FundingFigure("158/KH-UBND", "II.2.1", "ngân sách trung ương", 2024, 3_000_000_000, 750_000_000),
            FundingFigure("158/KH-UBND", "II.2.1", "ngân sách tỉnh", 2023, 500_000_000, 500_000_000),
            FundingFigure("158/KH-UBND", "II.2.1", "ngân sách tỉnh", 2022, 1, 1),  # too old: not exposed
            FundingFigure("34/KH-UBND", "III", "ngân sách huyện", 2024, 0, 0),
        ],
        capitation=[
            CapitationFigure("91001", "2024-Q3", 120_000_000, Decimal("110000000.50")),
            CapitationFigure("91001", "2024-Q2", 100_000_000, Decimal("90000000.00")),
            CapitationFigure("91001", "2023-Q4", 100_000_000, 1),  # too old: not exposed
        ],
    )


def make(fetch, **kw) -> tuple[CollectorRegistry, BusinessCollector]:
    registry = CollectorRegistry()
    collector = BusinessCollector("finance", fetch, today=lambda: date(2024, 8, 15), **kw)
    registry.register(collector)
    return registry, collector


def test_funding_and_capitation_gauges_from_the_fetch() -> None:
    registry, _ = make(figures)
    got = samples(registry)
    labels = (("item", "II.2.1"), ("plan", "158/KH-UBND"), ("source", "ngân sách tỉnh"))
    assert got[("ytcs_funding_allocated_vnd", (*labels, ("year", "2024")))] == 1_000_000_000
    assert got[("ytcs_funding_disbursed_vnd", (*labels, ("year", "2023")))] == 500_000_000
    ratio = "ytcs_funding_execution_ratio"
    assert got[(ratio, (("item", "II.2.1"), ("plan", "158/KH-UBND"), ("year", "2024")))] == 0.25
    assert got[(ratio, (("item", "II.2.1"), ("plan", "158/KH-UBND"), ("year", "2023")))] == 1.0
    assert not any(("year", "2022") in k[1] for k in got)
    year_ends = {dict(k[1])["year"]: v for k, v in got.items() if k[0] == "ytcs_funding_year_end_timestamp_seconds"}
    assert year_ends == {
        "2024": datetime(2025, 1, 1, tzinfo=VIETNAM).timestamp(),
        "2023": datetime(2024, 1, 1, tzinfo=VIETNAM).timestamp(),
    }
    # Nothing allocated: no ratio rather than NaN or infinity.
    assert not any(k[0] == "ytcs_funding_execution_ratio" and ("plan", "34/KH-UBND") in k[1] for k in got)
    assert got[("ytcs_capitation_spend_vnd", (("facility", "91001"), ("quarter", "2024-Q3")))] == 110_000_000.5
    assert got[("ytcs_capitation_fund_vnd", (("facility", "91001"), ("quarter", "2024-Q2")))] == 100_000_000
    assert not any(("quarter", "2023-Q4") in k[1] for k in got)
    ends = {dict(k[1])["quarter"]: v for k, v in got.items() if k[0] == "ytcs_capitation_quarter_end_timestamp_seconds"}
    assert ends == {
        "2024-Q3": datetime(2024, 10, 1, tzinfo=VIETNAM).timestamp(),
        "2024-Q2": datetime(2024, 7, 1, tzinfo=VIETNAM).timestamp(),
    }
    assert got[("ytcs_business_figures_up", (("service", "finance"),))] == 1


def test_families_a_service_does_not_report_are_absent() -> None:
    registry, _ = make(lambda: BusinessFigures(funding=[]))
    names = {k[0] for k in samples(registry)}
    assert "ytcs_capitation_quarter_end_timestamp_seconds" not in names
    assert "ytcs_business_figures_up" in names


def test_a_failing_fetch_is_reported_and_the_scrape_goes_on() -> None:
    def broken() -> BusinessFigures:
        raise RuntimeError("database away")

    registry, _ = make(broken, min_interval=0)
    got = samples(registry)
    assert got[("ytcs_business_figures_up", (("service", "finance"),))] == 0
    assert not any(k[0].startswith("ytcs_funding") for k in got)


def test_fetch_runs_on_scrape_at_most_once_per_interval() -> None:
    calls = []
    now = [100.0]

    def fetch() -> BusinessFigures:
        calls.append(1)
        return figures()

    registry, _ = make(fetch, min_interval=10, clock=lambda: now[0])
    assert calls == []  # registering does not query the database
    samples(registry)
    samples(registry)
    assert len(calls) == 1
    now[0] += 10
    samples(registry)
    assert len(calls) == 2


def test_exposed_years_are_current_and_previous() -> None:
    assert exposed_years(date(2026, 3, 1)) == (2026, 2025)


@pytest.mark.parametrize(
    ("today", "expected"),
    [(date(2024, 1, 5), ("2024-Q1", "2023-Q4")), (date(2024, 12, 31), ("2024-Q4", "2024-Q3"))],
)
def test_exposed_quarters_are_current_and_previous(today: date, expected: tuple[str, str]) -> None:
    assert tuple(str(q) for q in exposed_quarters(today)) == expected


def test_quarter_end_is_midnight_in_vietnam() -> None:
    assert quarter_end_timestamp(Quarter(2024, 4)) == datetime(2024, 12, 31, 17, 0, tzinfo=VIETNAM.utc).timestamp()


def test_register_and_unregister_on_a_registry() -> None:
    registry = CollectorRegistry()
    collector = register("claims", lambda: BusinessFigures(capitation=[]), registry=registry)
    assert ("ytcs_business_figures_up", (("service", "claims"),)) in samples(registry)
    unregister(collector, registry)
    assert samples(registry) == {}


def test_nameko_provider_runs_the_query_in_the_service_database(tmp_path: Path) -> None:
    """The provider a service declares: a real container, a real SQLite database, the default registry."""
    from nameko.containers import ServiceContainer
    from prometheus_client import REGISTRY

    url = f"sqlite:///{tmp_path / 'f.db'}"

    def from_db(session) -> BusinessFigures:
        n = session.execute(text("SELECT 7")).scalar_one()
        year = clock.today().year
        return BusinessFigures(funding=[FundingFigure("158/KH-UBND", "I", "ngân sách tỉnh", year, n, 0)])

    class Service:
        name = "finance_metrics_test"
        business = BusinessMetrics(from_db)

    container = ServiceContainer(Service, {"DB_URL": url, "AMQP_URI": "memory://"})
    container.start()
    try:
        got = samples(REGISTRY)
        year = ("year", str(clock.today().year))
        labels = (("item", "I"), ("plan", "158/KH-UBND"), ("source", "ngân sách tỉnh"), year)
        assert got[("ytcs_funding_allocated_vnd", labels)] == 7
    finally:
        container.stop()
    assert ("ytcs_business_figures_up", (("service", "finance_metrics_test"),)) not in samples(REGISTRY)


def test_with_a_stamp_figures_are_computed_only_when_the_data_changed() -> None:
    """Scrapes cost the stamp; the figures are computed again only when it (or the day) moved."""
    calls: list[int] = []
    stamps: list[int] = []
    version = [1]
    now = [0.0]

    def fetch() -> BusinessFigures:
        calls.append(version[0])
        return figures()

    def stamp() -> int:
        stamps.append(version[0])
        return version[0]

    registry, collector = make(fetch, min_interval=10, clock=lambda: now[0], stamp=stamp)
    for _ in range(50):  # a scrape every 10 s for over 8 minutes, nothing written
        got = samples(registry)
        now[0] += 10
    assert calls == [1] and len(stamps) == 50
    assert got[("ytcs_business_figures_computed_total", (("service", "finance"),))] == 1
    labels = (("item", "II.2.1"), ("plan", "158/KH-UBND"), ("source", "ngân sách tỉnh"), ("year", "2024"))
    assert got[("ytcs_funding_allocated_vnd", labels)] == 1_000_000_000  # the kept figures, still served
    version[0] = 2  # a write
    samples(registry)
    samples(registry)  # within min_interval: not even the stamp
    assert calls == [1, 2] and collector.computed == 2 and len(stamps) == 51
