"""Business gauges for the wall: where the money stands, exported by the service that owns the figures.

A service registers a `fetch` callable (its own query functions, the very answers its API gives) and
`BusinessCollector.collect()` turns its answer into gauges when Prometheus scrapes. The cost does not grow with
scrapes: at most one look per `min_interval`, and with a `stamp` (the cheap data version the service's kept
answers use, services/common/kept.py) the figures are computed again only when the data changed (or the day
did); a scrape in between costs the stamp query. `ytcs_business_figures_computed_total` counts the
computations. A replica that restarts loses nothing: the figures are in the database.

Who exports what (the bound of the label set, for one province):
- finance: `ytcs_funding_*` per plan, item (its roll-up: sub-items and lower plans included, as
  `GET /api/v1/funding` answers), source and fiscal year. Bound: plans × items × sources × 2 years
  (the catalog: 2 plans × ≤ 28 items × ≤ 6 sources × 2 = 672 series per family at most). Top-level items
  (codes without a dot) add up to the plan: dashboards select them with `item!~".*[.].*"`.
- claims: `ytcs_capitation_*` per facility and quarter, read through its reconciliation (the fund it knows
  from finance's `capitation_fund_set`, the spend of its accepted claims). Bound: facilities with claims or a
  fund in the quarter × 2 quarters (a province of ~250 facilities: ≤ 500 series per family).
- finance also: `ytcs_settlement_steps_overdue` per facility and step (report, advance, result, payment) and
  `ytcs_capitation_advance_overdue_vnd` per facility, from the schedules of the quarters reported or contracted
  (the `overdue` of `GET /api/v1/reconciliation`). Only facilities with something overdue: ≤ facilities × 4
  (≤ ~1,000 series).
- investment: `ytcs_targets_not_met` per plan, item and target of the last finished year (its targets of
  that year and those without a year), as `GET /api/v1/plans/{id}/targets` measures them. Bound: 2 plans ×
  ≤ 20 targets, one year.

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
import os
import threading
import time
from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from nameko.extensions import DependencyProvider
from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.orm import Session, sessionmaker

from services.common.clock import VIETNAM  # quarters and years end at midnight in Việt Nam, not in UTC
from services.common.clock import today as today_in_vietnam
from services.common.db import make_engine
from services.common.periods import Quarter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FundingFigure:
    """Money on one item of one plan (its roll-up) from one source, in one fiscal year."""

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


@dataclass(frozen=True)
class OverdueStep:
    """A step of a facility's quarterly settlement past its due date and not done (ledger.quarter_schedule)."""

    facility: str  # MA_CSKCB
    period: str  # the quarter reported, "2024-Q3"
    step: str  # advance, result, payment (a report's own step is done once it exists)
    unpaid: int = 0  # VND: for the advance, what of it is still unpaid


@dataclass(frozen=True)
class TargetFigure:
    """One target of a plan measured at the end of a finished year."""

    plan: str  # plan number
    item: str  # item code
    target: str  # the target's key, e.g. "stations_with_doctor"
    year: int  # the finished year measured
    met: bool | None  # None: no figure to measure it with


@dataclass
class BusinessFigures:
    """What one service knows. A family left as None is not this service's to report and is not exposed."""

    funding: list[FundingFigure] | None = None
    capitation: list[CapitationFigure] | None = None
    overdue: list[OverdueStep] | None = None
    targets: list[TargetFigure] | None = None


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
    return datetime(year + 1, 1, 1, tzinfo=VIETNAM).timestamp()


def quarter_end_timestamp(quarter: Quarter) -> float:
    """Unix time at which `quarter` is over (midnight after its last day, Việt Nam time)."""
    nxt = quarter.next().start
    return datetime(nxt.year, nxt.month, nxt.day, tzinfo=VIETNAM).timestamp()


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
    today: Callable[[], date] = field(default=today_in_vietnam)
    clock: Callable[[], float] = time.monotonic
    stamp: Callable[[], Hashable] | None = None  # the data version: unchanged, the last figures stand
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _cached: tuple[float, list[Metric]] | None = field(default=None, init=False, repr=False)
    _kept: tuple[Hashable, BusinessFigures] | None = field(default=None, init=False, repr=False)
    computed: int = field(default=0, init=False)

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
        computed = CounterMetricFamily(
            "ytcs_business_figures_computed",
            "Times the business figures were computed (data changed), not merely looked at",
            labels=["service"],
        )
        started = time.perf_counter()
        try:
            figures = self._figures()
        except Exception:  # the database may be away: say so, keep serving the other metrics
            log.exception("business figures of %s could not be fetched", self.service)
            figures = None
        took.add_metric([self.service], time.perf_counter() - started)
        up.add_metric([self.service], 0.0 if figures is None else 1.0)
        computed.add_metric([self.service], self.computed)
        out: list[Metric] = [up, took, computed]
        if figures is not None:
            if figures.funding is not None:
                out.extend(funding_families(figures.funding, self.today()))
            if figures.capitation is not None:
                out.extend(capitation_families(figures.capitation, self.today()))
            if figures.overdue is not None:
                out.extend(overdue_families(figures.overdue))
            if figures.targets is not None:
                out.extend(target_families(figures.targets))
        return out

    def _figures(self) -> BusinessFigures:
        key = (self.stamp(), self.today()) if self.stamp is not None else None
        if key is not None and self._kept is not None and self._kept[0] == key:
            return self._kept[1]
        figures = self.fetch()
        self.computed += 1
        self._kept = (key, figures) if key is not None else None
        return figures


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
        "Capitation spend (Σ line T_BHTT with MA_PTTT = 2 of accepted claims) of a facility for a quarter",
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


