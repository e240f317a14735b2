"""The claims intake worker (`runner claims-intake`): the claims service's intake entrypoints, in processes of
their own, so that the CPU-bound loading of claim files never holds the hub that answers the claims RPCs
(service.py; issue 19).

It is the claims service to nameko and the broker (name "claims", the same database and the same event queues
`evt-claims-file_received--claims.on_file_received` and `evt-claims-file_chunk_ready--claims.on_file_chunk_ready`),
so a running cluster's queues are unchanged; service.py no longer consumes those two events. `register_file`
(service.py) queues `file_received` through the outbox; a worker checks the file and cuts it into chunks; a file
of several chunks queues one `file_chunk_ready` per chunk, which every worker consumes, so one large file is
loaded by all of them. The file's and each chunk's lease keep two workers off the same work, and a timer resumes
what a dead worker left.

Throughput work, not latency work: at start the worker lowers its own scheduling priority, and its session's
(`YTCS_CLAIMS_INTAKE_NICE`, default 10; 0 leaves it), so on a shared machine the RPC services, the gateway and
the broker get the CPU first and the intake takes what is left.
"""

from __future__ import annotations

import gc
import logging
import os
from pathlib import Path
from typing import Any

import eventlet
from nameko.extensions import DependencyProvider
from nameko.timer import timer

from services.claims.intake import Intake
from services.claims.models import Outbox
from services.common import config
from services.common.blobstore import default_store
from services.common.contracts import claims as contract
from services.common.dlq import QueueDepths
from services.common.messaging import Database, OutboxRelay, reliable_event_handler
from services.common.metrics import EntrypointMetrics

log = logging.getLogger(__name__)

MAX_NICE = 19  # the lowest priority Linux gives a process
AUTOGROUP = Path("/proc/self/autogroup")  # "/autogroup-<n> nice <n>": the scheduling group of this session

# How many chunks one worker loads at once is its nameko pool (config.intake_slots, `YTCS_CLAIMS_CHUNK_SLOTS`),
# which is also how many messages of a queue it holds: loading is CPU-bound, so more would only hoard chunks
# that another worker could start now.


def _pause() -> None:
    # Processing is CPU-bound: let the hub answer broker heartbeats and the relay between records.
    eventlet.sleep(0)


def intake_nice() -> int:
    """`YTCS_CLAIMS_INTAKE_NICE` (default 10): the niceness the worker runs at, 0 (unchanged) to 19."""
    return config.whole_number("YTCS_CLAIMS_INTAKE_NICE", 10, 0, MAX_NICE)


def lower_priority(target: int | None = None) -> int:
    """Raise this process's niceness to `target` (the setting when None) and return the niceness it runs at.
    Idempotent (os.nice adds, so only the difference is added); never raises priority, which needs privileges.
    The session's autogroup is lowered too (lower_autogroup): without it the niceness is ignored under `ytcs run`."""
    target = intake_nice() if target is None else target
    current = os.nice(0)
    if target > current:
        current = os.nice(target - current)
        log.info("claims intake runs at niceness %s (YTCS_CLAIMS_INTAKE_NICE)", current)
    lower_autogroup(target)
    return current


def lower_autogroup(target: int, path: Path | None = None) -> bool:
    """Raise the niceness of this process's autogroup to `target`; True when it runs at that or lower.

    Linux with autogroups on (/proc/sys/kernel/sched_autogroup_enabled = 1, as here) shares the CPU between
    sessions first, and a thread's niceness counts only against threads of its own session. `ytcs run` starts every
    process in a session of its own, so a niceness alone left the intake an equal share against the RPC
    processes (measured: two busy loops on one core, 2.01 s / 2.01 s of 4 s; with the group's niceness 10,
    3.62 s / 0.42 s). Only a session leader sets it: in a terminal's session (`ytcs serve claims-intake`) it
    would lower the shell and its other jobs too. Under a cgroup CPU controller (containers) autogroups do not
    apply: there the CPU limits of deploy/ do this."""
    path = AUTOGROUP if path is None else path
    if target == 0 or os.getsid(0) != os.getpid() or not path.exists():
        return False
    try:
        current = int(path.read_text().rsplit("nice", 1)[1])
        if target > current:
            path.write_text(str(target))
            log.info("claims intake's session (autogroup) runs at niceness %s", target)
    except (OSError, ValueError, IndexError) as exc:  # a kernel without the file's format: the niceness alone stays
        log.warning("claims intake: could not lower the session's priority (%s)", exc)
        return False
    return True


# A file's records make millions of short-lived objects. With CPython's defaults (a young collection every 700
# net allocations; older ones rescanning everything alive) the collector took 6 % of the intake's CPU
# (0.17–0.19 s of 2.85 s for 10,000 records), mostly rescanning the modules and service state loaded at start,
# which live as long as the process; frozen and collected less often: 0.05–0.06 s (docs/benchmarks.md).
GC_THRESHOLDS = (10_000, 50, 100)


def collect_for_throughput() -> None:
    """What is alive at start moves out of the collector's sight (gc.freeze), and young objects are collected
    every 10,000 net allocations instead of 700. Reference counting frees each record as before; only objects in
    reference cycles wait a little longer."""
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


class BackgroundPriority(DependencyProvider):
    """Sets the process up for throughput when the worker's container is set up, before any entrypoint runs:
    a lower priority, and a garbage collector tuned for the intake."""

    def setup(self) -> None:
        lower_priority()
        collect_for_throughput()

    def get_dependency(self, worker_ctx: Any) -> None:
        return None


class Worker:
    name = "claims"  # the claims service's name: its event queues and outbox exchange stay those of claims

    db = Database()
    relay = OutboxRelay(Outbox)  # the intake writes outbox rows (records_accepted, file_chunk_ready, …)
    metrics = EntrypointMetrics()
    queues = QueueDepths()  # the intake's event queues and ytcs.dead-letters, as ytcs_queue_messages
    priority = BackgroundPriority()

    def _intake(self) -> Intake:
        return Intake(self.db.factory, default_store(), pause=_pause)

    @reliable_event_handler("claims", "file_received")
    def on_file_received(self, body: dict[str, Any]) -> None:
        data = contract.FileReceivedV1().load(body["data"])
        outcome = self._intake().process(data["file_id"])
        self.relay()
        log.info("claims file %s: %s", data["file_id"], outcome)

    @reliable_event_handler("claims", "file_chunk_ready")
    def on_file_chunk_ready(self, body: dict[str, Any]) -> None:
        data = contract.FileChunkReadyV1().load(body["data"])
        outcome = self._intake().process_chunk(data["file_id"], data["chunk"])
        self.relay()
        log.info("claims file %s chunk %s: %s", data["file_id"], data["chunk"], outcome)

    @timer(interval=20)
    def resume_stalled(self) -> None:
        """Files whose worker died (lease expired) or whose event was lost are taken up again."""
        intake = self._intake()
        for file_id in intake.stalled():
            outcome = intake.process(file_id)
            self.relay()
            log.info("claims file %s resumed: %s", file_id, outcome)
