"""Issue 13, findings 1, 3 and 6 (part): one reading of a claim file's facility, page uploads of real hospital
files, an Idempotency-Key reused with another file, and refused uploads' bytes that expire.

The stack here is this module's own (SQLite, own vhost), started with a 60 MB upload limit, failed blobs
expiring after 4 seconds and a sweep every second, so the expiry is watched on the running system.
Facilities 91T10 (Vĩnh Thuận, 910) and 91T11 (An Minh, 911) are this module's own."""

from __future__ import annotations

import hashlib
import io
import os
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from services.claims.intake import Intake
from services.claims.models import Claim, ClaimFile
from services.claims.parsing import FileRejected, open_claim_file
from services.claims.unit_of_work import ClaimsUnitOfWork
from services.common.blobstore import FilesystemBlobStore
from services.common.claimfile import HEAD_LIMIT, HeadReader, read_head
from services.common.db import make_engine, transaction
from services.common.migrate import upgrade
from services.devtools import claims_generator as generator
from tests.integration.claims.conftest import register
from tests.support.infra import Stack, rabbit_vhost

DATA = Path(__file__).resolve().parents[1] / "data" / "claims"
REAL = DATA / "real_20003_inpatient_base64.xml"
OURS, THEIRS = "91T10", "91T11"  # registered to a commune of 910 and one of 911
COMMUNES = {OURS: "31064", THEIRS: "31078"}  # communes in force (after the 2025 mergers)
PASSWORD = "mật-khẩu-đủ-dài-trust"
HTML = {"Accept": "text/html"}
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
LIMIT_MB = 60


def claim_file(facility: str, seed: int, records: int = 3) -> bytes:
    buf = io.BytesIO()
    generator.generate(buf, facility=facility, records=records, year=2024, months=[7, 8], seed=seed)
    return buf.getvalue()


_ENVELOPE_HEAD = re.compile(rb"<GIAMDINHHS>\s*<THONGTINDONVI><MACSKCB>(\w{5})</MACSKCB></THONGTINDONVI>")


def tricks(seed: int) -> dict[str, bytes]:
    """Files whose envelope names THEIRS (unit 911) while a careless reading would see OURS (unit 910)."""
    data = claim_file(THEIRS, seed)
    head = _ENVELOPE_HEAD.search(data)
    assert head is not None and head.group(1).decode() == THEIRS
    rest = data[head.end() :]
    decl = data[: head.start()]
    real = f"<THONGTINDONVI><MACSKCB>{THEIRS}</MACSKCB></THONGTINDONVI>".encode()
    decoy = f"<MACSKCB>{OURS}</MACSKCB>".encode()
    padding = b"<!--" + b" x" * 40_000 + b"-->"  # 80 KB: the facility comes after the first 64 KB
    return {
        "comment first": decl + b"<!-- " + decoy + b" -->\n<GIAMDINHHS><!-- " + decoy + b" -->" + real + rest,
        "CDATA copy first": decl + b"<GIAMDINHHS><GHICHU><![CDATA[" + decoy + b"]]></GHICHU>" + real + rest,
        "processing instruction": decl + b"<GIAMDINHHS><?ghichu " + decoy + b" ?>" + real + rest,
        "facility only after 64 KB": decl + b"<GIAMDINHHS>" + padding + real + b"<!-- " + decoy + b" -->" + rest,
        "namespaced prefix": (
            decl
            + b'<h:GIAMDINHHS xmlns:h="urn:giamdinh"><h:THONGTINDONVI><h:MACSKCB >'
            + THEIRS.encode()
            + b"</h:MACSKCB></h:THONGTINDONVI><!-- "
            + decoy
            + b" -->"
            + rest.replace(b"</GIAMDINHHS>", b"</h:GIAMDINHHS>")
        ),
    }


# --------------------------------------------------------------------------- the reading itself (no stack)


