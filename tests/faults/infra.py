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
import signal
import subprocess
import time
from pathlib import Path

import psycopg2

from services.common.broker_node import BrokerNode, die_with_parent
from tests.support.infra import free_port


class PrivateRabbit(BrokerNode):
    """One RabbitMQ node (own node name, ports, epmd, data, cookie) that a test may stop and start: the
    product's private node (services/common/broker_node.py), the one `ytcs run` starts on a bare machine."""

    def __init__(self, base: Path) -> None:
        super().__init__(base, prefix="ytcs-fault")


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

    def _opts(self) -> list[str]:
        # fsync off: a test cluster on a shared disk; an immediate stop is still crash-safe while the OS lives.
        return ["-p", str(self.port), "-k", str(self.base), "-c", "listen_addresses=127.0.0.1",
                "-c", "max_connections=300", "-c", "fsync=off"]

    def _as_owner_dying_with_parent(self) -> None:
        """preexec_fn: become `postgres` (the server refuses root), then ask the kernel for SIGINT (a fast
        shutdown) when the test process dies. The order matters: a change of user clears that request."""
        if self.user:
            pw = pwd.getpwnam(self.user)
            os.setgid(pw.pw_gid)
            os.setuid(pw.pw_uid)
        die_with_parent(signal.SIGINT)

    def start(self, timeout: float = 60) -> None:
        """The postmaster as a child of this process, not a daemon (`pg_ctl start` detaches it): a test process
        killed outright (a timeout, a lost xdist worker) takes its cluster along instead of leaving it running."""
        argv = [str(self.bin / "postgres"), "-D", str(self.data), *self._opts()]
        log = open(self.base / "server.log", "ab")  # noqa: SIM115 - the child keeps it; closed after it stops
        self.proc = subprocess.Popen(
            argv, stdout=log, stderr=log, stdin=subprocess.DEVNULL, preexec_fn=self._as_owner_dying_with_parent
        )
        log.close()
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"postgres exited: {(self.base / 'server.log').read_text()[-2000:]}")
            try:
                psycopg2.connect(self.admin_url, connect_timeout=2).close()
                return
            except psycopg2.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")
        self.proc.wait(timeout=60)  # reaped: a stopped cluster leaves no zombie

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def create_database(self, name: str) -> str:
        conn = psycopg2.connect(self.admin_url)
        conn.autocommit = True
        with contextlib.closing(conn):
            conn.cursor().execute(f'CREATE DATABASE "{name}"')
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"
