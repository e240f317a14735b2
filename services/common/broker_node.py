"""A private RabbitMQ node: its own node name, Erlang cookie, ports, epmd, data and logs in one folder.

`ytcs run` starts one under `var/rabbitmq/` when no `AMQP_URI` is set and nothing answers on the default
port, so a newcomer needs no broker set up by hand; the fault suite starts one per test session so it may
break it without touching the machine's shared broker. The node name is kept in the folder, so a second
start finds the same Mnesia data (vhosts, durable queues and their messages). Everything runs on the
loopback interface, and the node never meets the machine's own epmd or node (`rabbit@localhost`): its own
epmd on a free port is started and stopped with it, so nothing is left behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path

# Debian's package keeps the real scripts here; /usr/sbin/rabbitmq-server is a wrapper that insists on
# running as the `rabbitmq` user, which cannot write a folder of ours.
RABBIT_BIN = Path("/usr/lib/rabbitmq/bin")
INSTALL_HINT = (
    "ytcs: chưa có RabbitMQ trên máy này — hãy chạy / RabbitMQ is not installed — run: "
    "sudo apt-get install -y rabbitmq-server   (hoặc đặt / or set AMQP_URI=amqp://…)"
)


class BrokerNodeError(RuntimeError):
    """The node could not be started (the message says why, with the end of its log)."""


def free_ports(n: int) -> list[int]:
    """`n` distinct loopback ports nothing listens on now. The probes stay bound until all are taken: probed one
    after another, the kernel may hand the same port out twice, and the node would then clash with itself."""
    with contextlib.ExitStack() as held:
        probes = [held.enter_context(socket.socket()) for _ in range(n)]
        for s in probes:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in probes]


def port_open(port: int, host: str = "127.0.0.1", timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def program_dir() -> Path | None:
    """Where rabbitmq-server and rabbitmqctl are, or None when RabbitMQ (or Erlang's epmd) is not installed."""
    if shutil.which("epmd") is None:
        return None
    if (RABBIT_BIN / "rabbitmq-server").exists():
        return RABBIT_BIN
    found = shutil.which("rabbitmq-server")  # other systems put the real script on the PATH
    return Path(found).parent if found else None


def die_with_parent(sig: int = signal.SIGTERM) -> None:
    """preexec_fn: the kernel sends `sig` to this child when the process that started it dies, even by
    SIGKILL, so a killed `ytcs run` leaves no broker or service behind (Linux; elsewhere nothing)."""
    try:  # ctypes is imported with the module: importing inside a forked child, before exec, is unsafe
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, sig)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def amqp_answers(uri: str, timeout: float = 2.0) -> bool:
    from kombu import Connection

    try:
        with Connection(uri, connect_timeout=timeout) as conn:
            conn.ensure_connection(max_retries=1)
        return True
    except Exception:  # noqa: BLE001 - any failure means: not (yet) answering
        return False