def test_the_gateway_reads_the_facility_the_claims_service_reads() -> None:
    for name, data in tricks(seed=1).items():
        assert read_head(data).facility == THEIRS, name
        assert open_claim_file(io.BytesIO(data)).header.facility == THEIRS, name
    # A DTD is refused unread by both, and a facility past the head limit is not guessed at.
    dtd = b'<?xml version="1.0"?><!DOCTYPE GIAMDINHHS [<!ENTITY f "91T10">]><GIAMDINHHS>' + claim_file(THEIRS, 2)[60:]
    assert read_head(dtd).facility is None and read_head(dtd).problem == "dtd"
    with pytest.raises(FileRejected):
        open_claim_file(io.BytesIO(dtd))
    far = b"<GIAMDINHHS><!--" + b"x" * HEAD_LIMIT + b"--><THONGTINDONVI><MACSKCB>91T10</MACSKCB></THONGTINDONVI>"
    assert read_head(far).problem == "too_far"
    # Millions of tiny elements before the facility cost the gateway a bounded amount of work, then it gives up.
    junk = b"<GIAMDINHHS>" + b"<a/>" * 2_000_000 + b"<THONGTINDONVI><MACSKCB>91T10</MACSKCB></THONGTINDONVI>"
    assert read_head(junk).problem == "junk"
    assert read_head(REAL.read_bytes()).facility == "20003"


def test_the_gateway_forgives_the_prolog_quirks_the_service_forgives() -> None:
    """Real exports with a lying encoding declaration, a blank line before '<?xml' or a BOM are read by the claims
    service (with a format note); a uploader bound to a unit must not be refused them as unreadable."""
    for sample in sorted(REAL.parent.glob("real_*.xml")):
        body = sample.read_bytes().removeprefix(b"\xef\xbb\xbf")
        without_decl = body.split(b"?>", 1)[1] if body.startswith(b"<?xml") else body
        variants = {
            "as sent": body,
            "utf-16 declared over UTF-8": b'<?xml version="1.0" encoding="utf-16"?>\r\n' + without_decl,
            "windows-1258 declared over UTF-8": b'<?xml version="1.0" encoding="windows-1258"?>' + without_decl,
            "blank lines first": b"\r\n\r\n" + body,
            "BOM and a space first": b"\xef\xbb\xbf " + body,
        }
        for name, data in variants.items():
            service = open_claim_file(io.BytesIO(data)).header.facility
            # Fed as a slow network would: a few bytes at a time, the prolog cut anywhere.
            reader = HeadReader()
            head = None
            for i in range(0, len(data), 7):
                if head := reader.feed(data[i : i + 7]):
                    break
            head = head or reader.close()
            assert head.facility == service == read_head(data).facility, (sample.name, name, head)


def test_the_claims_service_fails_a_file_whose_envelope_is_not_the_authorised_facility(tmp_path: Path) -> None:
    """The backstop: whatever the gateway read, the envelope as the service parses it decides; a file authorised
    for OURS that names THEIRS is failed whole with a named reason, and no claim is counted."""
    url = f"sqlite:///{tmp_path / 'claims.db'}"
    upgrade("claims", url)
    engine = make_engine(url)
    factory = sessionmaker(engine, expire_on_commit=False)
    store = FilesystemBlobStore(tmp_path / "blobs")
    try:
        ids = {}
        for authorised, seed in ((OURS, 3), (THEIRS, 4)):
            blob = store.put(io.BytesIO(claim_file(THEIRS, seed)))
            with ClaimsUnitOfWork(factory) as uow:
                ids[authorised] = register(uow, blob, "t", authorised)["id"]
            Intake(factory, store).process(ids[authorised])
        with transaction(factory) as s:
            refused = s.get(ClaimFile, ids[OURS])
            assert (refused.status, refused.error_code, refused.accepted) == ("failed", "envelope_facility_mismatch", 0)
            assert refused.facility_code == OURS  # still visible to the unit it was sent for, with its reason
            assert s.scalar(select(func.count()).select_from(Claim).where(Claim.file_id == ids[OURS])) == 0
            done = s.get(ClaimFile, ids[THEIRS])
            assert (done.status, done.accepted) == ("done", 3)
        from services.claims import views

        with transaction(factory) as s:
            message = views.file_status(s, ids[OURS])["errors"][0]["message"]
        assert "91T11" in message and "không hồ sơ nào được tính" in message
    finally:
        engine.dispose()


