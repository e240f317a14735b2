"""The intake pipeline: a stored claim file becomes claims, lines and issues, in constant memory, its records
shared out in chunks among the claims replicas.

    Intake(factory, store).process(file_id)            # check, plan, then load whatever chunks are free
    Intake(factory, store).process_chunk(file_id, no)  # load one chunk (a `file_chunk_ready` message)

1. Lease: the file row is leased to one worker (`lease_owner`/`lease_until`, a conditional UPDATE that is atomic
   on SQLite and PostgreSQL) while it is checked and planned; a crashed worker's lease expires.
2. Check pass (once per file): the whole file is streamed through the envelope reader to count its HOSO and find
   whole-file faults (`xml_malformed`, `envelope_invalid`, another facility) before anything is loaded, so a
   file refused as a whole leaves no claims behind. The same read notes where the records lie in the bytes
   (parsing/boundaries.py), when that can be known for certain.
3. Plan: in the transaction that stores the count, the file is cut into chunks of consecutive records
   (`file_chunks`, domain/chunks.py, `YTCS_CLAIMS_CHUNK_RECORDS` each) and, when there are several, one
   `file_chunk_ready` event per chunk is put in the outbox: every replica consumes that queue, so a large file is
   loaded by all of them at once. The planning worker then loads any chunk still free itself.
4. Load a chunk: a chunk is leased like a file; its records are read (from its own bytes when placed: the
   envelope's head, the chunk's records and the envelope's tail make a small file of their own; otherwise from
   the file's start, skipping what comes before), decoded and validated one at a time, and committed in
   batches. Each batch is one transaction that, under the chunk row's lock, checks the chunk is still ours and
   starts where its `next_index` says, inserts the claims, lines, other tables, issues and the kept totals, and
   moves `next_index` and the counters of the chunk and the file; the last batch marks the chunk `done`. A
   chunk taken again (its worker killed, its message redelivered after a broker restart) resumes at
   `next_index` or finds nothing to do, and the unique keys (file_id, record_index) and accepted
   (facility_code, MA_LK) make a replayed batch impossible to count twice.
5. Finish: once no chunk is pending, one transaction (under the file row's lock, so exactly once) marks the file
   `done` and publishes its events (`records_accepted` per facility-month, `capitation_spend_changed` per
   facility-quarter). It runs right after the last chunk's last batch; if that worker dies in between, the stall
   timer finishes the file.

Memory holds one batch per chunk being loaded; per-file totals are summed by the database at the end.
Every transaction is a `ClaimsUnitOfWork`: the SQL is the repository's, the rows are built by rows.py, the
events are the handlers' (`handlers.chunks_planned`, `handlers.file_loaded`). This module knows nothing of
nameko: `pause` lets an eventlet host yield between records, and `after_batch` lets a caller observe each
committed batch (tests use it to crash a worker mid-file).
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any, BinaryIO

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from services.claims import handlers
from services.claims import metrics as m
from services.claims.domain import chunks as chunking
from services.claims.domain import totals
from services.claims.domain.records import Issue
from services.claims.models import ClaimFile
from services.claims.parsing import EnvelopeHeader, FileRejected, RawRecord, decode_record, open_claim_file
from services.claims.parsing.boundaries import RecordBoundaries
from services.claims.parsing.notes import Note
from services.claims.rows import (
    CLAIM_COLUMNS,
    INT_MAX,
    Prepared,
    chunk_row,
    claim_row,
    clip,
    detail_rows,
    issue_row,
)
from services.claims.unit_of_work import ClaimsUnitOfWork
from services.claims.validation import ValidationContext, duplicate_issue, is_rejected, make_issue, validate
from services.common.blobstore import BlobStore
from services.common.outbox import utcnow

log = logging.getLogger(__name__)

# A whole file refused because its envelope names a facility other than the one its upload was authorised for.
FACILITY_NOT_AUTHORISED = "envelope_facility_mismatch"


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, str(default)))


class LeaseLost(Exception):
    """Another worker took the file or the chunk over (our lease had expired): stop without writing more."""


class _Counting:
    """File-like wrapper that counts the bytes the parser has read and shows them to `tap` (record positions)."""

    def __init__(self, fp: BinaryIO, tap: Callable[[bytes], None] | None = None) -> None:
        self.fp = fp
        self.count = 0
        self.tap = tap

    def read(self, size: int = -1) -> bytes:
        data = self.fp.read(size)
        self.count += len(data)
        if self.tap is not None:
            self.tap(data)
        return data


class _Spliced:
    """The bytes of a placed chunk as one claim file: the envelope's head, the chunk's records, the envelope's
    tail (three ranges of the blob, read in order; `None` as an end: to the end of the blob)."""

    def __init__(self, fp: BinaryIO, ranges: list[tuple[int, int | None]]) -> None:
        self.fp = fp
        self.ranges = [(a, b) for a, b in ranges if b is None or b > a]
        self.at: int | None = None

    def read(self, size: int = -1) -> bytes:
        while self.ranges:
            start, end = self.ranges[0]
            if self.at is None:
                self.fp.seek(start)
                self.at = start
            want = (end - self.at) if end is not None else -1
            if size >= 0:
                want = size if want < 0 else min(want, size)
            data = self.fp.read(want) if want != 0 else b""
            if data:
                self.at += len(data)
                if end is not None and self.at >= end:
                    self.ranges.pop(0)
                    self.at = None
                return data
            self.ranges.pop(0)  # this range is exhausted (or the blob ended early): the next one
            self.at = None
        return b""



class Intake:
    def __init__(
        self,
        factory: sessionmaker[Session],
        store: BlobStore,
        *,
        batch_size: int | None = None,
        chunk_records: int | None = None,
        lease_seconds: float | None = None,
        max_attempts: int | None = None,
        pause: Callable[[], None] | None = None,
        after_batch: Callable[[int, int], None] | None = None,
    ) -> None:
        self.factory = factory
        self.store = store
        self.batch_size = batch_size or _env_int("YTCS_CLAIMS_BATCH", 1000)
        self.chunk_records = chunk_records or _env_int("YTCS_CLAIMS_CHUNK_RECORDS", chunking.DEFAULT_SIZE)
        self.lease = timedelta(seconds=lease_seconds or _env_int("YTCS_CLAIMS_LEASE_SECONDS", 60))
        self.max_attempts = max_attempts or _env_int("YTCS_CLAIMS_MAX_ATTEMPTS", 5)
        self.pause = pause or (lambda: None)
        # Told (file id, batches this intake has committed) after each commit; what it raises ends the run as a
        # crash would, leaving the leases to expire and the chunk to resume at its `next_index`.
        self.after_batch = after_batch
        self._batches = 0

    def _uow(self) -> ClaimsUnitOfWork:
        return ClaimsUnitOfWork(self.factory)

    @staticmethod
    def _owner() -> str:
        return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    # --- entry points -----------------------------------------------------------------------------

    def process(self, file_id: int) -> str:
        """Check and plan a file (once), then load whatever chunks of it are free; finish it when none is left.
        Returns done | failed | finished (already) | busy (other workers hold its lease or chunks) | missing."""
        owner = self._owner()
        outcome = self._acquire(file_id, owner)
        if outcome != "acquired":
            return outcome
        m.FILES_IN_PROGRESS.inc()
        try:
            return self._run(file_id, owner)
        except LeaseLost:
            log.warning("claims file %s: lease lost to another worker; stopping", file_id)
            return "busy"
        except BaseException:
            self._release(file_id, owner)
            raise
        finally:
            m.FILES_IN_PROGRESS.dec()

    def process_chunk(self, file_id: int, chunk_no: int) -> str:
        """Load one chunk of a planned file if nobody has or holds it. Returns loaded (the chunk; other chunks are
        still pending) | done (the chunk, and with it the file) | finished (the chunk was done already) | busy
        (another worker holds it) | failed | missing."""
        owner = self._owner()
        now = utcnow()
        with self._uow() as uow:
            f = uow.repo.file(file_id)
            c = uow.repo.chunk(file_id, chunk_no)
            if f is None or c is None:
                return "missing"
            if f.status != "processing" or c.status == "done":
                return "finished"
            if not uow.repo.take_chunk(file_id, chunk_no, owner, now, now + self.lease):
                return "busy"
        try:
            return self._chunk(file_id, chunk_no, owner)
        except LeaseLost:
            log.warning("claims file %s chunk %s: lease lost to another worker; stopping", file_id, chunk_no)
            return "busy"
        except BaseException:
            self._release_chunk(file_id, chunk_no, owner)
            raise

    def stalled(self, grace_seconds: float = 60, limit: int = 5) -> list[int]:
        """Files still processing that nobody is getting on with (repository.stalled_files says which)."""
        with self._uow() as uow:
            return uow.repo.stalled_files(utcnow(), timedelta(seconds=grace_seconds), limit)

    # --- leases -----------------------------------------------------------------------------------

    def _acquire(self, file_id: int, owner: str) -> str:
        now = utcnow()
        with self._uow() as uow:
            taken = uow.repo.take_lease(file_id, owner, now, now + self.lease)
            f = uow.repo.file(file_id)
            if not taken:
                if f is None:
                    return "missing"
                return "finished" if f.status != "processing" else "busy"
            assert f is not None
            if f.started_at is None:
                f.started_at = now
            if f.total is None and f.attempts > self.max_attempts:
                # A file whose check keeps crashing its worker is parked instead of retried for ever (a chunk
                # that does is counted by its own attempts).
                self._mark_failed(uow, file_id, "processing_failed", _failure_issue(f.attempts - 1))
                return "failed"
        return "acquired"

    def _renew(self, uow: ClaimsUnitOfWork, file_id: int, owner: str, **values: Any) -> None:
        if not uow.repo.renew_lease(file_id, owner, utcnow() + self.lease, **values):
            raise LeaseLost(file_id)

    def _release(self, file_id: int, owner: str) -> None:
        """After a crash inside this process: let the next attempt start at once (best effort)."""
        try:
            with self._uow() as uow:
                uow.repo.release_lease(file_id, owner)
        except Exception:  # noqa: BLE001 - the database may be what failed; the lease then simply expires
            log.warning("claims file %s: could not release the lease", file_id)

    def _release_chunk(self, file_id: int, chunk_no: int, owner: str) -> None:
        try:
            with self._uow() as uow:
                uow.repo.release_chunk(file_id, chunk_no, owner)
        except Exception:  # noqa: BLE001 - as _release: the chunk's lease then simply expires
            log.warning("claims file %s chunk %s: could not release the lease", file_id, chunk_no)

    # --- check and plan ---------------------------------------------------------------------------

    def _run(self, file_id: int, owner: str) -> str:
        with self._uow() as uow:
            f = uow.repo.file(file_id)
            assert f is not None
            blob, planned = f.blob_name, f.total is not None
        if not planned:
            if not self.store.exists(blob):
                issue = make_issue("envelope_invalid", detail="không tìm thấy nội dung tệp đã lưu")
                self._fail(file_id, "blob_missing", issue, owner)
                return "failed"
            if not self._check(file_id, owner, blob):
                return "failed"
        return self._help(file_id, owner)

    def _check(self, file_id: int, owner: str, blob: str) -> bool:
        """Count the records, find whole-file faults and where the records lie; store the plan of chunks."""
        with self._uow() as uow:
            self._renew(uow, file_id, owner, phase="checking")
            # The facility the gateway authorised the uploader for (read from the envelope head): the envelope as
            # parsed here decides, and a file naming another facility is refused whole, no claim counted.
            f = uow.repo.file(file_id)
            authorised = f.facility_code if f is not None else None
        last_renew = time.monotonic()
        scan = RecordBoundaries(self.chunk_records)
        try:
            with self.store.open(blob) as raw_fp:
                fp = _Counting(raw_fp, scan.feed)
                reader = open_claim_file(fp, decode=False)  # counting needs no base64
                header = reader.header
                if authorised is not None and header.facility != authorised:
                    issue = _facility_issue(header.facility, authorised)
                    self._fail(file_id, issue.code, issue, owner)
                    return False
                count = 0
                for _raw in reader:
                    count += 1
                    if count % 200 == 0:
                        self.pause()
                        if time.monotonic() - last_renew > self.lease.total_seconds() / 4:
                            with self._uow() as uow:
                                self._renew(uow, file_id, owner)
                            last_renew = time.monotonic()
                while fp.read(1 << 20):  # the scan sees every byte, whatever the parser left unread
                    pass
                file_issues = reader.file_issues()
                file_notes = list(dict.fromkeys(reader.notes))
        except FileRejected as exc:
            self._fail(file_id, exc.code, exc.issue, owner)
            return False
        plan = chunking.plan(count, self.chunk_records, scan.result())
        now = utcnow()
        with self._uow() as uow:
            self._renew(
                uow,
                file_id,
                owner,
                phase="loading",
                total=count,
                facility_code=header.facility,
                ngay_lap=(header.ngay_lap or "")[:20] or None,
                declared_records=header.so_luong_ho_so if (header.so_luong_ho_so or 0) <= INT_MAX else None,
                warnings=ClaimFile.warnings + len(file_issues),
            )
            # Faults and repairs of the envelope itself concern every record of the file: told once, here.
            uow.repo.insert_issues([issue_row(file_id, None, i) for i in file_issues])
            uow.repo.insert_format_notes([
                {"file_id": file_id, "kind": kind, "table_name": table, "records": count}
                for kind, table in file_notes
            ])
            uow.repo.add_chunks([chunk_row(file_id, c, now) for c in plan])
            handlers.chunks_planned(uow, file_id, [(c.chunk_no, c.first, c.end) for c in plan])
        for i in file_issues:
            m.ISSUES.labels(i.code, i.severity).inc()
        for kind, table in file_notes:
            m.FORMAT_NOTES.labels(kind, table or "GIAMDINHHS").inc(count)
        log.info("claims file %s: %s records in %s chunks (%s)", file_id, count, len(plan),
                 "placed" if plan[0].byte_start is not None else "read from the start")
        return True

    def _help(self, file_id: int, owner: str) -> str:
        """Load the file's free chunks one after another (other replicas take the others), then finish it."""
        while True:
            now = utcnow()
            with self._uow() as uow:
                if not uow.repo.renew_lease(file_id, owner, now + self.lease):
                    f = uow.repo.file(file_id)
                    if f is not None and f.status == "processing":
                        raise LeaseLost(file_id)
                    break  # another worker loaded the last chunk and finished the file
                free = uow.repo.free_chunks(file_id, now)
                taken = next((n for n in free if uow.repo.take_chunk(file_id, n, owner, now, now + self.lease)), None)
            if taken is None:
                break
            try:
                outcome = self._chunk(file_id, taken, owner)
            except LeaseLost:
                continue  # the chunk went to another worker: look for another
            except BaseException:
                self._release_chunk(file_id, taken, owner)
                raise
            if outcome == "failed":
                return "failed"
        outcome = self._finish(file_id)
        self._release(file_id, owner)
        return outcome

    # --- loading a chunk --------------------------------------------------------------------------

    def _chunk(self, file_id: int, chunk_no: int, owner: str) -> str:
        with self._uow() as uow:
            f = uow.repo.file(file_id)
            c = uow.repo.chunk(file_id, chunk_no)
            assert f is not None and c is not None
            blob, start = f.blob_name, c.next_index
            spec = (c.first, c.end, c.byte_start, c.byte_end, c.head_end, c.tail_start)
            if c.attempts > self.max_attempts:
                # A chunk that keeps crashing its worker parks the file instead of being retried for ever.
                uow.repo.mark_failed(f, "processing_failed", issue_row(file_id, None, _failure_issue(c.attempts - 1)))
                m.FILES.labels("failed").inc()
                return "failed"
            station_facilities = uow.repo.commune_station_facilities()
        first, end, byte_start, byte_end, head_end, tail_start = spec
        if start < end:
            if not self.store.exists(blob):
                issue = make_issue("envelope_invalid", detail="không tìm thấy nội dung tệp đã lưu")
                self._fail(file_id, "blob_missing", issue, None)
                return "failed"
            self._load(file_id, chunk_no, owner, blob, start, spec, station_facilities)
            log.info("claims file %s chunk %s (records %s-%s) loaded by %s", file_id, chunk_no, start, end - 1, owner)
        else:  # a file without records: its one chunk is empty
            self._commit(file_id, chunk_no, owner, "", [], end, done=True)
        outcome = self._finish(file_id)
        return "loaded" if outcome == "busy" else outcome

    def _load(
        self,
        file_id: int,
        chunk_no: int,
        owner: str,
        blob: str,
        start: int,
        spec: tuple[int, int, int | None, int | None, int | None, int | None],
        station_facilities: set[str],
    ) -> None:
        first, end, byte_start, byte_end, head_end, tail_start = spec
        placed = byte_start is not None and head_end is not None
        batch: list[Prepared] = []
        expected = start
        with self.store.open(blob) as raw_fp:
            if placed:
                assert byte_start is not None and head_end is not None
                ranges: list[tuple[int, int | None]] = [(0, head_end), (byte_start, byte_end)]
                if byte_end is not None:
                    ranges.append((tail_start or 0, None))
                source: Any = _Spliced(raw_fp, ranges)
                base = first
            else:
                source, base = raw_fp, 0
            try:
                reader = open_claim_file(source)
                header = reader.header
                # The records before `start` (in the file, or in the chunk), read past without decoding.
                to_skip = start - base
                while to_skip > 0 and reader.skip(min(to_skip, 500)):
                    to_skip -= 500
                    self.pause()
                ctx = ValidationContext(
                    envelope_facility=header.facility, commune_station=header.facility in station_facilities
                )
                for raw in reader:
                    index = base + raw.index
                    if index >= end:
                        break
                    batch.append(self._prepare(raw, index, header, ctx))
                    if len(batch) % 50 == 0:
                        self.pause()
                    if len(batch) >= self.batch_size or index == end - 1:
                        self._commit(file_id, chunk_no, owner, header.facility, batch, end, done=index == end - 1)
                        expected = index + 1
                        batch = []
            except FileRejected as exc:
                # The check pass read the same bytes with the same reader: only a blob changed under us (or
                # record positions that were wrong) come here. Nothing of this batch is written.
                raise RuntimeError(f"claims file {file_id} chunk {chunk_no}: {exc.code}") from exc
        if expected != end:
            raise RuntimeError(f"claims file {file_id} chunk {chunk_no}: read up to record {expected}, not {end}")

    def _prepare(self, raw: RawRecord, index: int, header: EnvelopeHeader, ctx: ValidationContext) -> Prepared:
        if raw.index != index:  # a placed chunk's reader counts from the chunk's first record
            raw = replace(raw, index=index)
        claim, issues = decode_record(raw, header)
        if claim is not None:
            # ctx.seen_in_file stays empty: duplicates, within the file and across files, are judged
            # against the database when the batch commits (memory must not grow with the file).
            issues.extend(validate(claim, ctx))
        ma_lk = claim.ma_lk if claim is not None else next((i.ma_lk for i in issues if i.ma_lk), None)
        notes = frozenset(raw.notes) if raw.notes else frozenset()
        return Prepared(index, claim, issues, ma_lk, notes)

    # --- writing a batch --------------------------------------------------------------------------

    def _commit(
        self, file_id: int, chunk_no: int, owner: str, facility: str, batch: list[Prepared], end: int, done: bool
    ) -> None:
        for attempt in range(3):
            try:
                with self._uow() as uow:
                    counts = self._write(uow, file_id, chunk_no, owner, facility, batch, done)
                break
            except IntegrityError:
                # Another file of the same facility (or another chunk of this one) accepted one of these MA_LK
                # at the same moment: judge the batch again against what is committed now.
                if attempt == 2:
                    raise
        accepted, rejected, issue_counts, placed_bytes = counts
        m.BYTES.inc(placed_bytes)
        m.RECORDS.labels("accepted").inc(accepted)
        m.RECORDS.labels("rejected").inc(rejected)
        for (code, severity), n in issue_counts.items():
            m.ISSUES.labels(code, severity).inc(n)
        for (kind, table), n in _note_counts(batch).items():
            m.FORMAT_NOTES.labels(kind, table or "GIAMDINHHS").inc(n)
        self._batches += 1
        if self.after_batch is not None:
            self.after_batch(file_id, self._batches)

    def _write(
        self,
        uow: ClaimsUnitOfWork,
        file_id: int,
        chunk_no: int,
        owner: str,
        facility: str,
        batch: list[Prepared],
        done: bool,
    ) -> tuple[int, int, dict[tuple[str, str], int], int]:
        # Under the chunk row's lock: still ours, and this batch starts where the chunk stands (a second worker
        # given the same chunk after our lease expired would find it moved on, and stop).
        c = uow.repo.chunk_for_update(file_id, chunk_no)
        if c is None or c.status != "pending" or c.lease_owner != owner:
            raise LeaseLost(file_id)
        if batch and c.next_index != batch[0].index:
            raise LeaseLost(file_id)
        accepted = rejected = warnings = 0
        issue_counts: dict[tuple[str, str], int] = {}
        if batch:
            already = uow.repo.accepted_among(facility, {clip(p.ma_lk, 100) or "" for p in batch if p.ma_lk})
            form = uow.repo.driver_form()
            now = form.stamp(utcnow())  # one created_at for the batch's claims: one transaction
            claim_rows: list[tuple[Any, ...]] = []
            counted: list[totals.Counted] = []
            record_issues: list[list[Issue]] = []
            for p in batch:
                issues = list(p.issues)
                if p.ma_lk and p.ma_lk in already:
                    issues.append(duplicate_issue(p.ma_lk))
                ok = p.claim is not None and not is_rejected(issues)
                if ok:
                    already.add(p.ma_lk)  # a later record of this batch with the same MA_LK is a duplicate
                    accepted += 1
                else:
                    rejected += 1
                for i in issues:
                    issue_counts[(i.code, i.severity)] = issue_counts.get((i.code, i.severity), 0) + 1
                n_warn = sum(1 for i in issues if i.severity == "warning")
                warnings += n_warn
                row, amounts = claim_row(file_id, facility, p, ok, len(issues) - n_warn, n_warn, now, form)
                claim_rows.append(row)
                if ok and amounts is not None:  # a claim that is ok has its amounts
                    counted.append(amounts)
                record_issues.append(issues)
            ids = uow.repo.insert_claims(file_id, CLAIM_COLUMNS, claim_rows)
            uow.repo.insert_details(*detail_rows(file_id, zip(ids, batch, record_issues, strict=True), form))
            notes = _note_counts(batch)  # only when a repair was made: clean files write nothing here
            uow.repo.insert_format_notes([
                {"file_id": file_id, "kind": kind, "table_name": table, "records": n}
                for (kind, table), n in sorted(notes.items(), key=lambda item: (item[0][0], item[0][1] or ""))
            ])
            # Near the end, so the totals rows stay locked for the shortest time before the commit.
            uow.repo.add_to_totals(totals.for_accepted(counted))
            c.next_index = batch[-1].index + 1
        c.accepted += accepted
        c.rejected += rejected
        c.warnings += warnings
        c.lease_until = utcnow() + self.lease
        placed_bytes = 0
        if done:
            c.status, c.finished_at, c.lease_owner, c.lease_until = "done", utcnow(), None, None
            if c.byte_start is not None:
                placed_bytes = (c.byte_end if c.byte_end is not None else c.byte_start) - c.byte_start
        # Last: the file row is shared by every chunk of the file, so it is locked only just before the commit.
        # `next_index` counts the committed records (the read side's data_version stamp grows with it).
        uow.repo.add_to_file(
            file_id,
            accepted=accepted,
            rejected=rejected,
            warnings=warnings,
            next_index=len(batch),
            bytes_processed=max(0, placed_bytes),
        )
        return accepted, rejected, issue_counts, max(0, placed_bytes)

    # --- the end of a file ------------------------------------------------------------------------

    def _finish(self, file_id: int) -> str:
        """Mark the file done once no chunk is pending, with its events: exactly once, under the file's lock."""
        with self._uow() as uow:
            f = uow.repo.file_for_update(file_id)
            if f is None:
                return "missing"
            if f.status != "processing":
                return f.status if f.status == "failed" else "done"
            if f.total is None or uow.repo.chunks_pending(file_id) > 0:
                return "busy"
            chunks, accepted, rejected, records = uow.repo.chunk_sums(file_id)
            if (accepted, rejected, records) != (f.accepted, f.rejected, f.total) or accepted + rejected != records:
                # Every batch adds to both in one transaction: a difference is a bug, not a state to publish.
                raise RuntimeError(
                    f"claims file {file_id}: chunks count {accepted}+{rejected} of {records}, the file "
                    f"{f.accepted}+{f.rejected} of {f.total}"
                )
            f.status, f.phase, f.finished_at = "done", "finished", utcnow()
            f.lease_owner = f.lease_until = None
            unplaced = max(0, f.size - (f.bytes_processed or 0))  # the envelope, and chunks read from the start
            f.bytes_processed = f.size
            handlers.file_loaded(uow, file_id)
            started = f.started_at
        m.FILES.labels("done").inc()
        m.BYTES.inc(unplaced)
        _observe_duration(started)
        log.info("claims file %s: done, %s chunks", file_id, chunks)
        return "done"

    def _fail(self, file_id: int, code: str, issue: Issue, owner: str | None) -> None:
        with self._uow() as uow:
            self._mark_failed(uow, file_id, code, issue, owner)

    def _mark_failed(
        self, uow: ClaimsUnitOfWork, file_id: int, code: str, issue: Issue, owner: str | None = None
    ) -> None:
        """The whole file is refused (or could not be processed): status `failed` with its issue."""
        f = uow.repo.file(file_id)
        assert f is not None
        if owner is not None and f.lease_owner != owner:
            raise LeaseLost(f.id)
        uow.repo.mark_failed(f, code, issue_row(f.id, None, issue))
        m.FILES.labels("failed").inc()
        m.ISSUES.labels(issue.code, issue.severity).inc()
        _observe_duration(f.started_at)



def _failure_issue(attempts: int) -> Issue:
    return Issue(
        "processing_failed",
        "critical",
        None,
        None,
        f"Không xử lý được tệp sau {attempts} lần thử; cần kiểm tra nhật ký hệ thống.",
        None,
    )


def _facility_issue(envelope: str, authorised: str) -> Issue:
    return Issue(
        FACILITY_NOT_AUTHORISED,
        "critical",
        None,
        "MACSKCB",
        f"Tệp ghi mã cơ sở KCB {envelope} (THONGTINDONVI/MACSKCB) nhưng được gửi và kiểm tra quyền cho cơ sở "
        f"{authorised}; tệp bị từ chối, không hồ sơ nào được tính.",
        None,
    )


def _note_counts(batch: list[Prepared]) -> dict[Note, int]:
    """(kind, table) -> how many records of the batch needed that repair."""
    counts: dict[Note, int] = {}
    for p in batch:
        for note in p.notes:
            counts[note] = counts.get(note, 0) + 1
    return counts


def _observe_duration(started: Any) -> None:
    if started is None:
        return
    m.FILE_SECONDS.observe(max(0.0, (utcnow() - started).total_seconds()))
