"""Every entrypoint of the claims intake worker (worker.py), called through nameko's `worker_factory` on a real
SQLite database built by the service's migrations and a real FilesystemBlobStore, beside the claims RPC service
(service.py) on the same database, as in a running stack: the RPC service registers a file and answers its
status, the worker loads it. The worker is the claims service to the broker (the same name and event queues),
the two share no entrypoint, and the worker lowers its own scheduling priority at start."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from nameko.containers import ServiceContainer
from nameko.testing.services import worker_factory
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from services.claims import worker as worker_module
from services.claims.intake import Intake
from services.claims.models import Claim, ClaimFile
from services.claims.service import Service
from services.claims.worker import BackgroundPriority, Worker
from services.common.blobstore import FilesystemBlobStore
from services.common.db import transaction
from services.common.messaging import DatabaseAccess, ReliableEventHandler
from services.common.outbox import utcnow
from tests.support.services import entrypoint_names, row_count
from tests.unit.claims.test_service_entrypoints import CORRELATION, claim_file, outbox, upload
from tests.unit.claims.test_service_entrypoints import COVERED as SERVICE_ENTRYPOINTS

# What the tests below call; test_every_entrypoint_is_covered keeps this set equal to the worker's.
COVERED = {"on_file_received", "on_file_chunk_ready", "resume_stalled"}
CONFIG = {"AMQP_URI": "memory://", "SERVICE_NAME": "claims"}  # enough to bind the extensions; no broker is used


@pytest.fixture
def service(factory: sessionmaker[Session], store: FilesystemBlobStore) -> Any:
    """The claims RPC service, which registers the files and answers their status."""
    return worker_factory(Service, db=DatabaseAccess(factory, CORRELATION))


@pytest.fixture
def worker(service: Any) -> Any:
    """An intake worker on the RPC service's database; the relay and metrics are mocks."""
    return worker_factory(Worker, db=service.db)


def test_every_entrypoint_is_covered() -> None:
    assert entrypoint_names(Worker) == COVERED


def test_the_rpc_service_and_the_worker_split_the_entrypoints_between_them() -> None:
    # Nothing consumed twice by one process kind, nothing left out: every RPC and the small event handlers in
    # service.py, the two intake events and the resume timer here.
    assert entrypoint_names(Service) == SERVICE_ENTRYPOINTS
    assert entrypoint_names(Service) & entrypoint_names(Worker) == set()


def _event_queues(cls: type) -> set[str]:
    container = ServiceContainer(cls, CONFIG)
    handlers = [e for e in container.entrypoints if isinstance(e, ReliableEventHandler)]
    for handler in handlers:
        handler.setup()  # names the queue from the service's name; no broker needed
    return {h.queue.name for h in handlers}


def test_the_worker_consumes_the_intake_queues_of_the_claims_service() -> None:
    # The same queue names as when one process did everything: a running cluster's queues are unchanged.
    assert Worker.name == Service.name == "claims"
    intake = {
        "evt-claims-file_received--claims.on_file_received",
        "evt-claims-file_chunk_ready--claims.on_file_chunk_ready",
    }
    assert _event_queues(Worker) == intake
    assert _event_queues(Service).isdisjoint(intake)  # the RPC process leaves the intake to the workers


# --------------------------------------------------------------------------- the intake


def test_on_file_received_processes_the_file(
    service: Any, worker: Any, store: FilesystemBlobStore, factory: sessionmaker
) -> None:
    data = claim_file(records=8, faults={"missing_field": 1})
    reg = upload(service, store, data)
    worker.on_file_received({"data": {"file_id": reg["id"], "sha256": reg["sha256"], "size": len(data)}})
    st = service.file_status(reg["id"])
    assert st["status"] == "done" and st["records"]["total"] == 8
    assert (st["records"]["accepted"], st["records"]["rejected"]) == (7, 1)
    assert outbox(factory, "records_accepted") and outbox(factory, "capitation_spend_changed")
    assert row_count(factory, Claim) == 8
    assert worker.relay.call_count == 1  # woken for what the intake published