def test_the_sweep_deletes_only_what_has_expired(any_db_url: str, tmp_path: Path) -> None:
    """The rules of services/claims/blobsweep.py on SQLite and PostgreSQL: failed files' bytes after the stated
    time from their failure, unregistered bytes and cut uploads after it from when they were written; never the
    bytes of a file processing or done."""
    from datetime import timedelta

    from services.claims import blobsweep
    from services.common.outbox import utcnow

    upgrade("claims", any_db_url)
    engine = make_engine(any_db_url)
    factory = sessionmaker(engine, expire_on_commit=False)
    store = FilesystemBlobStore(tmp_path / "blobs")
    try:
        names = {}
        for kind in ("failed_old", "failed_new", "done", "processing"):
            blob = store.put(io.BytesIO(kind.encode() * 100))
            names[kind] = blob.name
            with ClaimsUnitOfWork(factory) as uow:
                file_id = register(uow, blob, "t")["id"]
                f = uow.session.get(ClaimFile, file_id)
                if kind.startswith("failed"):
                    f.status = "failed"
                    f.finished_at = utcnow() - timedelta(hours=30 if kind == "failed_old" else 1)
                elif kind == "done":
                    f.status = "done"
                    f.finished_at = utcnow() - timedelta(days=400)
        old = time.time() - 30 * 3600
        for path in (store.root / n for n in names.values()):
            os.utime(path, (old, old))  # every blob was written long ago: only the rules decide
        orphan_old, orphan_new = store.put(io.BytesIO(b"orphan old")), store.put(io.BytesIO(b"orphan new"))
        os.utime(store.root / orphan_old.name, (old, old))
        part_old, part_new = store.tmp / "a.part", store.tmp / "b.part"
        part_old.write_bytes(b"cut"), part_new.write_bytes(b"cut")
        os.utime(part_old, (old, old))
        removed = blobsweep.sweep(factory, store, ttl=24 * 3600)
        assert removed == {"failed": 1, "orphan": 1, "partial": 1}
        left = {p.name for p in store.root.iterdir() if p.is_file()}
        assert left == {names["failed_new"], names["done"], names["processing"], orphan_new.name}
        assert not part_old.exists() and part_new.exists()
        assert blobsweep.sweep(factory, store, ttl=24 * 3600) == {"failed": 0, "orphan": 0, "partial": 0}
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- on the running system


@pytest.fixture(scope="module")
def trust_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with rabbit_vhost() as uri:
        stack = Stack(tmp_path_factory.mktemp("trust"), uri)
        stack.env.update(
            YTCS_MAX_CLAIM_FILE_MB=str(LIMIT_MB), YTCS_FAILED_BLOB_TTL_SECONDS="4", YTCS_BLOB_SWEEP_SECONDS="1"
        )
        try:
            stack.start(timeout=180)
            admin = stack.token("admin")
            for code, commune in COMMUNES.items():
                r = requests.post(
                    stack.url + "/api/v1/facilities",
                    headers={"Authorization": f"Bearer {admin}"},
                    json={"code": code, "name": f"Trạm thử {code}", "unit": commune},
                    timeout=30,
                )
                assert r.status_code == 201, r.text
            for name, role, unit in (("trust-bhxh", "bhxh", None), ("trust-bhxh-910", "bhxh", "910")):
                args = ["user", "create", "--username", name, "--role", role] + (["--unit", unit] if unit else [])
                stack.ytcs(*args, stdin=PASSWORD + "\n")
            yield stack
        finally:
            stack.stop()


@pytest.fixture(scope="module")
def tokens(trust_stack: Stack) -> dict[str, str]:
    return {"admin": trust_stack.token("admin"), "bhxh910": trust_stack.token("bhxh", "910")}


def _h(token: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **extra}


def send(stack: Stack, token: str, data: bytes, **headers: str) -> requests.Response:
    return requests.post(
        stack.url + "/api/v1/claims/files",
        data=data,
        headers=_h(token, **{"Content-Type": "application/xml", **headers}),
        timeout=120,
    )


def wait_done(stack: Stack, token: str, file_id: int) -> dict:
    deadline = time.monotonic() + 90
    while True:
        st = requests.get(stack.url + f"/api/v1/claims/files/{file_id}", headers=_h(token), timeout=30).json()
        if st["status"] != "processing":
            return st
        assert time.monotonic() < deadline, st
        time.sleep(0.3)


def blobs(stack: Stack) -> set[str]:
    return {p.name for p in (stack.var / "blobs").iterdir() if p.is_file()}


