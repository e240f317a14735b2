"""deploy/prometheus: promtool checks the configs and rules, and runs the alert rules' unit tests; every alert
has a case where it fires and one where it stays silent."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from tests.deploy.support import PROM, RULE_TESTS, RULES, promtool

JOBS = {"ytcs-gateway", "ytcs-finance", "ytcs-claims", "ytcs-investment"}


def run(*args: str, cwd: Path = PROM) -> subprocess.CompletedProcess:
    return subprocess.run([promtool(), *args], capture_output=True, text=True, timeout=120, cwd=cwd)


@pytest.mark.parametrize("config", ["prometheus.yml", "prometheus.local.yml"])
def test_promtool_check_config(config: str) -> None:
    out = run("check", "config", config)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS" in out.stdout + out.stderr


def test_k8s_config_checks_with_static_targets_in_place_of_discovery(tmp_path: Path) -> None:
    """Debian's Prometheus is built without Kubernetes discovery, so promtool refuses `kubernetes_sd_configs`:
    check everything else (relabelling, jobs, rule files) with a static target in its place."""
    cfg = yaml.safe_load((PROM / "prometheus.k8s.yml").read_text())
    for job in cfg["scrape_configs"]:
        if "kubernetes_sd_configs" in job:
            assert job["kubernetes_sd_configs"][0]["role"] == "pod"
            job["static_configs"] = [{"targets": ["10.0.0.1:9101"]}]
            del job["kubernetes_sd_configs"]
    cfg["rule_files"] = [str(p) for p in RULES]
    path = tmp_path / "prometheus.k8s.yml"
    path.write_text(yaml.safe_dump(cfg))
    out = run("check", "config", str(path), cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr


def test_every_process_is_scraped() -> None:
    for name in ("prometheus.yml", "prometheus.local.yml"):
        cfg = yaml.safe_load((PROM / name).read_text())
        jobs = {j["job_name"]: j for j in cfg["scrape_configs"]}
        assert set(jobs) >= JOBS, name
        ports = {j: jobs[j]["static_configs"][0]["targets"][0].rsplit(":", 1)[1] for j in JOBS}
        assert ports == {
            "ytcs-gateway": "8000",
            "ytcs-finance": "9101",
            "ytcs-claims": "9102",
            "ytcs-investment": "9103",
        }, name
        assert cfg["rule_files"] == ["rules/*.yml"]
    compose_cfg = yaml.safe_load((PROM / "prometheus.yml").read_text())
    queues = next(j for j in compose_cfg["scrape_configs"] if j["job_name"] == "rabbitmq-queues")
    assert queues["metrics_path"] == "/metrics/detailed" and queues["params"]["family"] == ["queue_coarse_metrics"]


def test_promtool_check_rules() -> None:
    out = run("check", "rules", *map(str, RULES))
    assert out.returncode == 0, out.stdout + out.stderr


def test_promtool_test_rules() -> None:
    out = run("test", "rules", *map(str, RULE_TESTS))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "FAILED" not in out.stdout + out.stderr


def alerts() -> dict[str, dict]:
    found = {}
    for path in RULES:
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                if "alert" in rule:
                    found[rule["alert"]] = rule
    return found


def test_every_alert_is_tested_firing_and_silent() -> None:
    firing: set[str] = set()
    silent: set[str] = set()
    for path in RULE_TESTS:
        for case in yaml.safe_load(path.read_text())["tests"]:
            for check in case.get("alert_rule_test", []):
                (firing if check.get("exp_alerts") else silent).add(check["alertname"])
    names = set(alerts())
    assert names - firing == set(), "alerts never seen firing in a test"
    assert names - silent == set(), "alerts never seen staying silent in a test"


def test_every_alert_has_severity_summary_and_a_runbook_that_exists() -> None:
    deployment = (PROM.parents[1] / "docs" / "deployment.md").read_text()
    for name, rule in alerts().items():
        assert rule["labels"]["severity"] in ("critical", "warning"), name
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], name
        anchor = rule["annotations"]["runbook"].split("#", 1)[1]
        assert anchor == f"runbook-{name.lower()}"
        assert f'<a id="{anchor}"></a>' in deployment, f"docs/deployment.md has no runbook for {name}"