def test_on_file_chunk_ready_loads_the_chunk_once(
    service: Any, worker: Any, store: FilesystemBlobStore, factory: sessionmaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("YTCS_CLAIMS_CHUNK_RECORDS", "4")
    data = claim_file(records=10, faults={"missing_field": 1})
    reg = upload(service, store, data)

    # The worker that checked and planned the file dies at its first batch: the chunks are the replicas' now.
    class Died(Exception):
        pass

    def die(file_id: int, batches: int) -> None:
        raise Died

    with pytest.raises(Died):
        Intake(factory, store, after_batch=die).process(reg["id"])
    ready = outbox(factory, "file_chunk_ready")
    assert [(e.payload["first"], e.payload["end"]) for e in ready] == [(0, 4), (4, 8), (8, 10)]
    for e in [*ready, ready[1]]:  # every replica's share, one of them delivered twice
        worker.on_file_chunk_ready({"event_id": e.event_id, "data": e.payload})
    st = service.file_status(reg["id"])
    assert st["status"] == "done" and st["records"]["total"] == 10
    assert (st["records"]["accepted"], st["records"]["rejected"]) == (9, 1)
    assert row_count(factory, Claim) == 10
    told = [e.payload for e in outbox(factory, "records_accepted")]  # per facility-month, each told once
    assert len({t["period"] for t in told}) == len(told) and sum(t["accepted"] for t in told) == 9
    assert worker.relay.call_count == 4


def test_resume_stalled_takes_up_a_file_nobody_processed(
    service: Any, worker: Any, store: FilesystemBlobStore, factory: sessionmaker
) -> None:
    reg = upload(service, store, claim_file())
    with transaction(factory) as s:  # its file_received was lost a while ago
        s.execute(update(ClaimFile).values(uploaded_at=utcnow() - timedelta(minutes=5)))
    worker.resume_stalled()
    assert service.file_status(reg["id"])["status"] == "done"


# --------------------------------------------------------------------------- background priority


class FakeNice:
    """os.nice as the kernel does it (adds, caps at 19), on a niceness of our own: the test process's is not
    touched, since lowering it cannot be undone without privileges."""

    def __init__(self, start: int = 0) -> None:
        self.value = start
        self.calls: list[int] = []

    def __call__(self, increment: int) -> int:
        self.calls.append(increment)
        self.value = min(worker_module.MAX_NICE, self.value + increment)
        return self.value


@pytest.fixture
def nice(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeNice:
    fake = FakeNice()
    monkeypatch.setattr(worker_module.os, "nice", fake)
    monkeypatch.setattr(worker_module, "AUTOGROUP", tmp_path / "no-autogroup")  # this process's is left alone
    return fake


@pytest.fixture
def autogroup(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, nice: FakeNice) -> Path:
    """A session leader's autogroup file, as Linux shows it, in place of /proc/self/autogroup."""
    path = tmp_path / "autogroup"
    path.write_text("/autogroup-378 nice 0\n")
    monkeypatch.setattr(worker_module, "AUTOGROUP", path)
    monkeypatch.setattr(worker_module.os, "getsid", lambda pid: 4242)
    monkeypatch.setattr(worker_module.os, "getpid", lambda: 4242)
    return path


def test_the_worker_lowers_its_priority_to_10_by_default(nice: FakeNice, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("YTCS_CLAIMS_INTAKE_NICE", raising=False)
    assert worker_module.lower_priority() == 10 and nice.value == 10
    assert worker_module.lower_priority() == 10 and nice.value == 10  # a second start adds nothing


def test_the_priority_follows_the_setting_and_0_leaves_it(nice: FakeNice, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YTCS_CLAIMS_INTAKE_NICE", "0")
    assert worker_module.lower_priority() == 0 and [c for c in nice.calls if c] == []
    monkeypatch.setenv("YTCS_CLAIMS_INTAKE_NICE", "15")
    assert worker_module.lower_priority() == 15


def test_a_process_already_nicer_is_left_as_it_is(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeNice(start=19)
    monkeypatch.setattr(worker_module.os, "nice", fake)
    monkeypatch.setenv("YTCS_CLAIMS_INTAKE_NICE", "10")
    assert worker_module.lower_priority() == 19 and [c for c in fake.calls if c] == []  # never raised back


@pytest.mark.parametrize("bad", ["-5", "20", "x"])
def test_a_bad_setting_is_refused(nice: FakeNice, monkeypatch: pytest.MonkeyPatch, bad: str) -> None:
    monkeypatch.setenv("YTCS_CLAIMS_INTAKE_NICE", bad)
    with pytest.raises(ValueError, match="YTCS_CLAIMS_INTAKE_NICE"):
        worker_module.lower_priority()
    assert nice.value == 0


def test_a_session_leader_lowers_its_session_s_autogroup_too(autogroup: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Linux weighs sessions against each other before threads: the niceness alone would not yield the CPU.
    monkeypatch.setenv("YTCS_CLAIMS_INTAKE_NICE", "10")
    assert worker_module.lower_priority() == 10
    assert autogroup.read_text() == "10"
    monkeypatch.setenv("YTCS_CLAIMS_INTAKE_NICE", "5")
    worker_module.lower_priority()
    assert autogroup.read_text() == "10"  # never raised back


def test_the_autogroup_is_left_when_off_or_not_our_own(autogroup: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YTCS_CLAIMS_INTAKE_NICE", "0")
    worker_module.lower_priority()
    assert autogroup.read_text() == "/autogroup-378 nice 0\n"
    # In a terminal's session (`ytcs serve claims-intake`) the group is the shell's: not ours to lower.
    monkeypatch.setenv("YTCS_CLAIMS_INTAKE_NICE", "10")
    monkeypatch.setattr(worker_module.os, "getsid", lambda pid: 1)
    assert worker_module.lower_priority() == 10 and autogroup.read_text() == "/autogroup-378 nice 0\n"


@pytest.mark.skipif(not Path("/proc/self/autogroup").exists(), reason="a kernel without autogroups")
def test_a_worker_in_a_session_of_its_own_runs_in_a_lowered_autogroup() -> None:
    # As `ytcs run` starts it (start_new_session): the kernel's own file shows the group's niceness.
    import subprocess
    import sys

    code = (
        "from services.claims.worker import lower_priority; import os; lower_priority(); "
        "print(os.nice(0), open('/proc/self/autogroup').read().split()[-1])"
    )
    env = {**os.environ, "YTCS_CLAIMS_INTAKE_NICE": "10"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60, start_new_session=True
    )
    # Never raised: a test run already niced beyond 10 (nice pytest) keeps its own niceness.
    assert out.stdout.split() == [str(max(10, os.nice(0))), "10"], out.stderr


@pytest.fixture
def collector() -> Iterator[None]:
    """The test process's garbage collector as it was, after the test."""
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


def test_the_worker_s_container_applies_it_at_setup(
    nice: FakeNice, monkeypatch: pytest.MonkeyPatch, collector: None
) -> None:
    # Declared on the worker, so any way of running it (runner, nameko run) starts it in the background.
    monkeypatch.setenv("YTCS_CLAIMS_INTAKE_NICE", "10")
    container = ServiceContainer(Worker, CONFIG)
    [priority] = [d for d in container.dependencies if isinstance(d, BackgroundPriority)]
    gc.unfreeze()
    priority.setup()
    assert nice.value == 10
    # And its collector tuned for throughput: what was alive at setup is frozen, young objects collected less often.
    assert gc.get_threshold() == worker_module.GC_THRESHOLDS != (700, 10, 10)
    assert gc.get_freeze_count() > 1000
    assert not any(isinstance(d, BackgroundPriority) for d in ServiceContainer(Service, CONFIG).dependencies)
