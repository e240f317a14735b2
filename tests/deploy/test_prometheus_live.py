"""A real Prometheus (Debian's binary) on a config derived from deploy/prometheus/prometheus.yml, scraping the
running system (`stack`): every process is up, the rules load, and after one scripted scenario (allocations, a
disbursement, a capitation fund, claims, a duplicate event, a dead letter, a slow service) every expression of
every dashboard and recording rule returns data, the alerts that should fire do and no other, the business
figures equal the API's answers, and docs/metrics.md matches what the processes export.

Run with `YTCS_BUSINESS_METRICS_OFF=claims` (or finance) in the environment and it fails: the wall notices."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import psutil
import pytest
import requests
import yaml
from kombu import Connection, Exchange

from services.common import clock
from services.common.business_metrics import exposed_quarters
from tests.deploy.support import DASHBOARDS, PROM, ROOT, RULES, dashboard_exprs, metric_names, rule_exprs
from tests.support.facilities import fresh_facility
from tests.support.infra import Stack, free_port

pytestmark = [pytest.mark.rabbit, pytest.mark.slow]

WAIT = 60.0  # bounded waits: a scrape every second, so anything slower is a real failure


class Prometheus:
    def __init__(self, url: str) -> None:
        self.url = url

    def api(self, path: str, **params: str) -> dict:
        r = requests.get(self.url + "/api/v1/" + path, params=params, timeout=10)
        body = r.json()
        assert body["status"] == "success", (path, params, body)
        return body["data"]

    def query(self, expr: str) -> list[dict]:
        return self.api("query", query=expr)["result"]

    def wait_for(self, expr: str, timeout: float = WAIT) -> list[dict]:
        deadline = time.monotonic() + timeout
        while True:
            result = self.query(expr)
            if result:
                return result
            assert time.monotonic() < deadline, f"no result for {expr} after {timeout}s"
            time.sleep(0.5)


def derived_config(stack: Stack, prom_port: int) -> dict:
    """deploy/prometheus/prometheus.yml with the compose host names replaced by the stack's ports."""
    cfg = yaml.safe_load((PROM / "prometheus.yml").read_text())
    ports = {
        "ytcs-gateway": stack.port,
        "ytcs-finance": stack.env["FINANCE_METRICS_PORT"],
        "ytcs-claims": stack.env["CLAIMS_METRICS_PORT"],
        "ytcs-claims-intake": int(stack.env["CLAIMS_METRICS_PORT"]) + 2,  # the intake worker's default port
        "ytcs-investment": stack.env["INVESTMENT_METRICS_PORT"],
        "prometheus": prom_port,
    }
    jobs = []
    for job in cfg["scrape_configs"]:
        if job["job_name"].startswith("rabbitmq"):
            continue  # the broker of this machine runs without its prometheus plugin
        job.pop("dns_sd_configs", None)  # compose finds the scaled intake workers by DNS; here, one port
        job.setdefault("static_configs", [{}])[0]["targets"] = [f"127.0.0.1:{ports[job['job_name']]}"]
        job["scrape_interval"] = "1s"
        jobs.append(job)
    assert {j["job_name"] for j in jobs} == set(ports)
    cfg["scrape_configs"] = jobs
    cfg["global"].update(scrape_interval="1s", evaluation_interval="1s")
    cfg["rule_files"] = [str(p) for p in RULES]
    return cfg


