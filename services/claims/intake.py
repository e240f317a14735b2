"""The intake pipeline: a stored claim file becomes claims, lines and issues, in constant memory.

    Intake(factory, store).process(file_id)

1. Lease: the file row is leased to this worker (`lease_owner`/`lease_until`, a conditional UPDATE that
   is atomic on SQLite and PostgreSQL), so two replicas never work on the same file at once; the lease
   is renewed with every batch and a crashed worker's lease expires, letting another resume.
2. Check pass (once per file): the whole file is streamed through the envelope reader to count its HOSO
   and find whole-file faults (`xml_malformed`, `envelope_invalid`) before anything is loaded, so a file
   refused as a whole leaves no claims behind.
3. Load pass: records are streamed again, decoded and validated one at a time, and committed in batches
   (claims, lines, other tables, issues and the file's counters in one transaction). `next_index` on the
   file row is the first record not yet committed: a restarted worker skips to it, and the unique keys
   (file_id, record_index) and accepted (facility_code, MA_LK) make a replayed batch impossible to count twice.
4. Finish: status `done` and the events (`records_accepted` per facility-month, `capitation_spend_changed`
   per facility-quarter) in one transaction.

Memory holds one batch; per-file totals are summed by the database at the end, not kept in Python.
This module knows nothing of nameko: `pause` lets an eventlet host yield between records.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from operator import itemgetter
from typing import Any, BinaryIO

from sqlalchemy import Table, insert, or_, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from services.claims import ledger, totals
from services.claims import metrics as m
from services.claims.models import Claim, ClaimFile, ClaimFormatNote, ClaimIssue, ClaimLine, ClaimTable
from services.claims.parsing import EnvelopeHeader, FileRejected, RawRecord, decode_record, open_claim_file
from services.claims.parsing.notes import Note
from services.claims.records import Claim as ClaimRecord
from services.claims.records import Issue
from services.claims.stations import is_commune_station
from services.claims.validation import ValidationContext, duplicate_issue, is_rejected, make_issue, validate
from services.common.blobstore import BlobStore
from services.common.db import transaction
from services.common.outbox import utcnow
from services.common.periods import Quarter

log = logging.getLogger(__name__)

INT_MAX = 2**31 - 1
_ZERO = Decimal("0.00")
# A whole file refused because its envelope names a facility other than the one its upload was authorised for.
FACILITY_NOT_AUTHORISED = "envelope_facility_mismatch"


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, str(default)))


class LeaseLost(Exception):
    """Another worker took the file over (our lease had expired): stop without writing more."""


class _Counting:
    """File-like wrapper that counts the bytes the parser has read (progress: `bytes_processed`)."""

    def __init__(self, fp: BinaryIO) -> None:
        self.fp = fp
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        data = self.fp.read(size)
        self.count += len(data)
        return data


@dataclass(slots=True)
class Prepared:
    """One decoded and validated record waiting for its batch to commit."""

    index: int
    claim: ClaimRecord | None
    issues: list[Issue]
    ma_lk: str | None
    notes: frozenset[Note] = frozenset()  # format repairs made to read it, once each (parsing/notes.py)


class Intake:
    def __init__(
        self,
        factory: sessionmaker[Session],
        store: BlobStore,
        *,
        batch_size: int | None = None,
        lease_seconds: float | None = None,
        max_attempts: int | None = None,
        pause: Callable[[], None] | None = None,
        stop_after_batches: int | None = None,
    ) -> None:
        self.factory = factory
        self.store = store
        self.batch_size = batch_size or _env_int("YTCS_CLAIMS_BATCH", 1000)
        self.lease = timedelta(seconds=lease_seconds or _env_int("YTCS_CLAIMS_LEASE_SECONDS", 60))
        self.max_attempts = max_attempts or _env_int("YTCS_CLAIMS_MAX_ATTEMPTS", 5)
        self.pause = pause or (lambda: None)
        # Tests simulate a crash: raise after committing this many batches.
        self.stop_after_batches = stop_after_batches
        self._batches = 0

    # --- entry point ------------------------------------------------------------------------------

    def process(self, file_id: int) -> str:
        """Process (or resume) one file. Returns done | failed | finished (already) | busy | missing."""
        owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
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

    def stalled(self, grace_seconds: float = 60, limit: int = 5) -> list[int]:
        """Files still processing whose worker is gone (lease expired) or that nobody picked up in time."""
        now = utcnow()
        with transaction(self.factory) as s:
            return list(
                s.scalars(
                    select(ClaimFile.id)
                    .where(
                        ClaimFile.status == "processing",
                        or_(
                            ClaimFile.lease_until < now,
                            ClaimFile.lease_owner.is_(None)
                            & (ClaimFile.uploaded_at < now - timedelta(seconds=grace_seconds)),
                        ),
                    )
                    .order_by(ClaimFile.id)
                    .limit(limit)
                )
            )

    # --- lease ------------------------------------------------------------------------------------

    def _acquire(self, file_id: int, owner: str) -> str:
        now = utcnow()
        with transaction(self.factory) as s:
            res = s.execute(
                update(ClaimFile)
                .where(
                    ClaimFile.id == file_id,
                    ClaimFile.status == "processing",
                    or_(ClaimFile.lease_owner.is_(None), ClaimFile.lease_until < now),
                )
                .values(lease_owner=owner, lease_until=now + self.lease, attempts=ClaimFile.attempts + 1)
            )
            if res.rowcount == 0:
                f = s.get(ClaimFile, file_id)
                if f is None:
                    return "missing"
                return "finished" if f.status != "processing" else "busy"
            f = s.get(ClaimFile, file_id)
            assert f is not None
            if f.started_at is None:
                f.started_at = now
            if f.attempts > self.max_attempts:
                # A file that keeps crashing its worker is parked instead of retried for ever.
                self._mark_failed(s, f, "processing_failed", _failure_issue(f.attempts - 1))
                return "failed"
        return "acquired"

    def _renew(self, s: Session, file_id: int, owner: str, **values: Any) -> None:
        res = s.execute(
            update(ClaimFile)
            .where(ClaimFile.id == file_id, ClaimFile.lease_owner == owner, ClaimFile.status == "processing")
            .values(**{"lease_until": utcnow() + self.lease, **values})
        )
        if res.rowcount == 0:
            raise LeaseLost(file_id)

    def _release(self, file_id: int, owner: str) -> None:
        """After a crash inside this process: let the next attempt start at once (best effort)."""
        try:
            with transaction(self.factory) as s:
                s.execute(
                    update(ClaimFile)
                    .where(ClaimFile.id == file_id, ClaimFile.lease_owner == owner)
                    .values(lease_owner=None, lease_until=None)
                )
        except Exception:  # noqa: BLE001 - the database may be what failed; the lease then simply expires
            log.warning("claims file %s: could not release the lease", file_id)

    # --- the passes -------------------------------------------------------------------------------

    def _run(self, file_id: int, owner: str) -> str:
        with transaction(self.factory) as s:
            f = s.get(ClaimFile, file_id)
            assert f is not None
            blob, checked, start = f.blob_name, f.total is not None, f.next_index
        if not self.store.exists(blob):
            with transaction(self.factory) as s:
                f = s.get(ClaimFile, file_id)
                issue = make_issue("envelope_invalid", detail="không tìm thấy nội dung tệp đã lưu")
                self._mark_failed(s, f, "blob_missing", issue, owner)
            return "failed"
        if not checked and not self._check(file_id, owner, blob):
            return "failed"
        return self._load(file_id, owner, blob, start)

    def _check(self, file_id: int, owner: str, blob: str) -> bool:
        """Count the records and find whole-file faults before loading anything."""
        with transaction(self.factory) as s:
            self._renew(s, file_id, owner, phase="checking")
            # The facility the gateway authorised the uploader for (read from the envelope head): the envelope as
            # parsed here decides, and a file naming another facility is refused whole, no claim counted.
            authorised = s.scalar(select(ClaimFile.facility_code).where(ClaimFile.id == file_id))
        last_renew = time.monotonic()
        try:
            with self.store.open(blob) as raw_fp:
                fp = _Counting(raw_fp)
                reader = open_claim_file(fp, decode=False)  # counting needs no base64
                header = reader.header
                if authorised is not None and header.facility != authorised:
                    issue = _facility_issue(header.facility, authorised)
                    with transaction(self.factory) as s:
                        self._mark_failed(s, s.get(ClaimFile, file_id), issue.code, issue, owner)
                    return False
                count = 0
                for _raw in reader:
                    count += 1
                    if count % 200 == 0:
                        self.pause()
                        if time.monotonic() - last_renew > self.lease.total_seconds() / 4:
                            with transaction(self.factory) as s:
                                self._renew(s, file_id, owner)
                            last_renew = time.monotonic()
        except FileRejected as exc:
            with transaction(self.factory) as s:
                self._mark_failed(s, s.get(ClaimFile, file_id), exc.code, exc.issue, owner)
            return False
        with transaction(self.factory) as s:
            self._renew(
                s,
                file_id,
                owner,
                phase="loading",
                total=count,
                facility_code=header.facility,
                ngay_lap=(header.ngay_lap or "")[:20] or None,
                declared_records=header.so_luong_ho_so if (header.so_luong_ho_so or 0) <= INT_MAX else None,
            )
        return True

    def _load(self, file_id: int, owner: str, blob: str, start: int) -> str:
        batch: list[Prepared] = []
        try:
            with self.store.open(blob) as raw_fp:
                fp = _Counting(raw_fp)
                reader = open_claim_file(fp)
                header = reader.header
                with transaction(self.factory) as s:  # a commune station is paid 100 % (muc_huong check)
                    station = is_commune_station(s, header.facility)
                ctx = ValidationContext(envelope_facility=header.facility, commune_station=station)
                for raw in reader:
                    if raw.index < start:
                        if raw.index % 500 == 0:
                            self.pause()
                        continue
                    batch.append(self._prepare(raw, header, ctx))
                    if len(batch) % 50 == 0:
                        self.pause()
                    if len(batch) >= self.batch_size:
                        self._commit(file_id, owner, header.facility, batch, fp.count)
                        batch = []
                if batch:
                    self._commit(file_id, owner, header.facility, batch, fp.count)
                file_issues = reader.file_issues()
                file_notes = list(dict.fromkeys(reader.notes))
                size = fp.count
        except FileRejected as exc:
            # The check pass read the same bytes with the same reader, so this cannot happen unless the
            # stored blob changed under us; the file is refused and what was loaded stays visible.
            with transaction(self.factory) as s:
                self._mark_failed(s, s.get(ClaimFile, file_id), exc.code, exc.issue, owner)
            return "failed"
        self._finish(file_id, owner, file_issues, size, file_notes)
        return "done"

    def _prepare(self, raw: RawRecord, header: EnvelopeHeader, ctx: ValidationContext) -> Prepared:
        claim, issues = decode_record(raw, header)
        if claim is not None:
            # ctx.seen_in_file stays empty: duplicates, within the file and across files, are judged
            # against the database when the batch commits (memory must not grow with the file).
            issues.extend(validate(claim, ctx))
        ma_lk = claim.ma_lk if claim is not None else next((i.ma_lk for i in issues if i.ma_lk), None)
        return Prepared(raw.index, claim, issues, ma_lk, frozenset(raw.notes) if raw.notes else frozenset())

    # --- writing a batch --------------------------------------------------------------------------

    def _commit(self, file_id: int, owner: str, facility: str, batch: list[Prepared], bytes_read: int) -> None:
        for attempt in range(3):
            try:
                with transaction(self.factory) as s:
                    counts = self._write(s, file_id, owner, facility, batch, bytes_read)
                break
            except IntegrityError:
                # Another file of the same facility accepted one of these MA_LK at the same moment:
                # judge the batch again against what is committed now.
                if attempt == 2:
                    raise
        accepted, rejected, issue_counts, delta_bytes = counts
        m.RECORDS.labels("accepted").inc(accepted)
        m.RECORDS.labels("rejected").inc(rejected)
        for (code, severity), n in issue_counts.items():
            m.ISSUES.labels(code, severity).inc(n)
        m.BYTES.inc(max(0, delta_bytes))
        for (kind, table), n in _note_counts(batch).items():
            m.FORMAT_NOTES.labels(kind, table or "GIAMDINHHS").inc(n)
        self._batches += 1
        if self.stop_after_batches is not None and self._batches >= self.stop_after_batches:
            raise SimulatedCrash(file_id)

    def _write(
        self, s: Session, file_id: int, owner: str, facility: str, batch: list[Prepared], bytes_read: int
    ) -> tuple[int, int, dict[tuple[str, str], int], int]:
        previous_bytes = s.scalar(select(ClaimFile.bytes_processed).where(ClaimFile.id == file_id)) or 0
        already = self._accepted_among(s, facility, {p.ma_lk for p in batch if p.ma_lk})
        claim_rows: list[dict[str, Any]] = []
        record_issues: list[list[Issue]] = []
        accepted = rejected = warnings = 0
        issue_counts: dict[tuple[str, str], int] = {}
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
            claim_rows.append(_claim_row(file_id, facility, p, ok, len(issues) - n_warn, n_warn))
            record_issues.append(issues)
        self._renew(
            s,
            file_id,
            owner,
            next_index=batch[-1].index + 1,
            accepted=ClaimFile.accepted + accepted,
            rejected=ClaimFile.rejected + rejected,
            warnings=ClaimFile.warnings + warnings,
            bytes_processed=bytes_read,
        )
        # A plain executemany, then the ids by (file_id, record_index): RETURNING in parameter order makes
        # SQLite insert one row per statement.
        _bulk_insert(s, Claim.__table__, claim_rows)
        by_index: dict[int, int] = {
            index: claim_id
            for index, claim_id in s.execute(
                select(Claim.record_index, Claim.id).where(
                    Claim.file_id == file_id, Claim.record_index.between(batch[0].index, batch[-1].index)
                )
            )
        }
        ids = [by_index[p.index] for p in batch]
        lines: list[dict[str, Any]] = []
        tables: list[dict[str, Any]] = []
        issue_rows: list[dict[str, Any]] = []
        for claim_id, p, issues in zip(ids, batch, record_issues, strict=True):
            if p.claim is not None:
                lines.extend(_line_row(claim_id, ln) for ln in p.claim.lines)
                tables.extend(
                    {"claim_id": claim_id, "ma_lk": _clip(p.ma_lk, 100), "table_name": name[:5], "content": data}
                    for name, data in sorted(p.claim.other_tables.items())
                )
            issue_rows.extend(_issue_row(file_id, p.index, i) for i in issues)
        for rows, model in ((lines, ClaimLine), (tables, ClaimTable), (issue_rows, ClaimIssue)):
            if rows:
                _bulk_insert(s, model.__table__, rows)
        notes = _note_counts(batch)  # only when a repair was made: clean files write nothing here
        if notes:
            s.execute(insert(ClaimFormatNote.__table__), [
                {"file_id": file_id, "kind": kind, "table_name": table, "records": n}
                for (kind, table), n in sorted(notes.items(), key=lambda item: (item[0][0], item[0][1] or ""))
            ])
        # Last, so the totals rows stay locked for the shortest time before the commit.
        totals.apply(s, totals.for_claims(claim_rows))
        return accepted, rejected, issue_counts, bytes_read - previous_bytes

    def _accepted_among(self, s: Session, facility: str, ma_lks: set[str]) -> set[str]:
        found: set[str] = set()
        keys = sorted(_clip(k, 100) or "" for k in ma_lks)
        for start in range(0, len(keys), 500):
            found.update(
                s.scalars(
                    select(Claim.ma_lk).where(
                        Claim.status == "accepted",
                        Claim.facility_code == facility,
                        Claim.ma_lk.in_(keys[start : start + 500]),
                    )
                )
            )
        return found

    # --- the end of a file ------------------------------------------------------------------------

    def _finish(
        self, file_id: int, owner: str, file_issues: list[Issue], size: int, file_notes: list[Note] | None = None
    ) -> None:
        with transaction(self.factory) as s:
            f = s.get(ClaimFile, file_id)
            assert f is not None
            records = f.total or 0
            if file_notes:  # repairs to the envelope itself concern every record of the file
                s.execute(insert(ClaimFormatNote.__table__), [
                    {"file_id": file_id, "kind": kind, "table_name": table, "records": records}
                    for kind, table in file_notes
                ])
            self._renew(
                s,
                file_id,
                owner,
                status="done",
                phase="finished",
                finished_at=utcnow(),
                lease_owner=None,
                lease_until=None,
                warnings=ClaimFile.warnings + len(file_issues),
                bytes_processed=size,
            )
            if file_issues:
                s.execute(insert(ClaimIssue.__table__), [_issue_row(file_id, None, i) for i in file_issues])
            ledger.file_finished_events(s, file_id)
            started = f.started_at
        for i in file_issues:
            m.ISSUES.labels(i.code, i.severity).inc()
        for kind, table in file_notes or ():
            m.FORMAT_NOTES.labels(kind, table or "GIAMDINHHS").inc(records)
        m.FILES.labels("done").inc()
        _observe_duration(started)

    def _mark_failed(self, s: Session, f: ClaimFile | None, code: str, issue: Issue, owner: str | None = None) -> None:
        """The whole file is refused (or could not be processed): status `failed` with its issue."""
        assert f is not None
        if owner is not None and f.lease_owner != owner:
            raise LeaseLost(f.id)
        f.status, f.phase, f.error_code = "failed", "finished", code[:40]
        f.finished_at = utcnow()
        f.lease_owner = f.lease_until = None
        s.add(ClaimIssue(**_issue_row(f.id, None, issue)))
        m.FILES.labels("failed").inc()
        m.ISSUES.labels(issue.code, issue.severity).inc()
        _observe_duration(f.started_at)


class SimulatedCrash(Exception):
    """Raised by `stop_after_batches` (tests of resumption)."""


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
    if started.tzinfo is None:
        from datetime import UTC

        started = started.replace(tzinfo=UTC)
    m.FILE_SECONDS.observe(max(0.0, (utcnow() - started).total_seconds()))


# --- rows -----------------------------------------------------------------------------------------

_INSERTS: dict[tuple[str, str, tuple[str, ...]], tuple[str, list[Callable[[Any], Any] | None]]] = {}


def _bulk_insert(s: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Many rows in one go at the driver: SQLite `executemany`, PostgreSQL `execute_values` (1,000 a statement).

    The same rows and values as `s.execute(insert(table), rows)` stores (the column types' own bind
    conversions are applied), for less: SQLAlchemy's per-row parameter building was a fifth of the intake's
    time on SQLite (docs/benchmarks.md). Not COPY: psycopg2 refuses it under psycogreen's wait callback, which
    the service runs with. Every row has the keys of the first, as Core requires too. Driver errors are
    raised as SQLAlchemy's own (IntegrityError: `_commit` retries on it), as before."""
    conn = s.connection()
    dialect = conn.dialect
    keys = tuple(rows[0])
    cached = _INSERTS.get((dialect.name, table.name, keys))
    if cached is None:
        procs = [table.c[k].type.dialect_impl(dialect).bind_processor(dialect) for k in keys]
        columns = ", ".join(keys)
        values = "%s" if dialect.name == "postgresql" else "(" + ", ".join(["?"] * len(keys)) + ")"
        sql = f"INSERT INTO {table.name} ({columns}) VALUES {values}"  # noqa: S608 - our own table and columns
        cached = _INSERTS[(dialect.name, table.name, keys)] = (sql, procs)
    sql, procs = cached
    get = itemgetter(*keys)  # several keys: a tuple, built in C
    converted = [(i, p) for i, p in enumerate(procs) if p is not None]
    params: list[Any] = [get(row) for row in rows]
    if converted:
        for n, values in enumerate(params):
            values = list(values)
            for i, p in converted:
                values[i] = p(values[i])
            params[n] = values
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        if dialect.name == "postgresql":
            from psycopg2.extras import execute_values

            # executemany would be one round trip per row on psycopg2.
            execute_values(cursor, sql, params, page_size=1000)
        else:
            cursor.executemany(sql, params)
    except dialect.loaded_dbapi.Error as exc:
        # As SQLAlchemy itself would raise it: IntegrityError for `_commit`'s retry, OperationalError for the
        # event handler's transient-failure path, a dropped connection marked invalidated.
        lost = dialect.is_disconnect(exc, conn.connection.dbapi_connection, cursor)
        if lost:
            conn.invalidate(exc)
        raise DBAPIError.instance(sql, None, exc, dialect.loaded_dbapi.Error, connection_invalidated=lost) from exc
    finally:
        with contextlib.suppress(Exception):
            cursor.close()