class BrokerNode:
    """One RabbitMQ node living in `base`. Ports are drawn when the object is made and kept across its
    stop/start (the fault suite restarts a node under running clients); the node name and cookie are
    kept in `base` across objects, so the data outlives the process."""

    def __init__(self, base: Path, prefix: str = "ytcs") -> None:
        self.base = base.resolve()
        self.bin = program_dir()
        if self.bin is None:
            raise BrokerNodeError(INSTALL_HINT)
        home = self.base / "home"  # the Erlang cookie lives here, shared by the server and our rabbitmqctl
        for d in (home, self.base / "mnesia", self.base / "log"):
            d.mkdir(parents=True, exist_ok=True)
        os.chmod(self.base, 0o700)
        name_file = self.base / "node-name"
        if not name_file.exists():
            # Not rabbit@localhost: rabbitmqctl must never reach the machine's own node by mistake.
            name_file.write_text(f"{prefix}-{uuid.uuid4().hex[:8]}@localhost\n")
        self.node = name_file.read_text().strip()
        cookie = home / ".erlang.cookie"
        if not cookie.exists():
            fd = os.open(cookie, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o400)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(20))
        self.port, self.dist_port, self.epmd_port = free_ports(3)
        (self.base / "enabled_plugins").write_text("[].\n")  # no management plugin: nothing else to listen
        # Our own config and env files: the machine's /etc/rabbitmq ones bind 5672 and name rabbit@localhost.
        (self.base / "rabbitmq.conf").write_text(f"listeners.tcp.local = 127.0.0.1:{self.port}\n")
        (self.base / "rabbitmq-env.conf").write_text("ERL_EPMD_ADDRESS=127.0.0.1\n")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RABBITMQ_", "ERL_"))}
        self.env = dict(
            env,
            HOME=str(home),
            RABBITMQ_NODENAME=self.node,
            RABBITMQ_NODE_IP_ADDRESS="127.0.0.1",
            RABBITMQ_NODE_PORT=str(self.port),
            RABBITMQ_DIST_PORT=str(self.dist_port),
            RABBITMQ_MNESIA_BASE=str(self.base / "mnesia"),
            RABBITMQ_LOG_BASE=str(self.base / "log"),
            RABBITMQ_ENABLED_PLUGINS_FILE=str(self.base / "enabled_plugins"),
            RABBITMQ_CONFIG_FILE=str(self.base / "rabbitmq.conf"),
            RABBITMQ_CONF_ENV_FILE=str(self.base / "rabbitmq-env.conf"),
            ERL_EPMD_PORT=str(self.epmd_port),
            ERL_EPMD_ADDRESS="127.0.0.1",
            ERL_FLAGS="-kernel inet_dist_use_interface {127,0,0,1}",
        )
        self.proc: subprocess.Popen | None = None
        self.epmd: subprocess.Popen | None = None
        # For a person who wants rabbitmqctl on this node: `. var/rabbitmq/ctl.env && rabbitmqctl list_queues`.
        names = ("HOME", "RABBITMQ_NODENAME", "ERL_EPMD_PORT", "RABBITMQ_CONF_ENV_FILE", "RABBITMQ_CONFIG_FILE")
        exports = "".join(f"export {k}='{self.env[k]}'\n" for k in names)
        (self.base / "ctl.env").write_text(f"{exports}export PATH='{self.bin}':\"$PATH\"\n")

    @staticmethod
    def available() -> bool:
        return program_dir() is not None

    @property
    def uri(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def ctl(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        assert self.bin is not None
        return subprocess.run(  # noqa: S603 - our own fixed program
            [str(self.bin / "rabbitmqctl"), "-n", self.node, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            start_new_session=True,  # a Ctrl-C in the terminal is for ytcs to handle, not for rabbitmqctl
        )

    def _log_tail(self) -> str:
        try:
            return (self.base / "server.out").read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    def start(self, timeout: float = 120, cancelled: Callable[[], bool] = lambda: False) -> bool:
        """Start epmd and the node and wait until it takes AMQP connections. False when `cancelled()`
        turned true meanwhile (the node is then stopped again). Both run in sessions of their own: a
        Ctrl-C reaches only the caller, which stops them in order."""
        assert self.bin is not None
        self.epmd = subprocess.Popen(  # noqa: S603 - Erlang's own port mapper, ours alone
            [shutil.which("epmd") or "epmd", "-port", str(self.epmd_port), "-address", "127.0.0.1"],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=die_with_parent,  # noqa: PLW1509 - the caller starts it before any thread
        )
        deadline = time.monotonic() + timeout
        while not port_open(self.epmd_port, timeout=0.2):
            if self.epmd.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise BrokerNodeError(f"ytcs: epmd did not start on port {self.epmd_port}")
            time.sleep(0.05)
        log = open(self.base / "server.out", "ab")  # noqa: SIM115 - the child holds it as long as it runs
        try:
            self.proc = subprocess.Popen(  # noqa: S603 - our own fixed program
                [str(self.bin / "rabbitmq-server")],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.base,
                start_new_session=True,
                preexec_fn=die_with_parent,  # noqa: PLW1509 - the caller starts it before any thread
            )
        finally:
            log.close()
        while not amqp_answers(self.uri, timeout=1.0):
            if cancelled():
                self.stop()
                return False
            if self.proc.poll() is not None or time.monotonic() > deadline:
                tail = self._log_tail()
                self.stop()
                raise BrokerNodeError(f"ytcs: the private RabbitMQ node did not start:\n{tail}")
            time.sleep(0.3)
        return True

    def stop(self, timeout: float = 60) -> None:
        """A clean broker stop (the server closes every client connection), then epmd; nothing is left."""
        if self.proc is not None:
            if self.proc.poll() is None:
                # rabbitmq-server's own trap turns SIGTERM into a graceful stop of the Erlang VM.
                self.proc.send_signal(signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(timeout=timeout)
            # The VM's helpers (erl_child_setup, inet_gethost) share its session: sweep whatever remains.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            self.proc = None
        if self.epmd is not None:
            if self.epmd.poll() is None:
                self.epmd.terminate()
                try:
                    self.epmd.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.epmd.kill()
                    self.epmd.wait()
            self.epmd = None

    def queue_depths(self) -> dict[str, int]:
        out = self.ctl("list_queues", "-q", "--no-table-headers", "name", "messages")
        depths = {}
        for line in out.stdout.splitlines():
            name, _, n = line.rpartition("\t")
            if n.isdigit():
                depths[name] = int(n)
        return depths


def _needs_install() -> bool:
    """`make run` will want a private node (no AMQP_URI, nothing on the default port) and cannot start one."""
    if os.environ.get("AMQP_URI"):
        return False
    if port_open(int(os.environ.get("YTCS_DEFAULT_AMQP_PORT", "5672"))):
        return False
    return program_dir() is None


if __name__ == "__main__":
    # The Makefile asks before `ytcs run`: `missing` exits 0 when RabbitMQ must be installed, `hint` says how.
    import sys

    if sys.argv[1:] == ["missing"]:
        sys.exit(0 if _needs_install() else 1)
    print(INSTALL_HINT, file=sys.stderr)
    sys.exit(2)
