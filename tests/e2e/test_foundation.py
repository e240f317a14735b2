"""The foundation through the running system: plans, items, stations, CLI, health, metrics, supervision."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import requests

from tests.support.infra import ROOT

PROVINCE_CODES = [
    "I",
    "I.1",
    "I.2",
    "I.2.a",
    "I.2.b",
    "II",
    "II.1",
    "II.2",
    "II.2.1",
    "II.2.2",
    "II.2.3",
    "II.2.4",
    "II.2.5",
    "II.2.6",
    "II.3",
    "II.4",
    "II.5",
    "III",
    "IV",
    "IV.1",
    "IV.2",
    "IV.3",
    "IV.4",
    "IV.5",
    "IV.6",
    "IV.7",
    "IV.8",
    "V",
]
DISTRICT_CODES = [c for c in PROVINCE_CODES if c != "IV.8"]


def get(stack, path, token, **params):
    return requests.get(stack.url + path, headers={"Authorization": f"Bearer {token}"}, params=params, timeout=30)


def test_health_reports_every_service(stack):
    r = requests.get(stack.url + "/healthz", timeout=30)
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "services": {"finance": "ok", "claims": "ok", "investment": "ok"}}


def test_both_plans_with_all_items(stack):
    token = stack.token("viewer")
    plans = get(stack, "/api/v1/plans", token).json()["items"]
    by_number = {p["number"]: p for p in plans}
    province, district = by_number["158/KH-UBND"], by_number["34/KH-UBND"]
    assert (province["level"], province["unit"], province["parent_id"]) == ("province", "91", None)
    assert (district["level"], district["unit"], district["parent_id"]) == ("district", "910", province["id"])
    for plan, codes in ((province, PROVINCE_CODES), (district, DISTRICT_CODES)):
        items = get(stack, f"/api/v1/plans/{plan['id']}/items", token).json()["items"]
        assert [i["code"] for i in items] == codes
        by_code = {i["code"]: i for i in items}
        assert by_code["II.2.4"]["parent_code"] == "II.2" and by_code["I.2.b"]["parent_code"] == "I.2"
        assert "BHYT" in by_code["II.4"]["title"] or "bảo hiểm y tế" in by_code["II.4"]["title"].lower()
        targets = {t["key"]: t for t in by_code["I.2.b"]["targets"] if t["year"] == 2025}
        assert targets["stations_bhyt_eligible"]["value"] == 100


def test_all_145_stations_and_the_merger(stack):
    token = stack.token("viewer")
    stations = get(stack, "/api/v1/stations", token).json()["items"]
    assert len(stations) == 145
    assert {"code", "name", "district", "valid_from", "valid_to", "successor"} <= set(stations[0])
    vt = get(stack, "/api/v1/stations", token, unit="910").json()["items"]
    assert len(vt) == 8 and all(s["valid_to"] == "2025-06-30" for s in vt)
    assert {s["code"]: s["successor"] for s in vt}["31060"] == "31064"
    after = get(stack, "/api/v1/stations", token, unit="910", at="2025-07-01").json()["items"]
    assert sorted(s["code"] for s in after) == ["31051", "31064", "31069"]


def test_unit_scoped_token_sees_only_its_district(stack):
    token = stack.token("viewer", unit="910")
    assert len(get(stack, "/api/v1/stations", token).json()["items"]) == 8
    r = get(stack, "/api/v1/stations", token, unit="899")
    assert r.status_code == 403 and r.json()["errors"][0]["code"] == "unit_forbidden"


def test_api_needs_a_valid_token(stack):
    assert requests.get(stack.url + "/api/v1/plans", timeout=30).status_code == 401
    r = get(stack, "/api/v1/plans", "ytcs_not-a-real-token")
    assert r.status_code == 401 and r.json()["errors"][0]["code"] == "unauthorized"


def test_cli_creates_users_and_refuses_bad_roles(stack):
    out = stack.ytcs(
        "user", "create", "--username", "ketoan1", "--role", "finance", "--unit", "910", stdin="mat-khau-dai\n"
    )
    assert "ketoan1" in out
    bad = subprocess.run(
        [str(ROOT / ".venv/bin/ytcs"), "token", "create", "--name", "x", "--role", "boss"],
        env=stack.env,
        capture_output=True,
        text=True,
    )
    assert bad.returncode != 0 and "Vai trò" in bad.stderr


def test_the_token_command_makes_a_token_the_api_takes(stack):
    """The suite's tokens are made in-process (Stack.token); this is the command a person runs."""
    out = stack.ytcs("token", "create", "--name", "script-910", "--role", "viewer", "--unit", "910")
    assert "role viewer, unit 910" in out
    token = out.strip().splitlines()[-1]
    assert get(stack, "/api/v1/plans", token).status_code == 200


