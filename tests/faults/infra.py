"""Private infrastructure that a fault test may break: a RabbitMQ node and a PostgreSQL cluster of its own.

The machine's shared broker (5672) and database (5432) serve other people's tests and CI, so the faults
are never injected there: these start a separate node/cluster in a temporary folder, on free loopback
ports, and stop it afterwards. Both keep their data across a stop/start, as a real server does.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import psycopg2

from tests.support.infra import free_port

RABBIT_BIN = Path("/usr/lib/rabbitmq/bin")


class PrivateRabbit:
    """One RabbitMQ node (own node name, ports, data, cookie) that a test may stop and start."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.port = free_port()
        self.node = f"ytcs-fault-{uuid.uuid4().hex[:8]}@localhost"
        self.proc: subprocess.Popen | None = None
        home = base / "home"  # the Erlang cookie lives here, shared by the server and our rabbitmqctl
        for d in (home, base / "mnesia", base / "log"):
            d.mkdir(parents=True, exist_ok=True)
        (base / "enabled_plugins").write_text("[].\n")
        # Our own config file: the machine's /etc/rabbitmq/rabbitmq.conf binds 5672, which is taken.
        (base / "rabbitmq.conf").write_text(f"listeners.tcp.local = 127.0.0.1:{self.port}\n")
        (base / "rabbitmq-env.conf").write_text("ERL_EPMD_ADDRESS=127.0.0.1\n")
        self.env = dict(
            os.environ,
            HOME=str(home),
            RABBITMQ_NODENAME=self.node,
            RABBITMQ_NODE_PORT=str(self.port),
            RABBITMQ_DIST_PORT=str(free_port()),
            RABBITMQ_MNESIA_BASE=str(base / "mnesia"),
            RABBITMQ_LOG_BASE=str(base / "log"),
            RABBITMQ_ENABLED_PLUGINS_FILE=str(base / "enabled_plugins"),
            RABBITMQ_CONFIG_FILE=str(base / "rabbitmq.conf"),
            RABBITMQ_CONF_ENV_FILE=str(base / "rabbitmq-env.conf"),
            ERL_FLAGS="-kernel inet_dist_use_interface {127,0,0,1}",
        )

    @staticmethod
    def available() -> bool:
        return (RABBIT_BIN / "rabbitmq-server").exists() and shutil.which("epmd") is not None

    @property
    def uri(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    def ctl(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(RABBIT_BIN / "rabbitmqctl"), "-n", self.node, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def start(self, timeout: float = 90) -> None:
        log = open(self.base / "server.out", "ab")  # noqa: SIM115 - lives as long as the server
        self.proc = subprocess.Popen(
            [str(RABBIT_BIN / "rabbitmq-server")], env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=self.base
        )
        pidfile = self.base / "mnesia" / f"{self.node}.pid"
        deadline = time.monotonic() + timeout
        while not pidfile.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"private RabbitMQ did not start: {(self.base / 'server.out').read_text()[-2000:]}")
            time.sleep(0.2)
        out = self.ctl("wait", str(pidfile), "--timeout", str(int(timeout)), timeout=timeout + 10)
        if out.returncode != 0:
            raise RuntimeError(f"private RabbitMQ not ready: {out.stdout}{out.stderr}")

    def stop(self) -> None:
        """A clean broker stop (every client connection is closed by the server)."""
        if self.proc is None:
            return
        self.ctl("stop")
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def queue_depths(self) -> dict[str, int]:
        out = self.ctl("list_queues", "-q", "--no-table-headers", "name", "messages")
        depths = {}
        for line in out.stdout.splitlines():
            name, _, n = line.rpartition("\t")
            if n.isdigit():
                depths[name] = int(n)
        return depths


class PrivatePostgres:
    """One PostgreSQL cluster in a temporary folder, owned by the `postgres` user (initdb refuses root)."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.port = free_port()
        self.data = base / "data"
        self.user = "postgres" if os.geteuid() == 0 else None
        base.mkdir(parents=True, exist_ok=True)
        if self.user:
            pw = pwd.getpwnam(self.user)
            os.chown(base, pw.pw_uid, pw.pw_gid)
        self.bin = Path(sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1])

    @staticmethod
    def available() -> bool:
        if not glob.glob("/usr/lib/postgresql/*/bin/initdb"):
            return False
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                return False
        return True

    def _run(self, *argv: str, timeout: float = 120) -> subprocess.CompletedProcess:
        cmd = [str(self.bin / argv[0]), *argv[1:]]
        if self.user:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if out.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed: {out.stdout}{out.stderr}")
        return out

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync")

    def _opts(self) -> str:
        # fsync off: a test cluster on a shared disk; an immediate stop is still crash-safe while the OS lives.
        return f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off"

    def start(self) -> None:
        log = str(self.base / "server.log")
        self._run("pg_ctl", "-D", str(self.data), "-o", self._opts(), "-l", log, "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def create_database(self, name: str) -> str:
        conn = psycopg2.connect(self.admin_url)
        conn.autocommit = True
        with contextlib.closing(conn):
            conn.cursor().execute(f'CREATE DATABASE "{name}"')
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"
