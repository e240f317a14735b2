"""Claims through the running system (gateway → blob store → claims service over RabbitMQ): every contract
error code proved on a generated file, nothing counted twice, masking, assessments and reconciliation.

The stack is shared by every e2e test: each test uses facility codes of its own."""

from __future__ import annotations

import csv
import hashlib
import io
import re
import time
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
import requests

from services.devtools import claims_generator as generator
from tests.integration.claims.conftest import by_registration

CONTRACT_RECORD_CODES = (
    "record_unreadable",
    "missing_field",
    "card_format",
    "card_not_valid_on_date",
    "date_order",
    "icd10_invalid",
    "amount_mismatch",
    "amount_negative",
    "value_invalid",
    "facility_mismatch",
    "duplicate_claim",
)


@pytest.fixture(scope="module")
def tokens(stack):
    return {role: stack.token(role) for role in ("admin", "finance", "bhxh", "viewer")}


def auth(token, **headers):
    return {"Authorization": f"Bearer {token}", **headers}


def make_file(facility, records=20, **kwargs):
    buf = io.BytesIO()
    kwargs.setdefault("year", 2023)
    kwargs.setdefault("months", [10, 11, 12])
    kwargs.setdefault("seed", 5)
    summary = generator.generate(buf, facility=facility, records=records, **kwargs)
    return buf.getvalue(), summary


def upload(stack, token, data, content_type="application/xml", **headers):
    return requests.post(
        stack.url + "/api/v1/claims/files",
        data=data,
        headers=auth(token, **{"Content-Type": content_type}, **headers),
        timeout=60,
    )


def wait_done(stack, token, file_id, timeout=90, **params):
    deadline = time.monotonic() + timeout
    while True:
        r = requests.get(
            stack.url + f"/api/v1/claims/files/{file_id}",
            headers=auth(token),
            params={"errors_limit": 1000, **params},
            timeout=30,
        )
        assert r.status_code == 200, r.text
        body = r.json()
        if body["status"] != "processing":
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.3)


def send(stack, token, data):
    r = upload(stack, token, data)
    assert r.status_code == 202, r.text
    return wait_done(stack, token, r.json()["id"])