SETTLEMENT_STEPS = ("report", "advance", "result", "payment")  # views.quarter_schedule's steps


def overdue_families(rows: Iterable[OverdueStep]) -> list[Metric]:
    steps = GaugeMetricFamily(
        "ytcs_settlement_steps_overdue",
        "Quarters of a facility whose settlement step (report, advance, result, payment) is past its due date and "
        "not done",
        labels=["facility", "step"],
    )
    unpaid = GaugeMetricFamily(
        "ytcs_capitation_advance_overdue_vnd",
        "VND of advances not paid 5 working days after the quarterly report that gives them, by facility",
        labels=["facility"],
    )
    counts: dict[tuple[str, str], int] = {}
    money: dict[str, int] = {}
    for r in rows:
        if r.step not in SETTLEMENT_STEPS:
            continue  # keeps the label set bounded whatever the query returned
        counts[(r.facility, r.step)] = counts.get((r.facility, r.step), 0) + 1
        if r.step == "advance":
            money[r.facility] = money.get(r.facility, 0) + int(r.unpaid)
    for (facility, step), n in sorted(counts.items()):
        steps.add_metric([facility, step], float(n))
    for facility, vnd in sorted(money.items()):
        unpaid.add_metric([facility], _vnd(vnd))
    return [steps, unpaid]


def target_families(rows: Iterable[TargetFigure]) -> list[Metric]:
    missed = GaugeMetricFamily(
        "ytcs_targets_not_met",
        "1 when a plan's target of a finished year was not met at its end (or has no figure), 0 when met",
        labels=["plan", "item", "target", "year"],
    )
    ends = GaugeMetricFamily(
        "ytcs_targets_year_end_timestamp_seconds",
        "Unix time at which the year whose targets are measured ended (Việt Nam time)",
        labels=["year"],
    )
    years: set[int] = set()
    for r in rows:
        missed.add_metric([r.plan, r.item, r.target, str(r.year)], 0.0 if r.met else 1.0)
        years.add(r.year)
    for year in sorted(years):
        ends.add_metric([str(year)], year_end_timestamp(year))
    return [missed, ends]


def register(
    service: str,
    fetch: Fetch,
    registry: CollectorRegistry = REGISTRY,
    min_interval: float = 10.0,
    stamp: Callable[[], Hashable] | None = None,
) -> BusinessCollector:
    """Expose `fetch`'s figures on this process's metrics port. Returns the collector (to `unregister`)."""
    collector = BusinessCollector(service, fetch, min_interval=min_interval, stamp=stamp)
    registry.register(collector)
    return collector


def unregister(collector: BusinessCollector, registry: CollectorRegistry = REGISTRY) -> None:
    registry.unregister(collector)


class BusinessMetrics(DependencyProvider):
    """Nameko wiring: `business = BusinessMetrics(figures.business_figures, stamp=queries.data_version)`.

    On a scrape (at most once per `min_interval`) `stamp(session)` is read; `figures(session) ->
    BusinessFigures` runs only when the stamp (or the day) changed since the last computation. Both read, in a
    session of their own, the service's database (`DB_URL`). Every process (replica) keeps its own figures
    and serves them on its own metrics port; they agree because they read the same database, and
    dashboards take `max by` over replicas. `YTCS_BUSINESS_METRICS_OFF=finance,claims` switches them off for
    the services named (to spare a database, or to prove that the live test notices).
    """

    def __init__(
        self,
        figures: Callable[[Session], BusinessFigures],
        min_interval: float = 10.0,
        stamp: Callable[[Session], Hashable] | None = None,
    ) -> None:
        self.figures = figures
        self.min_interval = min_interval
        self.stamp = stamp
        self.collector: BusinessCollector | None = None

    def setup(self) -> None:
        off = {s.strip() for s in os.environ.get("YTCS_BUSINESS_METRICS_OFF", "").split(",")}
        if self.container.service_name in off:
            log.warning("business figures of %s switched off (YTCS_BUSINESS_METRICS_OFF)", self.container.service_name)
            return
        self.engine = make_engine(self.container.config["DB_URL"])
        self.factory = sessionmaker(self.engine)
        self.collector = register(
            self.container.service_name,
            self._fetch,
            min_interval=self.min_interval,
            stamp=self._stamp if self.stamp is not None else None,
        )

    def _stamp(self) -> Hashable:
        assert self.stamp is not None
        with self.factory() as session:
            return self.stamp(session)

    def _fetch(self) -> BusinessFigures:
        with self.factory() as session:
            return self.figures(session)

    def stop(self) -> None:
        if self.collector is not None:
            unregister(self.collector)
            self.engine.dispose()
            self.collector = None

    def get_dependency(self, worker_ctx: Any) -> None:
        return None
