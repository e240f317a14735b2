"""deploy/k8s: the manifests parse; every YTCS Deployment runs several replicas with probes and resources;
kustomize finds every file it is told to turn into a ConfigMap."""

from __future__ import annotations

import pytest
import yaml

from tests.deploy.support import DEPLOY

K8S = DEPLOY / "k8s"
SERVICES = {"finance": 9101, "claims": 9102, "investment": 9103, "gateway": 8000}


def documents() -> list[dict]:
    docs = []
    for path in sorted(K8S.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                assert {"apiVersion", "kind", "metadata"} <= set(doc), path.name
                docs.append(doc)
    return docs


def workloads(kind: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in documents() if d["kind"] == kind}


def test_kustomization_lists_every_manifest_and_existing_files() -> None:
    kust = yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())
    assert sorted(kust["resources"]) == sorted(f"k8s/{p.name}" for p in K8S.glob("*.yaml"))
    for gen in kust["configMapGenerator"]:
        for entry in gen["files"]:
            assert (DEPLOY / entry.split("=")[-1]).is_file(), entry
    mounted = {
        v["configMap"]["name"]
        for d in documents()
        if d["kind"] in ("Deployment", "StatefulSet")
        for v in d["spec"]["template"]["spec"].get("volumes", [])
        if "configMap" in v
    }
    assert mounted == {g["name"] for g in kust["configMapGenerator"]}


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_service_deployments_scale_out_with_probes_resources_and_scrape_annotations(name: str) -> None:
    dep = workloads("Deployment")[name]
    assert dep["spec"]["replicas"] >= 2
    template = dep["spec"]["template"]
    (container,) = template["spec"]["containers"]
    assert container["args"] == [name]
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["path"] == "/metrics", probe
    assert {"cpu", "memory"} <= set(container["resources"]["requests"])
    assert "memory" in container["resources"]["limits"]
    port = SERVICES[name]
    assert [p["containerPort"] for p in container["ports"]] == [port]
    notes = template["metadata"]["annotations"]
    assert notes["prometheus.io/scrape"] == "true" and notes["prometheus.io/port"] == str(port)
    env_from = {next(iter(e.values()))["name"] for e in container["envFrom"]}
    assert env_from == {"ytcs-config", "ytcs-secrets"}
    pdbs = workloads("PodDisruptionBudget")
    assert pdbs[name]["spec"]["selector"]["matchLabels"] == dep["spec"]["selector"]["matchLabels"]


def test_gateway_workers_write_multiprocess_metrics_to_a_fresh_memory_volume() -> None:
    dep = workloads("Deployment")["gateway"]
    (container,) = dep["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert int(env["YTCS_WEB_WORKERS"]) >= 2
    mount = next(m for m in container["volumeMounts"] if m["mountPath"] == env["PROMETHEUS_MULTIPROC_DIR"])
    volume = next(v for v in dep["spec"]["template"]["spec"]["volumes"] if v["name"] == mount["name"])
    assert volume["emptyDir"]["medium"] == "Memory"


def test_claim_blobs_are_shared_between_gateway_and_claims() -> None:
    pvc = workloads("PersistentVolumeClaim")["ytcs-claim-blobs"]
    assert pvc["spec"]["accessModes"] == ["ReadWriteMany"]
    for name in ("gateway", "claims"):
        vols = workloads("Deployment")[name]["spec"]["template"]["spec"]["volumes"]
        assert any(v.get("persistentVolumeClaim", {}).get("claimName") == "ytcs-claim-blobs" for v in vols)


def test_a_database_server_per_service_and_a_rabbitmq_cluster_of_three() -> None:
    sets = workloads("StatefulSet")
    for svc in ("finance", "claims", "investment", "gateway"):
        pg = sets[f"postgres-{svc}"]
        (container,) = pg["spec"]["template"]["spec"]["containers"]
        env = {e["name"]: e for e in container["env"]}
        assert env["POSTGRES_DB"]["value"] == f"ytcs_{svc}"
        assert env["POSTGRES_PASSWORD"]["valueFrom"]["secretKeyRef"]["key"] == f"{svc.upper()}_DB_PASSWORD"
        assert "readinessProbe" in container and "livenessProbe" in container and container["resources"]
    secret = next(d for d in documents() if d["kind"] == "Secret")
    for svc in ("finance", "claims", "investment", "gateway"):
        assert f"@postgres-{svc}:5432/ytcs_{svc}" in secret["stringData"][f"{svc.upper()}_DB_URL"]
    (rabbit,) = [d for d in documents() if d["kind"] == "RabbitmqCluster"]
    assert rabbit["spec"]["replicas"] == 3
    assert "rabbitmq_prometheus" in rabbit["spec"]["rabbitmq"]["additionalPlugins"]
    config = next(d for d in documents() if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "ytcs-config")
    assert config["data"]["YTCS_QUORUM_QUEUES"] == "1"


def test_migrations_run_once_as_a_job() -> None:
    (job,) = [d for d in documents() if d["kind"] == "Job"]
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["args"] == ["migrate"]