def _clip(value: str | None, size: int) -> str | None:
    return value[:size] if value is not None else None


def _int(value: int | None) -> int | None:
    return value if value is not None and -INT_MAX <= value <= INT_MAX else None


def _claim_row(file_id: int, facility: str, p: Prepared, ok: bool, critical: int, warnings: int) -> dict[str, Any]:
    row: dict[str, Any] = {
        "file_id": file_id,
        "record_index": p.index,
        "status": "accepted" if ok else "rejected",
        "facility_code": facility,
        "ma_lk": _clip(p.ma_lk, 100),
        "critical_issues": critical,
        "warning_issues": warnings,
        "created_at": utcnow(),
    }
    c = p.claim
    if c is None:
        # Core executemany wants the same keys in every row: a record without a readable XML1 has no values.
        return dict.fromkeys(_CLAIM_VALUE_KEYS) | row
    year = c.nam_qt if c.nam_qt is not None and 1900 <= c.nam_qt <= 9999 else None
    month = c.thang_qt if c.thang_qt is not None and 1 <= c.thang_qt <= 12 else None
    row.update(
        standard=c.standard,
        period_year=year,
        period_month=month if year else None,
        period_quarter=Quarter.of_month(year, month).quarter if year and month else None,
        ma_bn=_clip(c.ma_bn, 100),
        ho_ten=_clip(c.ho_ten, 255),
        so_cccd=_clip(c.so_cccd, 20),
        ngay_sinh=c.ngay_sinh,
        ngay_sinh_raw=_clip(c.ngay_sinh_raw, 12),
        gioi_tinh=_int(c.gioi_tinh),
        dia_chi=_clip(c.dia_chi, 1024),
        dien_thoai=_clip(c.dien_thoai, 20),
        ma_the_bhyt=_clip(c.ma_the_bhyt, 255),
        ma_dkbd=_clip(c.ma_dkbd, 255),
        gt_the_tu=_clip(c.gt_the_tu, 255),
        gt_the_den=_clip(c.gt_the_den, 255),
        ma_benh_chinh=_clip(c.ma_benh_chinh, 10),
        ma_benh_kt=_clip(";".join(c.ma_benh_kt), 200) if c.ma_benh_kt else None,
        ma_loai_kcb=_clip(c.ma_loai_kcb, 2),
        ngay_vao=c.ngay_vao,
        ngay_ra=c.ngay_ra,
        t_tongchi_bv=c.t_tongchi_bv,
        t_tongchi_bh=c.t_tongchi_bh,
        t_bntt=c.t_bntt,
        t_bncct=c.t_bncct,
        t_bhtt=c.t_bhtt,
        t_nguonkhac=c.t_nguonkhac,
        t_bhtt_gdv=c.t_bhtt_gdv,
        **_by_method(c.lines),
    )
    return row