@pytest.fixture(scope="module")
def prometheus(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    binary = shutil.which("prometheus")
    if not binary:
        pytest.fail("prometheus is missing: `make deps-system` installs Debian's prometheus package")
    work = tmp_path_factory.mktemp("prometheus")
    port = free_port()
    config = work / "prometheus.yml"
    config.write_text(yaml.safe_dump(derived_config(stack, port)))
    log = open(work / "prometheus.log", "wb")  # noqa: SIM115 - lives as long as the process
    proc = subprocess.Popen(
        [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={work / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + WAIT
        while True:
            assert proc.poll() is None, (work / "prometheus.log").read_text()[-3000:]
            try:
                if requests.get(url + "/-/ready", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, "prometheus did not get ready"
            time.sleep(0.3)
        yield Prometheus(url)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def test_every_process_of_the_stack_is_scraped_as_up(prometheus: Prometheus) -> None:
    deadline = time.monotonic() + WAIT
    while True:
        targets = prometheus.api("targets", state="active")["activeTargets"]
        health = {t["labels"]["job"]: t["health"] for t in targets}
        if len(health) == 6 and all(h == "up" for h in health.values()):
            break
        assert time.monotonic() < deadline, [(t["labels"]["job"], t["health"], t["lastError"]) for t in targets]
        time.sleep(0.5)
    ups = {r["metric"]["job"]: r["value"][1] for r in prometheus.wait_for('up{job=~"ytcs-.*"}')}
    assert ups == {
        "ytcs-gateway": "1",
        "ytcs-finance": "1",
        "ytcs-claims": "1",
        "ytcs-claims-intake": "1",
        "ytcs-investment": "1",
    }


def test_the_rules_load_and_every_dashboard_query_parses(prometheus: Prometheus) -> None:
    groups = prometheus.api("rules")["groups"]
    assert {g["name"] for g in groups} >= {
        "ytcs-recording",
        "ytcs-availability",
        "ytcs-messaging",
        "ytcs-claims",
        "ytcs-funding",
    }
    for group in groups:
        for rule in group["rules"]:
            assert rule["health"] in ("ok", "unknown"), rule
    for source, title, expr in dashboard_exprs():
        concrete = (
            expr.replace("$__rate_interval", "1m")
            .replace("$__range", "1h")
            .replace("$plan", ".*")
            .replace("$year", str(clock.today().year))
            .replace("$quarter", ".*")
        )
        prometheus.api("query", query=concrete)  # asserts status success: the expression parses and runs
        assert source and title


# --- the scenario: one run of everything the wall and the alerts are about ------------------------------

# Alerts the scenario must bring about, and the state each reaches within the test (a rule with `for:` longer
# than the test stays pending: its condition holds, which is what the test can know).
SHOULD_FIRE = {
    "YtcsEventsDeadLettered": "firing",  # a poison event, parked by the claims handler
    "YtcsDeadLetterQueueNotEmpty": "pending",  # it waits in ytcs.dead-letters (for: 30m)
    "YtcsCapitationFundNearlySpent": "pending",  # spend past 90% of a small fund this quarter (for: 1h)
    "YtcsSettlementStepOverdue": "pending",  # a report received months ago: no result recorded (for: 30m)
    "YtcsCapitationAdvanceOverdue": "pending",  # and its advance never paid (for: 30m)
    "YtcsQuarterReportOverdue": "pending",  # another facility's contracted quarter, never reported (for: 30m)
}
# Dated by the calendar, decided by the scenario from the API's answers: YtcsYearlyReportsLate (units that have
# not reported after 30/11 of a plan's reporting year) and YtcsTargetsNotMet (the last finished year's
# targets, up for a year after it) are pending when their condition holds, silent otherwise.


@dataclass
class Scenario:
    year: int  # the fiscal year allocated in (shown on the wall)
    quarter: str  # the capitation quarter (the current one)
    facility: str
    ended: float  # time.monotonic() when its last write was made
    settled: str  # the quarter reported months ago, whose advance and result are overdue
    unreported: tuple[str, str]  # (facility, quarter) contracted and never reported: its report is overdue
    alerts: dict[str, str]  # SHOULD_FIRE and those the calendar brings about


def _publish(stack: Stack, exchange_name: str, envelope: dict) -> None:
    exchange = Exchange(exchange_name, type="topic", durable=True)
    with Connection(stack.env["AMQP_URI"]) as conn:
        conn.Producer().publish(
            envelope, exchange=exchange, routing_key=envelope["event_type"], serializer="json", declare=[exchange]
        )


def _envelope(event_type: str, source: str, data: dict, event_id: str | None = None) -> dict:
    return {
        "event_id": event_id or str(uuid.uuid4()),
        "event_type": event_type,
        "version": 1,
        "source": source,
        "occurred_at": datetime.now(UTC).isoformat(),
        "correlation_id": None,
        "data": data,
    }


def _service_process(stack: Stack, service: str) -> psutil.Process:
    assert stack.proc is not None
    for child in psutil.Process(stack.proc.pid).children(recursive=True):
        if child.cmdline()[-2:] == ["services.common.runner", service]:
            return child
    raise AssertionError(f"no {service} process under the stack")


@pytest.fixture(scope="module")
def scenario(stack: Stack, prometheus: Prometheus) -> Scenario:
    """Allocations, a disbursement, a capitation fund, a claim file, a duplicate event, a dead letter, a slow
    service (a partial answer) and a 404, each through the running system's front doors."""
    from services.devtools import claims_generator as generator

    # Counters must be seen at their start value first, or increase() has nothing to rise from.
    prometheus.wait_for('ytcs_events_consumed_total{service="claims", outcome="dead_lettered"}')
    prometheus.wait_for('ytcs_events_consumed_total{service="finance", outcome="duplicate"}')
    finance = {"Authorization": f"Bearer {stack.token('finance')}"}
    bhxh = {"Authorization": f"Bearer {stack.token('bhxh')}"}
    year = min(clock.today().year, 2025)  # the seed plans run to 2025; the wall shows this year and the last
    quarter = exposed_quarters(clock.today())[0]
    facility = fresh_facility()

    # A slow service: investment stopped past the gateway's funding deadline gives a partial answer.
    investment = _service_process(stack, "investment")
    investment.suspend()
    try:
        r = requests.get(stack.url + "/api/v1/plans/1/items/III/funding", headers=finance, timeout=60)
    finally:
        investment.resume()
    assert r.status_code == 200 and r.json()["partial"] and r.json()["parts"]["investment"] == "unavailable", r.text

    r = requests.post(
        stack.url + "/api/v1/allocations",
        json={
            "plan_id": 1,
            "item_code": "III",
            "source": "provincial_budget",
            "fiscal_year": year,
            "recipient_unit": "91",
            "amount": 1_000_000,
            "decision_no": f"{uuid.uuid4().hex[:6]}/QĐ-UBND",
            "decision_date": f"{year}-01-15",
        },
        headers=finance,
        timeout=30,
    )
    assert r.status_code == 201, r.text
    r = requests.post(
        stack.url + f"/api/v1/allocations/{r.json()['id']}/disbursements",
        json={"amount": 400_000, "date": f"{year}-03-01", "reference": "UNC live"},
        headers=finance,
        timeout=30,
    )
    assert r.status_code == 201, r.text
    assert requests.get(stack.url + "/api/v1/allocations/999999999", headers=finance, timeout=30).status_code == 404

    r = requests.post(
        stack.url + "/api/v1/capitation/funds",
        json={
            "facility_code": facility,
            "period": str(quarter),
            "cards": 1,
            "rate_per_card": 1_000,
            "coefficient": "1",
        },
        headers=finance,
        timeout=30,
    )
    assert r.status_code == 201, r.text

    buf = io.BytesIO()
    month = quarter.start.month
    generator.generate(buf, facility=facility, records=6, year=quarter.year, months=[month], seed=11,
                       faults={"card_format": 2})  # fmt: skip
    # The generated file, and a real export whose tables are plain XML (read after a format repair).
    real = (ROOT / "tests/data/claims/real_20003_inpatient_plain_tables.xml").read_bytes()
    for body in (buf.getvalue(), real):
        r = requests.post(
            stack.url + "/api/v1/claims/files",
            data=body,
            headers={**bhxh, "Content-Type": "application/xml"},
            timeout=60,
        )
        assert r.status_code == 202, r.text
        file_id, deadline = r.json()["id"], time.monotonic() + 90
        while (status := requests.get(stack.url + f"/api/v1/claims/files/{file_id}", headers=bhxh, timeout=30).json())[
            "status"
        ] == "processing":
            assert time.monotonic() < deadline, status
            time.sleep(0.3)

    # A redelivery (the same event twice) and a poison event (a fund that is not an amount), left parked.
    spend = _envelope(
        "capitation_spend_changed",
        "claims",
        {"facility_code": facility, "period": "2023-Q4", "spend": "5.00", "claims": 1},
    )
    _publish(stack, "claims.events", spend)
    _publish(stack, "claims.events", spend)
    poison = {"fund_id": 1, "facility_code": facility, "period": str(quarter), "fund": "một nghìn"}
    _publish(stack, "finance.events", _envelope("capitation_fund_set", "finance", poison))

    # A quarter two back, its claims in, reported long ago: the advance (5 working days) and BHXH's result
    # (30 days) are overdue today; nothing paid.
    settled = quarter.previous().previous()
    buf = io.BytesIO()
    generator.generate(buf, facility=facility, records=4, year=settled.year, months=[settled.start.month], seed=12)
    r = requests.post(stack.url + "/api/v1/claims/files", data=buf.getvalue(),
                      headers={**bhxh, "Content-Type": "application/xml"}, timeout=60)  # fmt: skip
    assert r.status_code == 202, r.text
    file_id, deadline = r.json()["id"], time.monotonic() + 90
    while (
        requests.get(stack.url + f"/api/v1/claims/files/{file_id}", headers=bhxh, timeout=30).json()["status"]
        == "processing"
    ):
        assert time.monotonic() < deadline
        time.sleep(0.3)
    received = settled.end + timedelta(days=7)
    r = requests.post(
        stack.url + "/api/v1/capitation/reports",
        json={"facility_code": facility, "period": str(settled), "received_date": received.isoformat()},
        headers=bhxh,
        timeout=30,
    )
    assert r.status_code == 201, r.text
    assert r.json()["advance"]["amount"] > 0, r.text

    # Another facility holds a fund for that quarter and never reported it: its report step is overdue.
    unreported = (fresh_facility(), str(settled))
    r = requests.post(
        stack.url + "/api/v1/capitation/funds",
        json={"facility_code": unreported[0], "period": unreported[1], "cards": 1, "rate_per_card": 1_000,
              "coefficient": "1"},  # fmt: skip
        headers=finance,
        timeout=30,
    )
    assert r.status_code == 201, r.text

    alerts = dict(SHOULD_FIRE)
    prometheus.wait_for("ytcs_yearly_reports_late")
    if prometheus.query("max(ytcs_yearly_reports_late) > 0"):
        alerts["YtcsYearlyReportsLate"] = "pending"
    today = clock.today()
    reviewed = min(today.year - 1, 2025)  # the seed plans run to 2025
    if today.year - 1 == reviewed:  # the year ended less than a year ago
        answer = requests.get(stack.url + "/api/v1/investment/targets", params={"plan_id": 1, "year": reviewed},
                              headers=finance, timeout=60).json()  # fmt: skip
        if any(t["met"] is not True for t in answer["items"] if t["target_year"] in (reviewed, None)):
            alerts["YtcsTargetsNotMet"] = "pending"
    # The figures follow the writes within a look (10 s): the tests that draw or compare them start after.
    prometheus.wait_for(f'ytcs_capitation_advance_overdue_vnd{{facility="{facility}"}} > 0')
    return Scenario(year, str(quarter), facility, time.monotonic(), str(settled), unreported, alerts)


def _concrete(expr: str, scenario: Scenario) -> str:
    return (
        expr.replace("$__rate_interval", "1m")
        .replace("$__range", "1h")
        .replace("$plan", ".*")
        .replace("$year", str(scenario.year))
        .replace("$quarter", ".*")
    )


def test_every_dashboard_and_recording_rule_expression_returns_data(scenario: Scenario, prometheus: Prometheus) -> None:
    """Enumerated from the files: a panel or rule added without data behind it fails here."""
    exprs = {f"{src}: {title}": _concrete(e, scenario) for src, title, e in dashboard_exprs()}
    exprs |= {f"{src}: {name}": e for src, name, e in rule_exprs() if ":" in name}  # recording rules
    assert len(exprs) > 40
    empty = dict(exprs)
    deadline = time.monotonic() + 90
    while empty and time.monotonic() < deadline:
        empty = {k: e for k, e in empty.items() if not prometheus.query(e)}
        time.sleep(1.0)
    assert empty == {}, "these expressions return no data after the scenario"


def test_the_alerts_that_should_fire_fire_and_no_other(scenario: Scenario, prometheus: Prometheus) -> None:
    alert_rules = {name: expr for _, name, expr in rule_exprs() if ":" not in name}
    expected = scenario.alerts
    assert set(expected) <= set(alert_rules)
    deadline = time.monotonic() + 90
    while True:
        active = {r["metric"]["alertname"]: r["metric"]["alertstate"] for r in prometheus.query("ALERTS")}
        reached = all(active.get(a) == state for a, state in expected.items())
        if reached and set(active) == set(expected):
            break
        assert time.monotonic() < deadline, f"active alerts {active}, expected {expected}"
        time.sleep(1.0)
    # An alert that does not fire must still be fed: every series its expression reads exists.
    for name, expr in alert_rules.items():
        for metric in metric_names(expr):
            assert prometheus.query(f"count({metric})"), f"{name} reads {metric}, which no process exports"


def test_business_figures_are_those_the_api_answers(stack: Stack, scenario: Scenario, prometheus: Prometheus) -> None:
    finance = {"Authorization": f"Bearer {stack.token('finance')}"}
    item = requests.get(
        stack.url + "/api/v1/plans/1/items/III/funding", params={"year": scenario.year}, headers=finance, timeout=30
    ).json()["streams"]["finance"]
    sel = f'plan="158/KH-UBND", item="III", year="{scenario.year}"'
    gauges = [f"sum(max by (source) (ytcs_funding_{kind}_vnd{{{sel}}}))" for kind in ("allocated", "disbursed")]
    deadline = time.monotonic() + 60
    while True:
        got = [prometheus.query(g) for g in gauges]
        values = [int(float(g[0]["value"][1])) if g else None for g in got]
        if values == [item["allocated"], item["disbursed"]]:
            break
        assert time.monotonic() < deadline, (values, item)
        time.sleep(1.0)
    ratio = prometheus.query(f"max(ytcs_funding_execution_ratio{{{sel}}})")
    assert abs(float(ratio[0]["value"][1]) - item["disbursed"] / item["allocated"]) < 1e-9

    bhxh = {"Authorization": f"Bearer {stack.token('bhxh')}"}
    rec = requests.get(
        stack.url + "/api/v1/reconciliation",
        params={"facility": scenario.facility, "period": scenario.quarter},
        headers=bhxh,
        timeout=30,
    ).json()["capitation"]
    assert Decimal(rec["fund"]) == 1000 and Decimal(rec["spend"]) > 900
    sel = f'facility="{scenario.facility}", quarter="{scenario.quarter}"'
    for metric, want in (("ytcs_capitation_fund_vnd", rec["fund"]), ("ytcs_capitation_spend_vnd", rec["spend"])):
        got = prometheus.wait_for(f"max({metric}{{{sel}}})")
        assert Decimal(got[0]["value"][1]).quantize(Decimal("0.01")) == Decimal(want), metric
    # Once the last write is computed (within 10 s of it), a scrape every second for 15 s more computes nothing:
    # each look reads the stamp only.
    time.sleep(max(0.0, scenario.ended + 32 - time.monotonic()))
    quiet = prometheus.query("max by (service) (changes(ytcs_business_figures_computed_total[15s]))")
    assert {r["metric"]["service"]: float(r["value"][1]) for r in quiet} == {
        "finance": 0.0,
        "claims": 0.0,
        "investment": 0.0,
    }
    assert prometheus.query('count_over_time(up{job="ytcs-finance"}[15s]) >= 12')


def test_settlement_and_target_figures_are_those_the_api_answers(
    stack: Stack, scenario: Scenario, prometheus: Prometheus
) -> None:
    """The overdue steps of the quarter reported long ago, as GET /api/v1/reconciliation lists them, and the
    targets of the last finished year, as GET /api/v1/investment/targets measures them."""
    bhxh = {"Authorization": f"Bearer {stack.token('bhxh')}"}
    rec = requests.get(
        stack.url + "/api/v1/reconciliation",
        params={"facility": scenario.facility, "period": scenario.settled},
        headers=bhxh,
        timeout=30,
    ).json()
    steps = {o["step"] for o in rec["overdue"]}
    assert steps >= {"advance", "result"}, rec["overdue"]
    sel = f'facility="{scenario.facility}"'
    got = prometheus.wait_for(f"max by (step) (ytcs_settlement_steps_overdue{{{sel}}})")
    assert {r["metric"]["step"]: float(r["value"][1]) for r in got} == {s: 1.0 for s in steps}
    advance = rec["settlement"]["steps"]["advance"]
    got = prometheus.wait_for(f"max(ytcs_capitation_advance_overdue_vnd{{{sel}}})")
    assert float(got[0]["value"][1]) == advance["amount"] - advance["paid"] > 0
    # The contracted quarter never reported: its report step, in the API and on the wall.
    facility, quarter = scenario.unreported
    rec = requests.get(stack.url + "/api/v1/reconciliation", params={"facility": facility, "period": quarter},
                       headers=bhxh, timeout=30).json()  # fmt: skip
    assert [o["step"] for o in rec["overdue"]] == ["report"], rec["overdue"]
    got = prometheus.wait_for(f'max by (step) (ytcs_settlement_steps_overdue{{facility="{facility}"}})')
    assert {r["metric"]["step"]: float(r["value"][1]) for r in got} == {"report": 1.0}

    finance = {"Authorization": f"Bearer {stack.token('finance')}"}
    reviewed = min(clock.today().year - 1, 2025)
    answer = requests.get(stack.url + "/api/v1/investment/targets", params={"plan_id": 1, "year": reviewed},
                          headers=finance, timeout=60).json()  # fmt: skip
    want = {(t["item_code"], t["key"]): 0.0 if t["met"] is True else 1.0
            for t in answer["items"] if t["target_year"] in (reviewed, None)}  # fmt: skip
    assert want
    got = prometheus.wait_for(f'max by (item, target) (ytcs_targets_not_met{{plan="158/KH-UBND", year="{reviewed}"}})')
    assert {(r["metric"]["item"], r["metric"]["target"]): float(r["value"][1]) for r in got} == want


def test_the_funding_dashboard_draws_every_panel(scenario: Scenario, prometheus: Prometheus, tmp_path: Path) -> None:
    """deploy/grafana/render.py draws each panel from its queries; YTCS_SCREENSHOTS=1 keeps the picture in
    docs/screenshots/funding.png."""
    from deploy.grafana import render

    out = ROOT / "docs/screenshots/funding.png" if os.environ.get("YTCS_SCREENSHOTS") else tmp_path / "funding.png"
    variables = {"year": str(scenario.year), "plan": ".*", "quarter": ".*"}
    drawn = render.render(prometheus.url, DASHBOARDS[0].parent / "funding.json", out, variables, range_s=300)
    assert out.stat().st_size > 50_000
    assert drawn and all(drawn.values()), {title: n for title, n in drawn.items() if not n}


DOC_TABLE_ROW = re.compile(r"^\|\s*`([a-zA-Z_:][a-zA-Z0-9_:]*)`\s*\|\s*(\w+)\s*\|\s*([^|]+?)\s*\|", re.M)


def test_docs_metrics_lists_exactly_what_the_live_processes_export(scenario: Scenario, prometheus: Prometheus) -> None:
    """docs/metrics.md against the live scrape: every row exists, exported by a process it names and no other."""
    rows = DOC_TABLE_ROW.findall((ROOT / "docs" / "metrics.md").read_text(encoding="utf-8"))
    assert len(rows) > 30
    wrong = {}
    for name, kind, process in rows:
        series = f"{name}_bucket" if kind == "histogram" else name
        if process == "Prometheus":
            if not prometheus.query(f"count({series})"):
                wrong[name] = "absent"
            continue
        allowed = {f"ytcs-{p.strip()}" for p in process.split(",")}
        jobs = {r["metric"]["job"] for r in prometheus.query(f'count by (job) ({series}{{job=~"ytcs-.*"}})')}
        if not jobs or not jobs <= allowed:
            wrong[name] = f"documented for {sorted(allowed)}, exported by {sorted(jobs)}"
    assert wrong == {}


def test_derived_config_keeps_the_deploy_jobs(stack: Stack, tmp_path: Path) -> None:
    cfg = derived_config(stack, 9090)
    assert [j["job_name"] for j in cfg["scrape_configs"]] == [
        "ytcs-gateway",
        "ytcs-finance",
        "ytcs-claims",
        "ytcs-claims-intake",
        "ytcs-investment",
        "prometheus",
    ]
    path = tmp_path / "p.yml"
    path.write_text(yaml.safe_dump(cfg))
    out = subprocess.run(["promtool", "check", "config", str(path)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
