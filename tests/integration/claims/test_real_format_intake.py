"""Format notes through the intake, on SQLite and PostgreSQL: stored once per file whatever the batches and a
crash in between, summed in the file status, counted in the metric; the real samples' verdicts as stored."""

from __future__ import annotations

import base64

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select

from services.claims import views
from services.claims.models import Claim, ClaimFormatNote
from tests.integration.claims.conftest import SimulatedCrash, crash_after
from tests.unit.claims.test_real_format import (
    BAD_NS,
    BASE64,
    DAMAGED,
    PLAIN,
    declared,
    real_tables,
    record_4210,
    with_root_attr,
)


def hospital_file(records: int) -> bytes:
    """A file of the real inpatient stay repeated under distinct MA_LK, with the quirks of .NET exports: the
    invalid xsi namespace on the envelope and on every table, XML1 declared UTF-16 over UTF-8, XML4 plain XML,
    XML6 an empty NOIDUNGFILE."""
    facility, tables = real_tables(BASE64)
    hoso = []
    for i in range(records):
        files = []
        for kind, table in tables:
            table = with_root_attr(table.replace(b"1073660", f"LK{i:05d}".encode()), BAD_NS)
            if kind == "XML1":
                table = declared(table, "utf-16")
            if kind == "XML4":
                body = f"<NOIDUNGFILE>{table.decode()}</NOIDUNGFILE>"
            else:
                body = f"<NOIDUNGFILE>{base64.b64encode(table).decode()}</NOIDUNGFILE>"
            files.append(f"<FILEHOSO><LOAIHOSO>{kind}</LOAIHOSO>{body}</FILEHOSO>")
        files.append("<FILEHOSO><LOAIHOSO>XML6</LOAIHOSO><NOIDUNGFILE/></FILEHOSO>")
        hoso.append("<HOSO>" + "".join(files) + "</HOSO>")
    return (
        f'<?xml version="1.0" encoding="utf-8"?><GIAMDINHHS{BAD_NS}><THONGTINDONVI><MACSKCB>{facility}</MACSKCB>'
        f"</THONGTINDONVI><THONGTINHOSO><NGAYLAP>20251230</NGAYLAP><SOLUONGHOSO>{records}</SOLUONGHOSO>"
        f"<DANHSACHHOSO>{''.join(hoso)}</DANHSACHHOSO></THONGTINHOSO><CHUKYDONVI/></GIAMDINHHS>"
    ).encode()


def notes_of(status: dict) -> dict[tuple[str, str | None], int]:
    return {(n["kind"], n["table"]): n["records"] for n in status["format_notes"]}


def metric(kind: str, table: str) -> float:
    return REGISTRY.get_sample_value("ytcs_claims_format_notes_total", {"kind": kind, "table": table}) or 0.0


def test_format_notes_are_stored_once_per_file_across_batches_and_a_crash(claims_env):
    records = 12
    data = hospital_file(records)
    before = metric("namespace_invalid", "XML2"), metric("namespace_invalid", "GIAMDINHHS")
    reg = claims_env.register(data)
    with pytest.raises(SimulatedCrash):
        claims_env.intake(batch_size=5, after_batch=crash_after(1)).process(reg["id"])
    claims_env.intake(batch_size=5).process(reg["id"])  # resumes at record 5
    st = claims_env.status(reg["id"])
    assert st["status"] == "done" and st["records"]["accepted"] == records and st["records"]["rejected"] == 0
    assert not {e["code"] for e in st["errors"]} & {"record_unreadable", "xml_malformed"}
    expected = {("namespace_invalid", None): records, ("table_plain_xml", "XML4"): records,
                ("table_empty", "XML6"): records, ("encoding_declared_wrong", "XML1"): records}
    expected |= {("namespace_invalid", t): records for t in ("XML1", "XML2", "XML3", "XML5", "XML7")}
    assert notes_of(st) == expected
    # one row per batch and note: 3 batches (5 + 5 + 2) — the crashed batch was committed once, then resumed
    with claims_env.session() as s:
        rows = s.scalars(select(ClaimFormatNote).where(ClaimFormatNote.file_id == reg["id"])).all()
        assert sum(r.records for r in rows if (r.kind, r.table_name) == ("namespace_invalid", "XML2")) == records
    for n in st["format_notes"]:
        assert n["message"].endswith(f"({records} hồ sơ)") and n["message"].startswith(n["table"] or "Tệp")
    assert st["format_notes"][0]["table"] is None  # the envelope's first
    # the metric counts records per note (the envelope's at the end of the file)
    assert metric("namespace_invalid", "XML2") - before[0] == records
    assert metric("namespace_invalid", "GIAMDINHHS") - before[1] == records


def test_real_samples_as_stored(claims_env):
    plain = claims_env.load(PLAIN.read_bytes())
    assert plain["records"]["accepted"] == 1, plain["errors"]
    assert notes_of(plain)[("table_plain_xml", "XML3")] == 1 and notes_of(plain)[("table_empty", "XML8")] == 1
    clean = claims_env.load(BASE64.read_bytes())
    assert clean["records"]["accepted"] == 1 and clean["format_notes"] == []
    damaged = claims_env.load(DAMAGED.read_bytes())
    assert damaged["status"] == "done" and damaged["records"]["rejected"] == 1
    unreadable = {e["table"]: e["message"] for e in damaged["errors"] if e["code"] == "record_unreadable"}
    assert set(unreadable) == {"XML1", "XML2"} and "base64" in unreadable["XML2"]
    assert "MATIXH_CU_TRU" in unreadable["XML1"] and "URI" not in unreadable["XML1"]
    # Named by the visit XML3 gives, in the errors and on the rejected record's row.
    assert {e["ma_lk"] for e in damaged["errors"]} == {"ER26000392"}
    with claims_env.session() as s:
        row = s.scalars(select(Claim).where(Claim.file_id == damaged["id"])).one()
    assert (row.status, row.ma_lk) == ("rejected", "ER26000392")


def test_partial_birth_date_is_kept_as_written(claims_env):
    st = claims_env.load(record_4210(NGAY_SINH="195603"))
    assert notes_of(st) == {("birth_date_partial", "XML1"): 1}
    with claims_env.session() as s:
        claim = s.scalars(select(Claim).where(Claim.file_id == st["id"])).one()
        assert (claim.standard, claim.ngay_sinh_raw, claim.ngay_sinh.isoformat()) == ("4210", "195603", "1956-03-01")
        assert views._birth(claim) == "1956-03"
