"""A real Prometheus (Debian's binary) on a config derived from deploy/prometheus/prometheus.yml, scraping the
running system (`stack`): every process is up, the rules load, the dashboards' queries parse, and after a
claim file and an allocation the figures the dashboards show are there."""

from __future__ import annotations

import io
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import requests
import yaml

from tests.deploy.support import PROM, RULES, dashboard_exprs
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
        "ytcs-investment": stack.env["INVESTMENT_METRICS_PORT"],
        "prometheus": prom_port,
    }
    jobs = []
    for job in cfg["scrape_configs"]:
        if job["job_name"].startswith("rabbitmq"):
            continue  # the broker of this machine runs without its prometheus plugin
        job["static_configs"][0]["targets"] = [f"127.0.0.1:{ports[job['job_name']]}"]
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
        if len(health) == 5 and all(h == "up" for h in health.values()):
            break
        assert time.monotonic() < deadline, [(t["labels"]["job"], t["health"], t["lastError"]) for t in targets]
        time.sleep(0.5)
    ups = {r["metric"]["job"]: r["value"][1] for r in prometheus.wait_for('up{job=~"ytcs-.*"}')}
    assert ups == {"ytcs-gateway": "1", "ytcs-finance": "1", "ytcs-claims": "1", "ytcs-investment": "1"}


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
            .replace("$year", str(date.today().year))
            .replace("$quarter", ".*")
        )
        prometheus.api("query", query=concrete)  # asserts status success: the expression parses and runs
        assert source and title


def test_dashboard_figures_are_live_after_a_claim_file_and_an_allocation(stack: Stack, prometheus: Prometheus) -> None:
    from services.claims import generator

    finance = {"Authorization": f"Bearer {stack.token('finance')}"}
    year = min(date.today().year, 2025)  # the seed plan runs 2018–2025; the wall shows this year and the last
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

    buf = io.BytesIO()
    generator.generate(buf, facility="91P01", records=6, year=2023, months=[4], seed=11, faults={"card_format": 2})
    bhxh = {"Authorization": f"Bearer {stack.token('bhxh')}"}
    r = requests.post(
        stack.url + "/api/v1/claims/files",
        data=buf.getvalue(),
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

    # What the operations dashboard draws, now non-empty.
    records = {
        r["metric"]["outcome"]: float(r["value"][1])
        for r in prometheus.wait_for(
            'sum by (outcome) (ytcs_claims_records_total{outcome="rejected"} > 0)'
            ' or sum by (outcome) (ytcs_claims_records_total{outcome="accepted"} > 0)'
        )
    }
    assert records.get("rejected", 0) >= 2 and records.get("accepted", 0) >= 1
    prometheus.wait_for('ytcs_claims_issues_total{code="card_format", severity="critical"} > 0')
    prometheus.wait_for('ytcs_claims_files_total{outcome="done"} > 0')
    prometheus.wait_for("ytcs_claims_file_processing_seconds_count > 0")
    prometheus.wait_for('ytcs_http_requests_total{endpoint=~".*allocation.*", method="POST", status="201"} > 0')
    prometheus.wait_for('ytcs_rpc_requests_total{service="finance", outcome="ok"} > 0')
    prometheus.wait_for("sum(ytcs_events_published_total) > 0")
    prometheus.wait_for('ytcs_outbox_backlog{service="finance"}')
    prometheus.wait_for("histogram_quantile(0.95, sum by (le) (rate(ytcs_http_request_duration_seconds_bucket[1m])))")
    # The wall gauges, once a service has wired its figures (services/common/business_metrics.py).
    if prometheus.query("ytcs_business_figures_up"):
        assert prometheus.wait_for("min(ytcs_business_figures_up) == 1")
        if prometheus.query('ytcs_business_figures_up{service="finance"}'):
            prometheus.wait_for(f'ytcs_funding_allocated_vnd{{plan="158/KH-UBND", year="{year}"}} > 0')


def test_derived_config_keeps_the_deploy_jobs(stack: Stack, tmp_path: Path) -> None:
    cfg = derived_config(stack, 9090)
    assert [j["job_name"] for j in cfg["scrape_configs"]] == [
        "ytcs-gateway",
        "ytcs-finance",
        "ytcs-claims",
        "ytcs-investment",
        "prometheus",
    ]
    path = tmp_path / "p.yml"
    path.write_text(yaml.safe_dump(cfg))
    out = subprocess.run(["promtool", "check", "config", str(path)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
