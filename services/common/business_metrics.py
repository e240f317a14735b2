"""Business gauges for the wall: where the money stands, computed on each Prometheus scrape.

A service registers a `fetch` callable (usually one aggregate SQL query per family, SUM/GROUP BY in the
database) and `BusinessCollector.collect()` turns its answer into gauges when Prometheus scrapes. Nothing is
kept in between, so the figures are as fresh as the database, and a replica that restarts loses nothing.

Labels stay bounded by construction: plan number, item code, source and fiscal year for funding, only the
current and the previous year; facility code and quarter for capitation, only the current and the previous
quarter (older periods are dropped here whatever the query returns). The previous period stays on the wall
because its money is still being settled (and a plan's last year is "previous" for all of the next one).
Every replica of a service exposes the same figures, so dashboards and alerts aggregate them with
`max by (...)`, never `sum`.

Prometheus values are float64: whole VND up to 2^53 (about 9 million billion đồng) are exact there.
The money itself stays exact in the databases; these are read-outs for people.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from nameko.extensions import DependencyProvider
from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.orm import Session, sessionmaker

from services.common.db import make_engine
from services.common.periods import Quarter

log = logging.getLogger(__name__)

# Quarters end at midnight in Việt Nam (UTC+7), not in UTC.
VN_TZ = timezone(timedelta(hours=7))


@dataclass(frozen=True)
class FundingFigure:
    """Money booked directly on one item of one plan from one source, in one fiscal year."""

    plan: str  # plan number, e.g. "158/KH-UBND"
    item: str  # item code, e.g. "II.2.1"
    source: str  # nguồn vốn
    year: int  # năm ngân sách
    allocated: int  # VND
    disbursed: int  # VND


@dataclass(frozen=True)
class CapitationFigure:
    """Quỹ định suất of one facility for one quarter and what its claims have spent of it."""

    facility: str  # MA_CSKCB
    quarter: str  # "2024-Q3"
    fund: int | Decimal
    spend: int | Decimal


@dataclass
class BusinessFigures:
    """What one service knows. A family left as None is not this service's to report and is not exposed."""

    funding: list[FundingFigure] | None = None
    capitation: list[CapitationFigure] | None = None


Fetch = Callable[[], BusinessFigures]


def exposed_quarters(today: date) -> tuple[Quarter, Quarter]:
    """The current quarter and the one before: the only quarters whose capitation is exposed."""
    current = Quarter.of_month(today.year, today.month)
    return current, current.previous()


def exposed_years(today: date) -> tuple[int, int]:
    """The current fiscal year and the one before: the only years whose funding is exposed."""
    return today.year, today.year - 1


def year_end_timestamp(year: int) -> float:
    """Unix time at which fiscal `year` is over (midnight on 1 January after it, Việt Nam time)."""
    return datetime(year + 1, 1, 1, tzinfo=VN_TZ).timestamp()


def quarter_end_timestamp(quarter: Quarter) -> float:
    """Unix time at which `quarter` is over (midnight after its last day, Việt Nam time)."""
    nxt = quarter.next().start
    return datetime(nxt.year, nxt.month, nxt.day, tzinfo=VN_TZ).timestamp()


def _vnd(value: int | Decimal) -> float:
    return float(value)


@dataclass(eq=False)  # identity, hashable: the registry keys collectors by object
class BusinessCollector(Collector):
    """A prometheus-client custom collector: `collect()` asks `fetch` for current figures on each scrape.

    `min_interval` keeps a burst of scrapes (several Prometheus servers, a person refreshing /metrics)
    from running the aggregate queries more than once per interval; a failed fetch is reported as
    `ytcs_business_figures_up 0` and never breaks the scrape of the other metrics.
    """

    service: str
    fetch: Fetch
    min_interval: float = 10.0
    today: Callable[[], date] = field(default=lambda: datetime.now(VN_TZ).date())
    clock: Callable[[], float] = time.monotonic
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _cached: tuple[float, list[Metric]] | None = field(default=None, init=False, repr=False)

    def describe(self) -> Iterable[Metric]:
        # Registration must not run the queries (the database may not be up yet): names only.
        return [
            GaugeMetricFamily(n, d, labels=lbl)
            for n, d, lbl in (
                ("ytcs_business_figures_up", "1 when the last fetch of business figures succeeded", ["service"]),
                ("ytcs_business_figures_fetch_seconds", "Time the last fetch of business figures took", ["service"]),
            )
        ]

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            now = self.clock()
            if self._cached is None or now - self._cached[0] >= self.min_interval:
                self._cached = (now, self._build())
            families = self._cached[1]
        yield from families

    def _build(self) -> list[Metric]:
        up = GaugeMetricFamily(
            "ytcs_business_figures_up", "1 when the last fetch of business figures succeeded", labels=["service"]
        )
        took = GaugeMetricFamily(
            "ytcs_business_figures_fetch_seconds", "Time the last fetch of business figures took", labels=["service"]
        )
        started = time.perf_counter()
        try:
            figures = self.fetch()
        except Exception:  # the database may be away: say so, keep serving the other metrics
            log.exception("business figures of %s could not be fetched", self.service)
            figures = None
        took.add_metric([self.service], time.perf_counter() - started)
        up.add_metric([self.service], 0.0 if figures is None else 1.0)
        out: list[Metric] = [up, took]
        if figures is not None:
            if figures.funding is not None:
                out.extend(funding_families(figures.funding, self.today()))
            if figures.capitation is not None:
                out.extend(capitation_families(figures.capitation, self.today()))
        return out