def known_shas(stack: Stack, token: str) -> set[str]:
    r = requests.get(stack.url + "/api/v1/claims/files", headers=_h(token), params={"per_page": 500}, timeout=30)
    return {f["sha256"] for f in r.json()["items"]}


class Browser:
    def __init__(self, stack: Stack, username: str) -> None:
        self.url = stack.url
        self.http = requests.Session()
        self.http.headers.update(HTML)
        page = self.http.get(self.url + "/login", timeout=30)
        token = CSRF.search(page.text).group(1)
        r = self.http.post(
            self.url + "/login",
            data={"username": username, "password": PASSWORD, "next": "/", "csrf_token": token},
            allow_redirects=False,
            timeout=30,
        )
        assert r.status_code == 303, r.text

    def upload(self, data: bytes, name: str = "hoso.xml") -> requests.Response:
        token = CSRF.search(self.http.get(self.url + "/claims", timeout=30).text).group(1)
        return self.http.post(
            self.url + "/claims/files",
            data={"csrf_token": token},
            files={"file": (name, data, "application/xml")},
            allow_redirects=False,
            timeout=120,
        )


def test_a_district_uploader_cannot_put_claims_into_another_districts_facility(trust_stack, tokens) -> None:
    admin, district = tokens["admin"], tokens["bhxh910"]
    page = Browser(trust_stack, "trust-bhxh-910")
    for n, (name, data) in enumerate(tricks(seed=10).items()):
        r = send(trust_stack, district, data)
        assert r.status_code == 403, (name, r.status_code, r.text[:300])
        assert r.json()["errors"][0]["code"] == "facility_forbidden", name
        assert "91T11" in r.json()["errors"][0]["message"], name
        # Refused before storing: the bytes are not on disk and no file was registered.
        sha = hashlib.sha256(data).hexdigest()
        assert sha not in blobs(trust_stack) and sha not in known_shas(trust_stack, admin), name
        if n < 2:  # the page refuses it the same way, in a Vietnamese page
            r = page.upload(data)
            assert r.status_code == 403 and r.headers["Content-Type"].startswith("text/html"), name
            assert "không thuộc phạm vi được giao" in r.text, name
    # The district's own facility, even named only after the first 64 KB, is taken and counted.
    own = claim_file(OURS, seed=11)
    head = _ENVELOPE_HEAD.search(own)
    late = own[: head.start()] + b"<GIAMDINHHS><!--" + b" x" * 40_000 + b"-->" + own[head.start() :].split(b">", 1)[1]
    r = send(trust_stack, district, late)
    assert r.status_code == 202, r.text
    st = wait_done(trust_stack, district, r.json()["id"])
    assert (st["status"], st["records"]["accepted"]) == ("done", 3)
    # Nothing at all was counted for the other district's facility.
    claims = requests.get(
        trust_stack.url + "/api/v1/claims", headers=_h(admin), params={"facility": THEIRS}, timeout=30
    )
    assert claims.status_code == 200 and claims.json()["total"] == 0
    # A file whose facility cannot be read in its head is not taken from a district uploader either.
    r = send(trust_stack, district, b"\x00\x01 not xml at all " * 1000)
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "facility_unreadable"