def reconciliation(stack, token, facility, period):
    r = requests.get(
        stack.url + "/api/v1/reconciliation",
        headers=auth(token),
        params={"facility": facility, "period": period},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    return r.json()


def test_upload_needs_xml_a_token_and_a_writing_role(stack, tokens):
    data, _ = make_file("91E00", records=3)
    assert upload(stack, tokens["bhxh"], data, "application/json").status_code == 415
    assert requests.post(stack.url + "/api/v1/claims/files", data=data, timeout=30).status_code == 401
    for role in ("viewer", "finance"):
        r = upload(stack, tokens[role], data)
        assert r.status_code == 403 and r.json()["errors"][0]["code"] == "forbidden"
    r = upload(stack, tokens["bhxh"], b"")
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "empty_file"


@pytest.mark.parametrize("code", CONTRACT_RECORD_CODES)
def test_each_record_error_code_on_a_generated_file(stack, tokens, code):
    facility = f"91R{CONTRACT_RECORD_CODES.index(code):02d}"
    data, summary = make_file(facility, records=12, faults={code: 2}, sloppy=True)
    st = send(stack, tokens["bhxh"], data)
    assert st["status"] == "done"
    assert st["records"]["total"] == 12
    assert st["records"]["accepted"] == summary.accepted == 10
    assert st["records"]["rejected"] == 2
    planted = {ma_lk for ma_lk, c in summary.faults if c == code}
    found = [e for e in st["errors"] if e["code"] == code]
    assert found and all(e["severity"] == "critical" and e["message"] for e in found)
    assert {e["ma_lk"] for e in found} >= planted - {None}
    assert set(found[0]) >= {"ma_lk", "table", "field", "code", "severity", "message"}
    assert st["errors_by_code"][code] == len(found)


@pytest.mark.parametrize(
    ("name", "mangle", "code"),
    [
        ("truncated", lambda d: d[: len(d) * 2 // 3], "xml_malformed"),
        (
            "entity_expansion",
            lambda d: (
                b'<?xml version="1.0"?><!DOCTYPE GIAMDINHHS [<!ENTITY a "aaaaaaaaaa">'
                b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
                + d[d.index(b"<GIAMDINHHS") :].replace(b"<NGAYLAP>", b"<NGAYLAP>&c;", 1)
            ),
            "xml_malformed",
        ),
        (
            "external_entity",
            lambda d: (
                b'<?xml version="1.0"?><!DOCTYPE GIAMDINHHS [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                + d[d.index(b"<GIAMDINHHS") :].replace(b"<NGAYLAP>", b"<NGAYLAP>&x;", 1)
            ),
            "xml_malformed",
        ),
        ("other_root", lambda d: d.replace(b"GIAMDINHHS", b"HOSO_KHAC"), "envelope_invalid"),
        ("no_facility", lambda d: d.replace(b"<MACSKCB>91W04</MACSKCB>", b""), "envelope_invalid"),
    ],
)
def test_each_whole_file_error_code(stack, tokens, name, mangle, code):
    facility = f"91W{['truncated', 'entity_expansion', 'external_entity', 'other_root', 'no_facility'].index(name):02d}"
    data, _ = make_file(facility, records=8)
    st = send(stack, tokens["bhxh"], mangle(data))
    assert st["status"] == "failed"
    assert [(e["code"], e["severity"]) for e in st["errors"]] == [(code, "critical")]
    assert st["records"]["accepted"] == 0
    listed = requests.get(
        stack.url + "/api/v1/claims", headers=auth(tokens["bhxh"]), params={"file_id": st["id"]}, timeout=30
    ).json()
    assert listed["total"] == 0


def test_sending_again_never_counts_twice(stack, tokens):
    facility = "91D01"
    data, summary = make_file(facility, records=30, faults={"date_order": 1})
    first = upload(stack, tokens["bhxh"], data)
    assert first.status_code == 202 and first.json()["duplicate"] is False
    st = wait_done(stack, tokens["bhxh"], first.json()["id"])
    before = reconciliation(stack, tokens["viewer"], facility, "2023-Q4")
    assert before["claims"]["count"] == summary.accepted == 29

    again = upload(stack, tokens["admin"], data)
    assert again.status_code == 202
    assert again.json() == {"id": st["id"], "status": "done", "sha256": st["sha256"], "duplicate": True}

    # The same records in other bytes: a new file whose every record is a duplicate.
    other = send(stack, tokens["bhxh"], data.replace(b"</GIAMDINHHS>", b"</GIAMDINHHS>\n<!-- lan 2 -->"))
    assert other["id"] != st["id"]
    assert other["records"]["accepted"] == 0
    assert sum(1 for e in other["errors"] if e["code"] == "duplicate_claim") == 29
    assert reconciliation(stack, tokens["viewer"], facility, "2023-Q4") == before

    # Idempotency-Key on an upload replays the first answer
    key = str(uuid.uuid4())
    data2, _ = make_file(facility, records=2, seed=99)
    r1 = upload(stack, tokens["bhxh"], data2, **{"Idempotency-Key": key})
    r2 = upload(stack, tokens["bhxh"], data2, **{"Idempotency-Key": key})
    assert r1.status_code == r2.status_code == 202 and r1.json() == r2.json()
    assert r2.headers.get("Idempotent-Replay") == "true"


def test_a_program_names_its_upload_and_the_lists_show_that_name(stack, tokens):
    """`?filename=` gives an API upload the name the page's form gives its file; it is kept as
    application/claims.shown_name cleans it (no folders, no invisible characters), and a name too long is refused
    before a byte is kept."""
    data, _ = make_file("91D02", records=2, seed=41)
    url = stack.url + "/api/v1/claims/files"
    headers = auth(tokens["bhxh"], **{"Content-Type": "application/xml"})
    r = requests.post(url, data=data, headers=headers, params={"filename": "C:\\HIS\\91D02_\u202eQ4.xml"}, timeout=60)
    assert r.status_code == 202, r.text
    assert wait_done(stack, tokens["bhxh"], r.json()["id"])["filename"] == "91D02_Q4.xml"
    listed = requests.get(url, headers=auth(tokens["viewer"]), params={"per_page": 500}, timeout=30).json()["items"]
    assert {f["id"]: f["filename"] for f in listed}[r.json()["id"]] == "91D02_Q4.xml"

    def files() -> int:
        return requests.get(url, headers=auth(tokens["admin"]), params={"per_page": 1}, timeout=30).json()["total"]

    before = files()
    other, _ = make_file("91D02", records=2, seed=42)
    r = requests.post(url, data=other, headers=headers, params={"filename": "x" * 1001}, timeout=60)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "filename"
    assert files() == before


def test_personal_fields_only_for_admin_and_bhxh(stack, tokens):
    """Claims one by one are health data: admin and bhxh read them, finance and viewer are refused (issue 13;
    the whole matrix is walked in tests/security/test_health_data_access.py)."""
    facility = "91Q01"  # no other test on the shared stack sends claims for it: the totals below are this test's own
    data, _ = make_file(facility, records=5)
    send(stack, tokens["bhxh"], data)
    seen = {}
    for role in ("admin", "bhxh"):
        r = requests.get(
            stack.url + "/api/v1/claims", headers=auth(tokens[role]), params={"facility": facility}, timeout=30
        )
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["total"] == 5 and len(body["items"]) == 5
        seen[role] = body["items"][0]
        assert len(seen[role]["ma_the_bhyt"]) >= 15 and "***" not in seen[role]["ho_ten"]
    for role in ("finance", "viewer"):
        r = requests.get(
            stack.url + "/api/v1/claims", headers=auth(tokens[role]), params={"facility": facility}, timeout=30
        )
        assert r.status_code == 403 and r.json()["errors"][0]["code"] == "forbidden"
        one = requests.get(
            stack.url + f"/api/v1/claims/records/{facility}/{seen['admin']['ma_lk']}", headers=auth(tokens[role])
        )
        assert one.status_code == 403 and seen["admin"]["ma_lk"] not in one.text


def test_errors_as_csv(stack, tokens):
    data, _ = make_file("91C01", records=15, faults={"amount_negative": 2, "icd10_invalid": 1})
    st = send(stack, tokens["bhxh"], data)
    viewer = requests.get(stack.url + f"/api/v1/claims/files/{st['id']}/errors.csv", headers=auth(tokens["viewer"]))
    assert viewer.status_code == 403  # record-by-record errors quote health data (issue 13)
    r = requests.get(stack.url + f"/api/v1/claims/files/{st['id']}/errors.csv", headers=auth(tokens["bhxh"]))
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert len(rows) == st["errors_total"] and {r["Mã lỗi"] for r in rows} >= {"amount_negative", "icd10_invalid"}
    assert {r["Mức độ"] for r in rows} <= {"Nghiêm trọng (từ chối hồ sơ)", "Cảnh báo"}  # Vietnamese headings


def test_assessments_and_reconciliation_through_the_gateway(stack, tokens):
    facility = "91907"  # finance wants all digits
    data, summary = make_file(facility, records=40, months=[1, 2, 3], year=2023, faults={"card_format": 2})
    send(stack, tokens["bhxh"], data)
    totals = summary.totals[(facility, "2023-Q1")]
    listed = requests.get(
        stack.url + "/api/v1/claims",
        headers=auth(tokens["bhxh"]),
        params={"facility": facility, "status": "accepted", "per_page": 100},
        timeout=30,
    ).json()["items"]
    assert len(listed) == totals.count
    a, b, c = listed[0], listed[1], listed[2]
    post = lambda body, token=tokens["bhxh"]: requests.post(  # noqa: E731
        stack.url + "/api/v1/claims/assessments", json=body, headers=auth(token), timeout=30
    )
    refused = post(
        {
            "facility_code": facility,
            "items": [
                {"ma_lk": a["ma_lk"], "approved_amount": str(Decimal(a["t_bhtt"]) + 1)},
                {"ma_lk": b["ma_lk"], "approved_amount": "0"},
                {"ma_lk": "NOPE", "approved_amount": "1"},
            ],
        }
    )
    assert refused.status_code == 422
    assert [(e["code"], e["field"]) for e in refused.json()["errors"]] == [
        ("approved_exceeds_requested", "items.0.approved_amount"),
        ("reason_required", "items.1.reason_code"),
        ("unknown_claim", "items.2.ma_lk"),
    ]
    assert (
        post(
            {"facility_code": facility, "items": [{"ma_lk": a["ma_lk"], "approved_amount": "1"}]}, tokens["viewer"]
        ).status_code
        == 403
    )
    partial = Decimal(b["t_bhtt"]) - Decimal("5000.25")
    ok = post(
        {
            "facility_code": facility,
            "items": [
                {"ma_lk": a["ma_lk"], "approved_amount": a["t_bhtt"]},
                {"ma_lk": b["ma_lk"], "approved_amount": str(partial), "reason_code": "so_luong_vuot"},
                {"ma_lk": c["ma_lk"], "approved_amount": "0", "reason_code": "the_khong_gia_tri"},
            ],
        }
    )
    assert ok.status_code == 201, ok.text
    assert [i["outcome"] for i in ok.json()["items"]] == ["approved", "partial", "refused"]

    # finance's fund and an advance reach the claims service as events
    fund = requests.post(
        stack.url + "/api/v1/capitation/funds",
        json={"facility_code": facility, "period": "2023-Q1", "cards": 1000, "rate_per_card": 30000, "coefficient": 1},
        headers=auth(tokens["finance"]),
        timeout=30,
    )
    assert fund.status_code == 201, fund.text
    adv = requests.post(
        stack.url + "/api/v1/capitation/advances",
        json={"facility_code": facility, "period": "2023-Q1", "amount": 4_000_000, "date": "2023-01-15"},
        headers=auth(tokens["bhxh"]),
        timeout=30,
    )
    assert adv.status_code == 201, adv.text
    deadline = time.monotonic() + 30
    while True:
        rec = reconciliation(stack, tokens["viewer"], facility, "2023-Q1")
        if rec["capitation"]["fund_set"] and rec["payments"]["advanced"] != "0.00":
            break
        assert time.monotonic() < deadline, rec
        time.sleep(0.3)

    assessed_requested = Decimal(a["t_bhtt"]) + Decimal(b["t_bhtt"]) + Decimal(c["t_bhtt"])
    approved = Decimal(a["t_bhtt"]) + partial
    spend = totals.capitation  # the capitation lines treated here, whoever's cards
    own = by_registration(data, summary)[(facility, "2023-Q1")]  # the spend against the fund: its own cards
    fund_value = Decimal(fund.json()["fund"])
    assert rec["claims"] == {
        "count": totals.count,
        "assessed": 3,
        "requested": str(totals.t_bhtt),
        "approved": str(approved),
        "rejected": str(assessed_requested - approved),
        "pending": str(totals.t_bhtt - assessed_requested),
        # Σ line T_BHTT by MA_PTTT (the generator's fee-for-service lines are its T_BHTT_GDV; no DRG line)
        "by_payment_method": {"fee_for_service": str(totals.t_bhtt_gdv), "capitation": str(spend), "drg": "0.00"},
    }
    assert rec["capitation"] == {
        "fund": str(fund_value.quantize(Decimal("0.01"))),
        "fund_set": True,
        "spend": str(own.spend),
        "balance": str((fund_value - own.spend).quantize(Decimal("0.01"))),
        "spend_own_cards_here": str(own.own_here),
        "spend_own_cards_elsewhere": "0.00",
        "spend_other_cards_here": str(spend - own.own_here),
        "registered_claims": own.claims,
    }
    assert rec["payments"] == {"advanced": "4000000.00"}
    bad = requests.get(
        stack.url + "/api/v1/reconciliation", headers=auth(tokens["viewer"]), params={"period": "2023-13"}
    )
    assert bad.status_code == 422


def test_claims_metrics_on_the_service_port(stack, tokens):
    data, _ = make_file("91M01", records=4, faults={"date_order": 1})
    send(stack, tokens["bhxh"], data)
    intake_port = int(stack.env["CLAIMS_METRICS_PORT"]) + 2  # the intake worker's (CLAIMS_INTAKE_METRICS_PORT)
    text = requests.get(f"http://127.0.0.1:{intake_port}/metrics", timeout=10).text
    for needle in (
        'ytcs_claims_records_total{outcome="accepted"}',
        'ytcs_claims_records_total{outcome="rejected"}',
        'ytcs_claims_issues_total{code="date_order",severity="critical"}',
        'ytcs_claims_files_total{outcome="done"}',
        "ytcs_claims_file_processing_seconds_count",
        "ytcs_claims_bytes_processed_total",
    ):
        assert needle in text, needle


def test_on_postgresql(pg_stack):
    token = pg_stack.token("bhxh")
    data, summary = make_file("91G01", records=60, faults={"amount_mismatch": 2, "duplicate_claim": 1})
    st = send(pg_stack, token, data)
    assert st["records"]["accepted"] == summary.accepted == 57
    assert {"amount_mismatch", "duplicate_claim"} <= set(st["errors_by_code"])
    assert send(pg_stack, token, data + b" ")["records"]["accepted"] == 0
    totals = summary.totals[("91G01", "2023-Q4")]
    rec = reconciliation(pg_stack, token, "91G01", "2023-Q4")
    assert rec["claims"]["count"] == totals.count
    assert Decimal(rec["claims"]["requested"]) == totals.t_bhtt
    assert Decimal(rec["claims"]["by_payment_method"]["capitation"]) == totals.capitation
    assert Decimal(rec["capitation"]["spend"]) == by_registration(data, summary)[("91G01", "2023-Q4")].spend


class Padded(io.RawIOBase):
    """A claim file grown to `total` bytes by XML comments between its records, made while it is read (the
    test never holds it): a sloppy export as big as a province's month, legal XML that a reader must stream."""

    COMMENT = b"<!--" + b"x" * ((1 << 20) - 7) + b"-->"  # 1 MiB, under libxml2's 10 MB node limit

    def __init__(self, data: bytes, total: int) -> None:
        cut = data.index(b"</HOSO>") + len(b"</HOSO>")  # after the first record
        self.head, self.tail = data[:cut], data[cut:]
        self.comments = (total - len(data)) // len(self.COMMENT)
        self.size = len(data) + self.comments * len(self.COMMENT)
        self.digest = hashlib.sha256()
        self._chunks = self._all()
        self._view = memoryview(b"")

    def _all(self):
        yield self.head
        for _ in range(self.comments):
            yield self.COMMENT
        yield self.tail

    def __len__(self) -> int:  # requests sends it with its Content-Length
        return self.size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        while not self._view:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self.digest.update(chunk)
            self._view = memoryview(chunk)
        n = min(len(buffer), len(self._view))
        buffer[:n] = self._view[:n]
        self._view = self._view[n:]
        return n


def _peak_rss_mib(pid: int) -> float:
    """VmHWM: the most memory the process ever held."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"^VmHWM:\s+(\d+) kB", status, re.M).group(1)) / 1024


def test_a_one_gigabyte_file_streams_through_in_bounded_memory(stack, tokens):
    import psutil

    facility = "91H01"
    data, summary = make_file(facility, records=40, faults={"icd10_invalid": 2})
    body = Padded(data, 1 << 30)
    procs = psutil.Process(stack.proc.pid).children(recursive=True)
    watched = {p.pid: " ".join(p.cmdline()) for p in procs if "gunicorn" in " ".join(p.cmdline())
               or p.cmdline()[-1:] in (["claims"], ["claims-intake"])}
    before = {pid: _peak_rss_mib(pid) for pid in watched}
    r = requests.post(stack.url + "/api/v1/claims/files", data=body, timeout=600,
                      headers=auth(tokens["bhxh"], **{"Content-Type": "application/xml"}))
    assert r.status_code == 202, r.text
    assert r.json()["sha256"] == body.digest.hexdigest()
    st = wait_done(stack, tokens["bhxh"], r.json()["id"], timeout=600)
    assert (st["status"], st["records"]["total"], st["records"]["accepted"]) == ("done", 40, summary.accepted)
    # Neither the gateway worker that took the upload nor the claims process held the file.
    grown = {f"{watched[pid]} [{pid}]": round(_peak_rss_mib(pid) - before[pid], 1) for pid in watched}
    assert any("claims" in name for name in grown) and any("gunicorn" in name for name in grown)
    assert max(grown.values()) < 100, grown