def test_every_process_serves_metrics(stack):
    assert "ytcs_http_requests_total" in requests.get(stack.url + "/metrics", timeout=30).text
    for service in ("FINANCE", "CLAIMS", "INVESTMENT"):
        text = requests.get(f"http://127.0.0.1:{stack.env[service + '_METRICS_PORT']}/metrics", timeout=30).text
        assert "ytcs_rpc_requests_total" in text


def test_the_gateway_opens_no_control_socket(stack):
    """gunicorn 27's control socket would be one path per host (~/.gunicorn/gunicorn.ctl) shared by every
    stack's master: it is switched off (gunicorn_conf.py); the log says which socket a master listens on."""
    log = stack.log.read_text(errors="replace")
    assert "Listening at: http://" in log and "Control socket listening" not in log


def _pids_of(stack, needle: str) -> list[int]:
    """Processes of THIS stack (other stacks may run beside it) whose command line ends with `needle` (so
    "runner claims" is the claims RPC process, not its intake worker "runner claims-intake")."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().rstrip(b"\0").replace(b"\0", b" ").decode()
            env = (proc / "environ").read_bytes()
        except OSError:
            continue
        if cmd.endswith(needle) and f"YTCS_VAR={stack.var}".encode() in env:
            pids.append(int(proc.name))
    return pids


def test_a_killed_service_is_restarted(stack):
    [pid] = _pids_of(stack, "services.common.runner claims")
    os.kill(pid, signal.SIGKILL)
    time.sleep(1)
    health = stack.wait_healthy(timeout=60)
    assert health["services"]["claims"] == "ok"
    [new_pid] = _pids_of(stack, "services.common.runner claims")
    assert new_pid != pid


def test_the_system_runs_on_postgresql(pg_stack):
    token = pg_stack.token("admin")
    assert requests.get(pg_stack.url + "/healthz", timeout=30).status_code == 200
    assert len(get(pg_stack, "/api/v1/plans", token).json()["items"]) == 2
    assert len(get(pg_stack, "/api/v1/plans/2/items", token).json()["items"]) == len(DISTRICT_CODES)
    assert len(get(pg_stack, "/api/v1/stations", token).json()["items"]) == 145


def test_run_says_in_one_line_when_rabbitmq_is_unreachable(tmp_path):
    from tests.support.infra import free_port

    env = dict(os.environ, YTCS_VAR=str(tmp_path), AMQP_URI=f"amqp://guest:guest@127.0.0.1:{free_port()}/")
    out = subprocess.run(
        [str(ROOT / ".venv/bin/ytcs"), "run"], env=env, capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert out.returncode == 2
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "RabbitMQ is not reachable" in lines[0] and "rabbitmq-server -detached" in lines[0]


def test_a_service_whose_metrics_port_is_taken_says_so_in_one_line(tmp_path):
    import socket

    with socket.socket() as held:
        held.bind(("0.0.0.0", 0))
        held.listen()
        port = held.getsockname()[1]
        env = dict(os.environ, YTCS_VAR=str(tmp_path), FINANCE_METRICS_PORT=str(port))
        out = subprocess.run(
            [str(ROOT / ".venv/bin/python"), "-m", "services.common.runner", "finance"],
            env=env, capture_output=True, text=True, timeout=60, cwd=ROOT,
        )
    assert out.returncode == 1
    assert "Traceback" not in out.stderr
    assert f"cannot serve metrics on port {port}" in out.stderr and "FINANCE_METRICS_PORT" in out.stderr