def test_the_upload_page_takes_a_real_hospital_file_and_refuses_in_vietnamese(trust_stack, tokens) -> None:
    data = REAL.read_bytes()
    assert len(data) > 1_500_000  # the 1.7 MB inpatient sample
    page = Browser(trust_stack, "trust-bhxh")
    assert f"tối đa {LIMIT_MB} MB" in page.http.get(trust_stack.url + "/claims", timeout=30).text
    r = page.upload(data, "real_20003_inpatient_base64.xml")
    assert r.status_code == 303, (r.status_code, r.text[:500])
    file_id = int(r.headers["Location"].rsplit("/", 1)[1])
    st = wait_done(trust_stack, tokens["admin"], file_id)
    assert (st["status"], st["facility_code"], st["records"]["total"]) == ("done", "20003", 1)
    assert hashlib.sha256(data).hexdigest() == st["sha256"]
    # The other real 20003 export (162 KB, tables as plain XML), as the issue found it refused too.
    r = page.upload((DATA / "real_20003_inpatient_plain_tables.xml").read_bytes(), "real_20003_plain.xml")
    assert r.status_code == 303, (r.status_code, r.text[:500])
    st = wait_done(trust_stack, tokens["admin"], int(r.headers["Location"].rsplit("/", 1)[1]))
    assert (st["status"], st["facility_code"], st["records"]["total"]) == ("done", "20003", 1)
    # Larger than the page promises: a Vietnamese page saying so, never raw JSON, and nothing kept.
    before = blobs(trust_stack)
    big = b"<GIAMDINHHS>" + os.urandom(1024) * (LIMIT_MB * 1024 + 10)
    r = page.upload(big)
    assert r.status_code == 413 and r.headers["Content-Type"].startswith("text/html"), r.text[:300]
    assert f"vượt quá giới hạn {LIMIT_MB} MB" in r.text and "payload_too_large" not in r.text
    assert blobs(trust_stack) == before
    # A form without a file, and one without its CSRF token: Vietnamese pages too.
    token = CSRF.search(page.http.get(trust_stack.url + "/claims", timeout=30).text).group(1)
    r = page.http.post(trust_stack.url + "/claims/files", files={"csrf_token": (None, token)}, timeout=30)
    assert r.status_code == 422 and "Vui lòng chọn tệp hồ sơ XML" in r.text
    # A program (no Accept: text/html) gets the API's JSON error shape, as from every page.
    token = CSRF.search(page.http.get(trust_stack.url + "/claims", timeout=30).text).group(1)
    r = page.http.post(
        trust_stack.url + "/claims/files",
        files={"csrf_token": (None, token)},
        headers={"Accept": "application/json"},
        timeout=30,
    )
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "required"
    r = page.http.post(trust_stack.url + "/claims/files", files={"file": ("a.xml", b"<x/>")}, timeout=30)
    assert r.status_code in (400, 403) and r.headers["Content-Type"].startswith("text/html") and "CSRF" in r.text


def test_an_idempotency_key_reused_with_another_file_is_refused(trust_stack, tokens) -> None:
    admin = tokens["admin"]
    key = uuid.uuid4().hex
    first, second = claim_file(OURS, seed=21), claim_file(OURS, seed=22)
    r1 = send(trust_stack, admin, first, **{"Idempotency-Key": key})
    assert r1.status_code == 202, r1.text
    again = send(trust_stack, admin, first, **{"Idempotency-Key": key})
    assert again.status_code == 202 and again.json()["id"] == r1.json()["id"]
    assert again.headers.get("Idempotent-Replay") == "true"
    other = send(trust_stack, admin, second, **{"Idempotency-Key": key})
    assert other.status_code == 422, other.text
    assert other.json()["errors"][0]["code"] == "idempotency_key_reused"
    assert hashlib.sha256(second).hexdigest() not in known_shas(trust_stack, admin)  # dropped, and said so


def test_refused_uploads_bytes_expire(trust_stack, tokens) -> None:
    """50 MB of garbage is stored (an unscoped uploader), failed as not XML, and its bytes are gone after the stated
    time; so are bytes stored but never registered. The file row and its reason stay."""
    admin = tokens["admin"]
    garbage = os.urandom(1024 * 1024) * 50
    r = send(trust_stack, admin, garbage)
    assert r.status_code == 202, r.text
    st = wait_done(trust_stack, admin, r.json()["id"])
    assert st["status"] == "failed" and "xml_malformed" in st["errors_by_code"]
    sha = hashlib.sha256(garbage).hexdigest()
    orphan = trust_stack.var / "blobs" / ("ab" * 32)  # bytes no file row points to
    orphan.write_bytes(b"left behind")
    deadline = time.monotonic() + 30
    while sha in blobs(trust_stack) or orphan.exists():
        assert time.monotonic() < deadline, "failed and orphan blobs were not expired"
        time.sleep(0.5)
    kept = requests.get(trust_stack.url + f"/api/v1/claims/files/{st['id']}", headers=_h(admin), timeout=30).json()
    assert kept["status"] == "failed" and kept["errors"][0]["code"] == "xml_malformed"
    # Blobs of files that were processed are kept.
    done = [f for f in requests.get(trust_stack.url + "/api/v1/claims/files", headers=_h(admin), timeout=30).json()[
        "items"] if f["status"] == "done"]
    assert done and all(f["sha256"] in blobs(trust_stack) for f in done)
