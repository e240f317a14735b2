"""Settings from the environment (docs/contract.md "Starting it"). Secrets come only from here, never from code."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

SERVICES = ("finance", "claims", "investment")
# The claims intake worker (services/claims/worker.py): the claims service to the broker and the database, in
# processes of its own so that loading claim files never delays the claims RPCs (issue 19).
CLAIMS_INTAKE = "claims-intake"
PROCESSES = (*SERVICES, CLAIMS_INTAKE)  # what `ytcs serve` and the runner start
DEFAULT_METRICS_PORTS = {"finance": 9101, "claims": 9102, "investment": 9103}


def var_dir() -> Path:
    path = Path(os.environ.get("YTCS_VAR", "var")).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def amqp_uri() -> str:
    return os.environ.get("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/")


def db_url(service: str) -> str:
    """`FINANCE_DB_URL` etc.; a SQLite file under `YTCS_VAR` by default."""
    url = os.environ.get(f"{service.upper()}_DB_URL")
    if url:
        return url
    return f"sqlite:///{var_dir() / (service + '.db')}"


def service_of(process: str) -> str:
    """The service a process role belongs to: its nameko name, database and queues."""
    return "claims" if process == CLAIMS_INTAKE else process


def metrics_port(process: str) -> int:
    """`FINANCE_METRICS_PORT` etc.; the intake worker's `CLAIMS_INTAKE_METRICS_PORT` defaults to the claims
    port + 2 (9104), so a stack given other claims ports moves its worker with them."""
    if process == CLAIMS_INTAKE:
        raw = os.environ.get("CLAIMS_INTAKE_METRICS_PORT")
        return int(raw) if raw else metrics_port("claims") + 2
    return int(os.environ.get(f"{process.upper()}_METRICS_PORT", DEFAULT_METRICS_PORTS[process]))


def http_port() -> int:
    return int(os.environ.get("YTCS_PORT", "8000"))


def blob_dir() -> Path:
    """Where uploaded claim files are stored before processing (a shared volume when spread over machines)."""
    path = Path(os.environ.get("YTCS_BLOB_DIR", str(var_dir() / "blobs")))
    path.mkdir(parents=True, exist_ok=True)
    return path


@dataclass(frozen=True)
class MessagingOptions:
    """How queues are declared: quorum queues for a RabbitMQ cluster, a dead-letter exchange always."""

    quorum: bool
    delivery_limit: int
    rpc_timeout: float

    @classmethod
    def from_env(cls) -> MessagingOptions:
        return cls(
            quorum=os.environ.get("YTCS_QUORUM_QUEUES", "1") not in ("0", "false", "no"),
            delivery_limit=int(os.environ.get("YTCS_DELIVERY_LIMIT", "5")),
            rpc_timeout=float(os.environ.get("YTCS_RPC_TIMEOUT", "10")),
        )


def whole_number(name: str, default: int, low: int, high: int) -> int:
    """The environment variable `name` as a whole number from `low` to `high` (`default` when unset); ValueError,
    naming the variable and the range, for anything else."""
    raw = os.environ.get(name, str(default)).strip()
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise ValueError(f"{name} must be a whole number from {low} to {high}, not {raw!r}")
    return int(raw)


def intake_slots() -> int:
    """`YTCS_CLAIMS_CHUNK_SLOTS` (default 2): what one intake worker handles at once (files, chunks, its timer).
    It is the worker's nameko pool, so also the messages of each queue it holds unacknowledged (the prefetch):
    a worker takes no more chunks than it can start, and the rest wait in the queue for any other worker, or
    for a replica that starts later (one killed, restarted)."""
    return whole_number("YTCS_CLAIMS_CHUNK_SLOTS", 2, 1, 16)


def nameko_config(process: str) -> dict:
    """The config dict a nameko container of a process role (config.PROCESSES) runs with."""
    service = service_of(process)
    workers = intake_slots() if process == CLAIMS_INTAKE else int(os.environ.get("YTCS_MAX_WORKERS", "10"))
    return {
        "AMQP_URI": amqp_uri(),
        "DB_URL": db_url(service),
        "SERVICE_NAME": service,
        "max_workers": workers,
        "serializer": "json",
        "HEARTBEAT": 30,
    }