def funding_families(rows: Iterable[FundingFigure], today: date) -> list[Metric]:
    allocated = GaugeMetricFamily(
        "ytcs_funding_allocated_vnd",
        "VND allocated (dự toán giao), by plan, item, source and fiscal year (current and previous only)",
        labels=["plan", "item", "source", "year"],
    )
    disbursed = GaugeMetricFamily(
        "ytcs_funding_disbursed_vnd",
        "VND disbursed (giải ngân), by plan, item, source and fiscal year (current and previous only)",
        labels=["plan", "item", "source", "year"],
    )
    ratio = GaugeMetricFamily(
        "ytcs_funding_execution_ratio",
        "Disbursed / allocated (tỷ lệ giải ngân), by plan, item and fiscal year",
        labels=["plan", "item", "year"],
    )
    ends = GaugeMetricFamily(
        "ytcs_funding_year_end_timestamp_seconds",
        "Unix time at which an exposed fiscal year ends (Việt Nam time), for 'late in the year' alerts",
        labels=["year"],
    )
    allowed = exposed_years(today)
    per_item: dict[tuple[str, str, str], list[int]] = {}
    for r in rows:
        if r.year not in allowed:
            continue  # keeps the label set bounded whatever the query returned
        year = str(r.year)
        allocated.add_metric([r.plan, r.item, r.source, year], _vnd(r.allocated))
        disbursed.add_metric([r.plan, r.item, r.source, year], _vnd(r.disbursed))
        totals = per_item.setdefault((r.plan, r.item, year), [0, 0])
        totals[0] += int(r.allocated)
        totals[1] += int(r.disbursed)
    for (plan, item, year), (alloc, disb) in sorted(per_item.items()):
        if alloc > 0:  # no ratio for an item with nothing allocated (it would be NaN or infinite)
            ratio.add_metric([plan, item, year], disb / alloc)
    for year in sorted(allowed):
        ends.add_metric([str(year)], year_end_timestamp(year))
    return [allocated, disbursed, ratio, ends]


def capitation_families(rows: Iterable[CapitationFigure], today: date) -> list[Metric]:
    fund = GaugeMetricFamily(
        "ytcs_capitation_fund_vnd",
        "Quỹ định suất of a facility for a quarter (current and previous quarter only)",
        labels=["facility", "quarter"],
    )
    spend = GaugeMetricFamily(
        "ytcs_capitation_spend_vnd",
        "Capitation spend (Σ T_BHTT − T_BHTT_GDV of accepted claims) of a facility for a quarter",
        labels=["facility", "quarter"],
    )
    ends = GaugeMetricFamily(
        "ytcs_capitation_quarter_end_timestamp_seconds",
        "Unix time at which an exposed quarter ends (Việt Nam time), for 'before the quarter ends' alerts",
        labels=["quarter"],
    )
    allowed = {str(q): q for q in exposed_quarters(today)}
    for r in rows:
        if r.quarter not in allowed:
            continue  # keeps the label set bounded whatever the query returned
        fund.add_metric([r.facility, r.quarter], _vnd(r.fund))
        spend.add_metric([r.facility, r.quarter], _vnd(r.spend))
    for name, q in sorted(allowed.items()):
        ends.add_metric([name], quarter_end_timestamp(q))
    return [fund, spend, ends]


def register(
    service: str, fetch: Fetch, registry: CollectorRegistry = REGISTRY, min_interval: float = 10.0
) -> BusinessCollector:
    """Expose `fetch`'s figures on this process's metrics port. Returns the collector (to `unregister`)."""
    collector = BusinessCollector(service, fetch, min_interval=min_interval)
    registry.register(collector)
    return collector


def unregister(collector: BusinessCollector, registry: CollectorRegistry = REGISTRY) -> None:
    registry.unregister(collector)


class BusinessMetrics(DependencyProvider):
    """Nameko wiring: `business = BusinessMetrics(queries.business_figures)` on a service class.

    `figures(session) -> BusinessFigures` runs on each scrape (at most once per `min_interval`) in a
    session of its own on the service's database (`DB_URL`); it only reads.
    """

    def __init__(self, figures: Callable[[Session], BusinessFigures], min_interval: float = 10.0) -> None:
        self.figures = figures
        self.min_interval = min_interval

    def setup(self) -> None:
        self.engine = make_engine(self.container.config["DB_URL"])
        self.factory = sessionmaker(self.engine)
        self.collector = register(self.container.service_name, self._fetch, min_interval=self.min_interval)

    def _fetch(self) -> BusinessFigures:
        with self.factory() as session:
            return self.figures(session)

    def stop(self) -> None:
        unregister(self.collector)
        self.engine.dispose()

    def get_dependency(self, worker_ctx: Any) -> None:
        return None
