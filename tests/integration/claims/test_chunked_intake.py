"""A file cut into chunks (services/claims/intake.py, domain/chunks.py) on SQLite and PostgreSQL: the same claims,
issues and counts as the file loaded in one chunk, each chunk loaded once in effect however often it is taken,
whichever worker takes it, and the file's events told once."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import OperationalError

from services.claims.intake import Intake
from services.claims.models import Claim, ClaimFile, ClaimIssue, FileChunk, Outbox
from tests.integration.claims.conftest import SimulatedCrash, crash_after, generate

FAULTS = {"duplicate_claim": 3, "missing_field": 2, "amount_mismatch": 2, "card_format": 2}


def _snapshot(env: Any, file_id: int) -> tuple[list[tuple], list[tuple], dict[str, Any]]:
    """The file's claims (index, status, MA_LK, issue counts) and issues (index, code) as stored, and its counts."""
    with env.session() as s:
        claims = s.execute(
            select(Claim.record_index, Claim.status, Claim.ma_lk, Claim.critical_issues, Claim.warning_issues)
            .where(Claim.file_id == file_id)
            .order_by(Claim.record_index)
        ).all()
        issues = s.execute(
            select(ClaimIssue.record_index, ClaimIssue.code, ClaimIssue.field)
            .where(ClaimIssue.file_id == file_id)
            .order_by(ClaimIssue.record_index, ClaimIssue.code, ClaimIssue.field)
        ).all()
    st = env.status(file_id)
    return [tuple(r) for r in claims], [tuple(r) for r in issues], st["records"]


def _chunks(env: Any, file_id: int) -> list[FileChunk]:
    with env.session() as s:
        return list(s.scalars(select(FileChunk).where(FileChunk.file_id == file_id).order_by(FileChunk.chunk_no)))


def _events(env: Any, event_type: str) -> list[Outbox]:
    with env.session() as s:
        return list(s.scalars(select(Outbox).where(Outbox.event_type == event_type).order_by(Outbox.id)))


def _told_once(env: Any, accepted: int) -> None:
    """One `records_accepted` per facility-month, together naming every accepted record once."""
    told = [e.payload for e in _events(env, "records_accepted")]
    assert len({(t["facility_code"], t["period"]) for t in told}) == len(told)
    assert sum(t["accepted"] for t in told) == accepted


@pytest.mark.parametrize("tail", [b"", b"<!-- gui lai -->\n"], ids=["placed", "read-from-start"])
def test_chunks_load_what_one_chunk_loads(claims_env, tail: bytes) -> None:
    # The same records at two facilities (other MA_LK, so not duplicates of each other): one file in one chunk,
    # the other in chunks of 40.
    whole_data, summary = generate(records=230, faults=FAULTS, facility="91060")
    data, _ = generate(records=230, faults=FAULTS, facility="91061")
    whole = claims_env.load(whole_data, chunk_records=10_000)
    st = claims_env.load(data + tail, chunk_records=40)
    chunks = _chunks(claims_env, st["id"])
    assert [(c.first, c.end, c.status) for c in chunks] == [(f, min(f + 40, 230), "done") for f in range(0, 230, 40)]
    assert all((c.byte_start is not None) == (tail == b"") for c in chunks)
    assert len(_chunks(claims_env, whole["id"])) == 1

    def without_ma_lk(snapshot: tuple[list[tuple], list[tuple], dict[str, Any]]) -> tuple:
        claims, issues, counts = snapshot
        return [(i, status, crit, warn) for i, status, _lk, crit, warn in claims], issues, counts

    assert without_ma_lk(_snapshot(claims_env, st["id"])) == without_ma_lk(_snapshot(claims_env, whole["id"]))
    assert st["status"] == "done" and st["records"]["accepted"] == summary.accepted
    assert sum(c.accepted for c in chunks) == summary.accepted
    assert sum(c.rejected for c in chunks) == 230 - summary.accepted
    # one chunk-ready message per chunk, for the other replicas; none for a file of one chunk
    ready = [e.payload for e in _events(claims_env, "file_chunk_ready")]
    assert [(e["file_id"], e["chunk"]) for e in ready] == [(st["id"], c.chunk_no) for c in chunks]


def test_a_chunk_taken_again_changes_nothing(claims_env) -> None:
    data, summary = generate(records=200, faults=FAULTS)
    reg = claims_env.register(data)
    # The planning worker dies inside chunk 0 (after its second batch of 20).
    with pytest.raises(SimulatedCrash):
        claims_env.intake(batch_size=20, chunk_records=60, after_batch=crash_after(2)).process(reg["id"])
    [first, *rest] = _chunks(claims_env, reg["id"])
    assert (first.status, first.next_index, first.lease_owner) == ("pending", 40, None)
    assert claims_env.status(reg["id"])["records"]["processed"] == 40
    # The chunk messages reach other replicas, some twice (a redelivery after a broker restart).
    intake = claims_env.intake(batch_size=20, chunk_records=60)
    outcomes = [intake.process_chunk(reg["id"], n) for n in (2, 2, 0, 1, 3, 1)]
    assert outcomes == ["loaded", "finished", "loaded", "loaded", "done", "finished"]
    st = claims_env.status(reg["id"])
    assert st["status"] == "done"
    assert (st["records"]["accepted"], st["records"]["processed"]) == (summary.accepted, 200)
    with claims_env.session() as s:
        rows = s.scalar(select(func.count()).select_from(Claim).where(Claim.file_id == reg["id"]))
        distinct = s.scalar(select(func.count(func.distinct(Claim.record_index))).where(Claim.file_id == reg["id"]))
        f = s.get(ClaimFile, reg["id"])
        assert (rows, distinct, f.next_index, f.total) == (200, 200, 200, 200)
    _told_once(claims_env, summary.accepted)
    assert _events(claims_env, "capitation_spend_changed")
    assert claims_env.intake().process(reg["id"]) == "finished"


