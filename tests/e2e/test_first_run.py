"""A fresh machine: `ytcs run` with no broker set up starts a private RabbitMQ node of its own, leads the first
person to a working login through a one-time link, shows an empty system what to do first, and a Ctrl-C at
any moment (during the first migration too) stops everything without a traceback and leaves no process.

Nothing shared is stopped or used: AMQP_URI is unset and the default broker port is pointed at a closed port
(YTCS_DEFAULT_AMQP_PORT), so the machine's RabbitMQ at 5672 is never reached; the private node has its own
node name, cookie, epmd and ports. "No process left" is checked by every process's environment: each one
`ytcs run` starts (services, gunicorn, migration, epmd, beam.smp and its helpers) inherits this test's YTCS_VAR.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from kombu import Connection

from services.common.broker_node import BrokerNode
from tests.support.infra import ROOT, free_port

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
HTML = {"Accept": "text/html"}


class FirstRun:
    """`ytcs run` as a newcomer types it (`make run`), in a session of its own like a terminal's job."""

    def __init__(self, var: Path) -> None:
        self.var = var
        self.port = free_port()
        self.env = {k: v for k, v in os.environ.items() if k != "AMQP_URI" and not k.endswith("_DB_URL")}
        self.env.update(
            YTCS_VAR=str(var),
            YTCS_PORT=str(self.port),
            YTCS_DEFAULT_AMQP_PORT=str(free_port()),  # nothing listens there: "no broker on this machine"
            FINANCE_METRICS_PORT=str(free_port()),
            CLAIMS_METRICS_PORT=str(free_port()),
            INVESTMENT_METRICS_PORT=str(free_port()),
            YTCS_WEB_WORKERS="2",
            PYTHONUNBUFFERED="1",
        )
        self.proc: subprocess.Popen | None = None
        self.log = var / f"run-{time.monotonic_ns()}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def start(self) -> None:
        if not BrokerNode.available():
            pytest.fail("these tests start a private node: rabbitmq-server must be installed (make run installs it)")
        self.var.mkdir(parents=True, exist_ok=True)
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "services.cli", "run"],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
                start_new_session=True,
            )

    def wait_for(self, predicate, what: str, timeout: float = 150) -> None:  # noqa: ANN001
        deadline = time.monotonic() + timeout
        while not predicate():
            assert self.proc is not None
            if self.proc.poll() is not None:
                pytest.fail(f"ytcs run exited ({self.proc.returncode}) before {what}:\n{self.output[-3000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"no {what} after {timeout}s:\n{self.output[-3000:]}")
            time.sleep(0.1)

    def wait_healthy(self) -> None:
        def healthy() -> bool:
            try:
                return requests.get(self.url + "/healthz", timeout=3).status_code == 200
            except requests.RequestException:
                return False

        self.wait_for(healthy, "/healthz answering")

    def ctrl_c(self, timeout: float = 90) -> int:
        """What a terminal's Ctrl-C does: SIGINT to the whole foreground process group."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGINT)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            pytest.fail(f"ytcs run did not stop within {timeout}s of Ctrl-C:\n{self.output[-3000:]}")

    def left_behind(self, grace: float = 5) -> list[str]:
        """Processes still carrying this run's YTCS_VAR, `grace` seconds given for the last exits."""
        marker = f"YTCS_VAR={self.var}\0".encode()
        left: list[str] = []
        for _ in range(int(grace * 10)):
            left = []
            for proc in Path("/proc").glob("[0-9]*"):
                try:
                    if marker in (proc / "environ").read_bytes():
                        left.append((proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()[:200])
                except OSError:
                    continue
            if not left:
                return []
            time.sleep(0.1)
        return left

    def assert_clean_stop(self, code: int) -> None:
        assert code == 0, self.output[-3000:]
        assert "Traceback" not in self.output, self.output[-5000:]
        assert self.left_behind() == []

    def private_uri(self) -> str:
        found = re.findall(r"private RabbitMQ ready: (amqp://\S+)", self.output)
        assert found, self.output[-3000:]
        return found[-1]


def _csrf(session: requests.Session, url: str) -> tuple[requests.Response, str]:
    page = session.get(url, headers=HTML, timeout=30)
    match = CSRF.search(page.text)
    return page, match.group(1) if match else ""


def test_first_run_starts_a_private_broker_leads_to_a_login_and_stops_clean(tmp_path: Path) -> None:
    run = FirstRun(tmp_path / "var")
    run.start()
    run.wait_healthy()
    out = run.output
    uri = run.private_uri()
    node = (tmp_path / "var" / "rabbitmq" / "node-name").read_text().strip()
    assert node.startswith("ytcs-") and node != "rabbit@localhost" and node in out
    assert f":{run.env['YTCS_DEFAULT_AMQP_PORT']}/" not in uri and ":5672/" not in uri
    assert oct((tmp_path / "var" / "rabbitmq" / "home" / ".erlang.cookie").stat().st_mode & 0o777) == "0o400"
    # One `ytcs run` per data folder: a second one on the same var/ says so and touches nothing.
    twin = subprocess.run(
        [sys.executable, "-m", "services.cli", "run"], env=run.env, cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert twin.returncode == 2 and "YTCS_VAR" in twin.stderr and "Traceback" not in twin.stderr, twin.stderr
    with Connection(uri) as conn:  # a durable queue, to be found again by the second run
        conn.channel().queue_declare("ytcs-first-run-marker", durable=True)

    # The one-time link, printed next to the address; only its hash is kept, readable by its owner alone.
    assert f"serving {run.url}" in out
    links = re.findall(rf"{re.escape(run.url)}/setup\?token=([A-Za-z0-9_-]+)", out)
    assert len(links) == 1, out
    token = links[0]
    kept = tmp_path / "var" / "first-admin-token"
    assert oct(kept.stat().st_mode & 0o777) == "0o600" and token not in kept.read_text()

    browser = requests.Session()
    page, csrf = _csrf(browser, f"{run.url}/setup?token=wrong-{token}")
    assert page.status_code == 404 and "không còn dùng được" in page.text
    page, csrf = _csrf(browser, f"{run.url}/setup?token={token}")
    assert page.status_code == 200 and "Tạo tài khoản quản trị đầu tiên" in page.text and csrf
    form = {"csrf_token": csrf, "token": token, "username": "quantri", "password": "mat-khau-dai-1"}
    r = browser.post(f"{run.url}/setup", data={**form, "password2": "khac-han"}, headers=HTML, timeout=30)
    assert r.status_code == 422 and "khác nhau" in r.text
    r = browser.post(f"{run.url}/setup", data={**form, "password2": "ngan"} | {"password": "ngan"}, headers=HTML)
    assert r.status_code == 400 and "Mật khẩu phải có" in r.text  # the same rules as `ytcs user create`
    no_csrf = {k: v for k, v in form.items() if k != "csrf_token"} | {"password2": form["password"]}
    assert browser.post(f"{run.url}/setup", data=no_csrf, headers=HTML, timeout=30).status_code == 400
    r = browser.post(
        f"{run.url}/setup", data={**form, "password2": form["password"]}, headers=HTML, allow_redirects=False
    )
    assert r.status_code == 303 and r.headers["Location"].startswith("/login"), r.text
    assert not kept.exists()
    # Spent: the same link, and a second account through it, are refused.
    assert browser.get(f"{run.url}/setup?token={token}", headers=HTML, timeout=30).status_code == 404
    again = {**form, "username": "nguoikhac", "password2": form["password"]}
    assert browser.post(f"{run.url}/setup", data=again, headers=HTML, timeout=30).status_code == 404

    # The newcomer logs in with what they just typed and lands on a home page that says what to do first.
    _, csrf = _csrf(browser, f"{run.url}/login")
    r = browser.post(
        f"{run.url}/login",
        data={"csrf_token": csrf, "username": "quantri", "password": "mat-khau-dai-1"},
        headers=HTML,
        allow_redirects=False,
        timeout=30,
    )
    assert r.status_code == 303, r.text
    home = browser.get(run.url + "/", headers=HTML, timeout=30)
    assert home.status_code == 200 and 'id="start-here"' in home.text
    for step in ("Ghi phân bổ kinh phí đầu tiên", "Nạp tệp hồ sơ", "ytcs facility add", "ytcs user create"):
        assert step in home.text
    assert 'id="items"' not in home.text and 'id="total-allocated"' not in home.text  # no wall of zeros
    # Asked for explicitly, the figures are still there.
    assert 'id="items"' in browser.get(run.url + "/?plan=1", headers=HTML, timeout=30).text

    run.assert_clean_stop(run.ctrl_c())
    assert "ytcs: stopped" in run.output

    # A second `make run` finds the node's data (same node, the marker queue) and the account again.
    second = FirstRun(tmp_path / "var")
    second.start()
    second.wait_healthy()
    assert node in second.output and "/setup?token=" not in second.output
    with Connection(second.private_uri()) as conn:
        assert conn.channel().queue_declare("ytcs-first-run-marker", passive=True).queue == "ytcs-first-run-marker"
    b2 = requests.Session()
    _, csrf = _csrf(b2, f"{second.url}/login")
    r = b2.post(
        f"{second.url}/login",
        data={"csrf_token": csrf, "username": "quantri", "password": "mat-khau-dai-1"},
        headers=HTML,
        allow_redirects=False,
        timeout=30,
    )
    assert r.status_code == 303 and r.headers["Location"] == "/"
    second.assert_clean_stop(second.ctrl_c())


@pytest.mark.parametrize("moment", ["broker starting", "first migration"])
def test_ctrl_c_early_stops_everything_without_a_traceback(tmp_path: Path, moment: str) -> None:
    run = FirstRun(tmp_path / "var")
    run.start()
    if moment == "broker starting":
        run.wait_for(lambda: "starting a private node" in run.output, "the private node starting", 60)
    else:
        # The migration creates the databases first: it has begun once a SQLite file is there.
        run.wait_for(lambda: any((tmp_path / "var").glob("*.db")), "the first migration", 120)
        assert "private RabbitMQ ready" in run.output
    run.assert_clean_stop(run.ctrl_c())
    assert "ytcs: started" not in run.output  # stopped before any service ran
    if moment == "first migration":
        # Not cut in half: the migration finished, so the next start has a whole schema to work on.
        done = subprocess.run(
            [sys.executable, "-m", "services.cli", "migrate"], env=run.env, cwd=ROOT, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr


def test_without_rabbitmq_installed_one_line_says_what_to_run(tmp_path: Path) -> None:
    run = FirstRun(tmp_path / "var")
    run.env["PATH"] = str(Path(sys.executable).parent)  # no epmd, no rabbitmq-server: as on a bare machine
    ask = [sys.executable, "-m", "services.common.broker_node", "missing"]
    assert subprocess.run(ask, env=run.env, cwd=ROOT, timeout=60).returncode == 0  # the Makefile would install
    given = {**run.env, "AMQP_URI": "amqp://guest:guest@127.0.0.1:1/"}
    assert subprocess.run(ask, env=given, cwd=ROOT, timeout=60).returncode == 1  # a broker of one's own: nothing
    out = subprocess.run(
        [sys.executable, "-m", "services.cli", "run"], env=run.env, cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    lines = (out.stdout + out.stderr).strip().splitlines()
    assert out.returncode == 2 and len(lines) == 1, lines
    assert "chưa có RabbitMQ" in lines[0] and "not installed" in lines[0]
    assert "sudo apt-get install -y rabbitmq-server" in lines[0]


def test_a_killed_run_leaves_nothing_behind_and_starts_again(tmp_path: Path) -> None:
    """`kill -9` of `ytcs run` itself: every child was started to die with it (PR_SET_PDEATHSIG), the services
    stop within their grace even with the broker going at the same moment, and the next run starts the node."""
    run = FirstRun(tmp_path / "var")
    run.start()
    run.wait_healthy()
    assert run.proc is not None
    run.proc.kill()
    run.proc.wait()
    assert run.left_behind(grace=60) == []
    again = FirstRun(tmp_path / "var")
    again.start()
    again.wait_healthy()
    again.assert_clean_stop(again.ctrl_c())
