"""Grafana: the two dashboards are valid JSON, provisioned from files, and query the provisioned datasource."""

from __future__ import annotations

import json

import yaml

from tests.deploy.support import DASHBOARDS, DEPLOY, dashboard_exprs

GRAFANA = DEPLOY / "grafana"


def datasource_uid() -> str:
    cfg = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text())
    (ds,) = cfg["datasources"]
    assert ds["type"] == "prometheus" and ds["url"] == "${PROMETHEUS_URL}"
    return ds["uid"]


def panels(items: list[dict]):
    for p in items:
        yield p
        yield from panels(p.get("panels", []))


def test_an_operations_and_a_funding_dashboard() -> None:
    boards = {json.loads(p.read_text())["uid"]: json.loads(p.read_text()) for p in DASHBOARDS}
    assert set(boards) == {"ytcs-operations", "ytcs-funding"}
    funding = json.dumps(boards["ytcs-funding"])
    for metric in ("ytcs_funding_allocated_vnd", "ytcs_funding_disbursed_vnd", "ytcs_capitation_spend_vnd"):
        assert metric in funding
    ops = json.dumps(boards["ytcs-operations"])
    for metric in (
        "ytcs_http_requests_total",
        "ytcs_rpc_duration_seconds_bucket",
        "ytcs_outbox_backlog",
        "ytcs.dead-letters",
        "ytcs_claims_records_total",
    ):
        assert metric in ops


def test_every_panel_queries_the_provisioned_datasource_with_unique_ids_and_sane_layout() -> None:
    uid = datasource_uid()
    for path in DASHBOARDS:
        board = json.loads(path.read_text())
        ids = [p["id"] for p in panels(board["panels"])]
        assert len(ids) == len(set(ids)), path.name
        for p in panels(board["panels"]):
            grid = p["gridPos"]
            assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24, (path.name, p["title"])
            if p["type"] == "row":
                continue
            assert p["datasource"]["uid"] == uid, (path.name, p["title"])
            assert p["targets"], (path.name, p["title"])
            for t in p["targets"]:
                assert t["datasource"]["uid"] == uid and t["expr"].strip(), (path.name, p["title"])
        for var in board["templating"]["list"]:
            assert var["datasource"]["uid"] == uid


def test_provisioning_points_at_the_mounted_dashboards() -> None:
    cfg = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "ytcs.yml").read_text())
    (provider,) = cfg["providers"]
    assert provider["type"] == "file" and provider["options"]["path"] == "/var/lib/grafana/dashboards"
    compose = yaml.safe_load((DEPLOY.parent / "docker-compose.yml").read_text())
    volumes = compose["services"]["grafana"]["volumes"]
    assert "./deploy/grafana/dashboards:/var/lib/grafana/dashboards:ro" in volumes
    assert "./deploy/grafana/provisioning:/etc/grafana/provisioning:ro" in volumes


def test_there_are_queries_to_check() -> None:
    assert len(list(dashboard_exprs())) > 30