_CLAIM_VALUE_KEYS = (
    "standard",
    "period_year",
    "period_month",
    "period_quarter",
    "ma_bn",
    "ho_ten",
    "so_cccd",
    "ngay_sinh",
    "ngay_sinh_raw",
    "gioi_tinh",
    "dia_chi",
    "dien_thoai",
    "ma_the_bhyt",
    "ma_dkbd",
    "gt_the_tu",
    "gt_the_den",
    "ma_benh_chinh",
    "ma_benh_kt",
    "ma_loai_kcb",
    "ngay_vao",
    "ngay_ra",
    "t_tongchi_bv",
    "t_tongchi_bh",
    "t_bntt",
    "t_bncct",
    "t_bhtt",
    "t_nguonkhac",
    "t_bhtt_gdv",
    "bhtt_fee_for_service",
    "bhtt_capitation",
    "bhtt_drg",
)
# Claim column of the Σ line T_BHTT of each payment method (MA_PTTT): spend is read from these, never T_BHTT_GDV.
_METHOD_COLUMNS = {"1": "bhtt_fee_for_service", "2": "bhtt_capitation", "3": "bhtt_drg"}


def _by_method(lines: list[Any]) -> dict[str, Decimal]:
    out = dict.fromkeys(_METHOD_COLUMNS.values(), _ZERO)
    for ln in lines:
        column = _METHOD_COLUMNS.get(ln.ma_pttt)
        if column is not None and ln.t_bhtt is not None:
            out[column] += ln.t_bhtt
    return out


