"""docker-compose.yml, checked by structure: this machine has no Docker engine, so it is parsed, not run."""

from __future__ import annotations

import re

import pytest
import yaml

from tests.deploy.support import DEPLOY, ROOT

APP = ("finance", "claims", "investment", "gateway")
ALL = ("rabbitmq", "postgres", *APP, "prometheus", "grafana")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_every_service_is_there_with_a_health_check_and_a_restart_policy(compose: dict) -> None:
    services = compose["services"]
    assert set(ALL) <= set(services)
    for name in ALL:
        svc = services[name]
        assert svc["restart"] == "always", name
        test = svc["healthcheck"]["test"]
        assert test[0] in ("CMD", "CMD-SHELL") and len(test) > 1, name
        assert "image" in svc, name
    assert services["migrate"]["restart"] == "no"  # a one-shot: it must not loop


def test_ports_published_and_exposed(compose: dict) -> None:
    services = compose["services"]

    def published(name: str) -> set[str]:
        return {p.split(":")[-1] for p in services[name].get("ports", [])}

    assert published("gateway") == {"8000"}
    assert {"5672", "15672", "15692"} <= published("rabbitmq")
    assert published("prometheus") == {"9090"} and published("grafana") == {"3000"}
    for name, port in (("finance", "9101"), ("claims", "9102"), ("investment", "9103")):
        assert services[name]["expose"] == [port]
        assert services[name]["environment"][f"{name.upper()}_METRICS_PORT"] == port
        assert f"127.0.0.1:{port}/metrics" in " ".join(services[name]["healthcheck"]["test"])
    assert "/healthz" in " ".join(services["gateway"]["healthcheck"]["test"])


def test_named_volumes_keep_the_state(compose: dict) -> None:
    volumes = set(compose["volumes"])
    assert {"rabbitmq-data", "postgres-data", "claim-blobs", "prometheus-data", "grafana-data"} <= volumes
    mounts = {name: " ".join(svc.get("volumes", [])) for name, svc in compose["services"].items()}
    assert "rabbitmq-data:/var/lib/rabbitmq" in mounts["rabbitmq"]
    assert "postgres-data:/var/lib/postgresql/data" in mounts["postgres"]
    assert "claim-blobs:/data/blobs" in mounts["claims"] and "claim-blobs:/data/blobs" in mounts["gateway"]
    assert "prometheus-data:/prometheus" in mounts["prometheus"]
    for name, svc in compose["services"].items():  # every bind mount names a file of this repository
        for mount in svc.get("volumes", []):
            if mount.startswith("./"):
                assert (ROOT / mount.split(":")[0]).exists(), (name, mount)


def test_one_database_per_service_created_by_the_init_script(compose: dict) -> None:
    services = compose["services"]
    assert any("docker-entrypoint-initdb.d" in v for v in services["postgres"]["volumes"])
    urls = {}
    for name in APP:
        env = services[name]["environment"]
        for svc in ("finance", "claims", "investment", "gateway"):
            urls[svc] = env[f"{svc.upper()}_DB_URL"]
    for svc, url in urls.items():
        m = re.match(r"postgresql://(\w+):[^@]+@postgres:5432/(\w+)$", url)
        assert m and m.groups() == (f"ytcs_{svc}", f"ytcs_{svc}"), url
    assert len(set(urls.values())) == 4
    script = (DEPLOY / "postgres" / "init-databases.sh").read_text()
    assert "for service in finance claims investment gateway" in script


def test_start_order_and_the_multiprocess_metrics_dir(compose: dict) -> None:
    services = compose["services"]
    for name in APP:
        deps = services[name]["depends_on"]
        assert deps["migrate"]["condition"] == "service_completed_successfully"
        assert deps["rabbitmq"]["condition"] == "service_healthy"
        assert services[name]["command"] == [name]
        assert services[name]["build"]["dockerfile"] == "deploy/docker/Dockerfile"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    gateway = services["gateway"]
    assert gateway["environment"]["PROMETHEUS_MULTIPROC_DIR"] in gateway["tmpfs"]
    assert gateway["environment"]["YTCS_BIND"] == "0.0.0.0:8000"
    assert "PROMETHEUS_MULTIPROC_DIR" not in services["finance"]["environment"]
    assert "--config.file=/etc/prometheus/prometheus.yml" in services["prometheus"]["command"]
    plugins = (DEPLOY / "rabbitmq" / "enabled_plugins").read_text()
    assert "rabbitmq_prometheus" in plugins and "rabbitmq_management" in plugins


def test_the_image_entrypoint_knows_every_role() -> None:
    entry = (DEPLOY / "docker" / "entrypoint.sh").read_text()
    for role in ("gateway)", "finance|claims|investment)", "migrate)"):
        assert role in entry
    assert "python:services.gateway.gunicorn_conf" in entry
    dockerfile = (DEPLOY / "docker" / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["ytcs-entrypoint"]' in dockerfile and "USER ytcs" in dockerfile
