"""docs/metrics.md lists every metric: each one the code defines (prometheus-client Counter/Gauge/Histogram/
Summary and custom collectors' metric families), and each one a dashboard or a rule names. A metric added
without a line in docs/metrics.md fails here."""

from __future__ import annotations

import re

from tests.deploy.support import ROOT, base_name, dashboard_exprs, metric_names, rule_exprs

# Counter("x") is exposed as x_total; prometheus-client adds the suffix when it is missing.
DEFINITION = re.compile(
    r"\b(Counter|Gauge|Histogram|Summary|Info|Enum|CounterMetricFamily|GaugeMetricFamily|HistogramMetricFamily|"
    r"SummaryMetricFamily|InfoMetricFamily)\(\s*[\"']([a-zA-Z_:][a-zA-Z0-9_:]*)[\"']",
)
DOC_ROW = re.compile(r"^\|\s*`([a-zA-Z_:][a-zA-Z0-9_:]*)`\s*\|", re.M)


def defined_in_code() -> dict[str, str]:
    found: dict[str, str] = {}
    for path in sorted((ROOT / "services").rglob("*.py")):
        for kind, name in DEFINITION.findall(path.read_text(encoding="utf-8")):
            if kind in ("Counter", "CounterMetricFamily") and not name.endswith("_total"):
                name += "_total"
            found[name] = str(path.relative_to(ROOT))
    return found


def documented() -> set[str]:
    return set(DOC_ROW.findall((ROOT / "docs" / "metrics.md").read_text(encoding="utf-8")))


def test_the_scan_finds_the_known_metrics() -> None:
    code = defined_in_code()
    for name in (
        "ytcs_rpc_requests_total",
        "ytcs_http_requests_total",
        "ytcs_claims_records_total",
        "ytcs_funding_allocated_vnd",
        "ytcs_capitation_quarter_end_timestamp_seconds",
    ):
        assert name in code, name


def test_every_metric_in_the_code_is_documented() -> None:
    missing = {name: where for name, where in defined_in_code().items() if name not in documented()}
    assert missing == {}, "add these to docs/metrics.md"


def test_every_documented_ytcs_metric_exists_in_the_code() -> None:
    stale = {n for n in documented() if n.startswith("ytcs_")} - set(defined_in_code())
    assert stale == set(), "docs/metrics.md lists metrics that no code defines"


def test_every_recording_rule_is_documented() -> None:
    recorded = {name for _, name, _ in rule_exprs() if ":" in name}
    assert recorded and recorded <= documented()


def test_dashboards_and_rules_name_only_documented_metrics() -> None:
    docs = documented()
    unknown = {}
    for source, title, expr in [*dashboard_exprs(), *rule_exprs()]:
        for name in metric_names(expr):
            if base_name(name) not in docs and name not in docs:
                unknown.setdefault(f"{source}: {title}", set()).add(name)
    assert unknown == {}