def _line_row(claim_id: int, ln: Any) -> dict[str, Any]:
    return {
        "claim_id": claim_id,
        "table_name": ln.table,
        "line_index": ln.index,
        "stt": _int(ln.stt),
        "item_code": _clip(ln.item_code, 255),
        "name": _clip(ln.name, 1024),
        "ma_nhom": _clip(ln.ma_nhom, 4),
        "quantity": ln.quantity,
        "unit_price": ln.unit_price,
        "tyle_tt_bh": ln.tyle_tt_bh,
        "thanh_tien_bv": ln.thanh_tien_bv,
        "thanh_tien_bh": ln.thanh_tien_bh,
        "muc_huong": ln.muc_huong,
        "t_nguonkhac": ln.t_nguonkhac,
        "t_bntt": ln.t_bntt,
        "t_bncct": ln.t_bncct,
        "t_bhtt": ln.t_bhtt,
        "ma_pttt": _clip(ln.ma_pttt, 2),
        "ngay_yl": ln.ngay_yl,
    }


def _issue_row(file_id: int, record_index: int | None, i: Issue) -> dict[str, Any]:
    return {
        "file_id": file_id,
        "record_index": record_index,
        "ma_lk": _clip(i.ma_lk, 100),
        "table_name": _clip(i.table, 20),
        "field": _clip(i.field, 40),
        "code": i.code[:40],
        "severity": i.severity,
        "message": i.message,
    }