def test_two_workers_on_every_chunk_at_once_load_each_record_once(claims_env) -> None:
    data, summary = generate(records=240, faults=FAULTS)
    reg = claims_env.register(data)
    planner = claims_env.intake(batch_size=20, chunk_records=30)
    # Plan only: a worker that checks the file and dies before loading (its first batch raises).
    with pytest.raises(SimulatedCrash):
        claims_env.intake(batch_size=20, chunk_records=30, after_batch=crash_after(1)).process(reg["id"])
    errors: list[BaseException] = []

    def replica() -> None:
        try:
            for n in range(8):
                planner.process_chunk(reg["id"], n)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=replica) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    st = claims_env.status(reg["id"])
    assert st["status"] == "done"
    assert (st["records"]["accepted"], st["records"]["processed"]) == (summary.accepted, 240)
    with claims_env.session() as s:
        rows = s.scalar(select(func.count()).select_from(Claim).where(Claim.file_id == reg["id"]))
        accepted = s.scalar(select(func.count()).select_from(Claim).where(Claim.status == "accepted"))
    assert (rows, accepted) == (240, summary.accepted)
    _told_once(claims_env, summary.accepted)


@pytest.mark.parametrize("row", ["file", "chunk"])
def test_a_row_read_for_update_holds_off_other_writers_until_commit(claims_env, row: str) -> None:
    # What `_finish` and a batch decide from (the file's sums, the chunk's position) must not move under them
    # between their reads: on SQLite too, where pysqlite opens no transaction before the first write.
    data, _ = generate(records=30)
    reg = claims_env.register(data)
    claims_env.intake(batch_size=30, chunk_records=30).process(reg["id"])
    engine = claims_env.factory.kw["bind"]

    def other_writer() -> None:
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                conn.exec_driver_sql("PRAGMA busy_timeout = 200")
            else:
                conn.exec_driver_sql("SET lock_timeout = '200ms'")
            if row == "file":
                conn.execute(update(ClaimFile).where(ClaimFile.id == reg["id"]).values(warnings=ClaimFile.warnings))
            else:
                where = (FileChunk.file_id == reg["id"], FileChunk.chunk_no == 0)
                conn.execute(update(FileChunk).where(*where).values(warnings=FileChunk.warnings))
            conn.commit()

    with claims_env.uow() as uow:
        if row == "file":
            assert uow.repo.file_for_update(reg["id"]) is not None
        else:
            assert uow.repo.chunk_for_update(reg["id"], 0) is not None
        with pytest.raises(OperationalError):
            other_writer()
    other_writer()  # once committed, the other writer goes on


def test_the_stall_timer_finds_what_a_dead_worker_left(claims_env) -> None:
    from datetime import timedelta

    from services.common.outbox import utcnow

    data, summary = generate(records=90)
    reg = claims_env.register(data)
    with pytest.raises(SimulatedCrash):
        claims_env.intake(batch_size=30, chunk_records=30, after_batch=crash_after(1)).process(reg["id"])
    intake = claims_env.intake(batch_size=30, chunk_records=30)
    # 1. A chunk held by a worker that died: left alone while its lease runs, taken up once it expired.
    with claims_env.session() as s:
        s.execute(
            update(FileChunk)
            .where(FileChunk.file_id == reg["id"], FileChunk.chunk_no == 1)
            .values(lease_owner="dead-replica", lease_until=utcnow() + timedelta(minutes=5))
        )
    assert intake.process_chunk(reg["id"], 2) == "loaded"
    assert intake.stalled(grace_seconds=3600) == []
    with claims_env.session() as s:
        s.execute(update(FileChunk).where(FileChunk.chunk_no == 1).values(lease_until=utcnow() - timedelta(seconds=1)))
    assert intake.stalled(grace_seconds=3600) == [reg["id"]]
    # 2. The last chunk loaded, its worker dead before it finished the file: the timer finishes it, once.
    class DiesBeforeFinishing(Intake):
        def _finish(self, file_id: int) -> str:
            raise SimulatedCrash(file_id)

    with pytest.raises(SimulatedCrash):
        DiesBeforeFinishing(claims_env.factory, claims_env.store, batch_size=30).process_chunk(reg["id"], 1)
    assert claims_env.status(reg["id"])["status"] == "processing"
    with claims_env.session() as s:
        s.execute(update(ClaimFile).values(lease_owner=None, lease_until=None))
    assert intake.stalled(grace_seconds=3600) == [reg["id"]]
    assert intake.process(reg["id"]) == "done"
    assert intake.stalled(grace_seconds=0) == []
    _told_once(claims_env, summary.accepted)
