"""Issue 13, finding 2: health data (claims one by one, card and diagnosis look-ups, record-by-record errors) only
for `admin` and `bhxh`; `finance` and `viewer` read aggregates. The matrix is read from docs/security.md
("Health data: who reads what") and every row is walked for every role on the running system, so the document
cannot drift from what the system does."""

from __future__ import annotations

import io
import re
import time
import zipfile
from pathlib import Path

import pytest
import requests

from services.devtools import claims_generator as generator
from tests.support.infra import Stack

DOC = Path(__file__).resolve().parents[2] / "docs" / "security.md"
ROLES = ("admin", "bhxh", "finance", "viewer")
FACILITY, PERIOD = "91H13", "2024-Q3"  # no other security test sends claims for it
ROW = re.compile(r"^\| (?P<what>[^|]+) \| `GET (?P<path>[^`]+)` \| (?P<cells>[^\n]+) \|$")


def matrix() -> list[tuple[str, str, dict[str, str]]]:
    text = DOC.read_text(encoding="utf-8")
    section = text.split("### Health data: who reads what", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        m = ROW.match(line)
        if m:
            cells = [c.strip() for c in m["cells"].split("|")]
            assert len(cells) == len(ROLES) and set(cells) <= {"health", "403", "aggregate"}, line
            rows.append((m["what"], m["path"], dict(zip(ROLES, cells, strict=True))))
    return rows


def test_the_matrix_in_the_document_covers_the_health_data_endpoints() -> None:
    paths = {path.split("?")[0] for _what, path, _cells in matrix()}
    assert {
        "/api/v1/claims",
        "/api/v1/claims/records/{facility}/{ma_lk}",
        "/api/v1/claims/files/{file_id}",
        "/api/v1/claims/files/{file_id}/errors.csv",
        "/api/v1/claims/files/{file_id}/errors.xlsx",
        "/claims/records",
        "/claims/files/{file_id}",
    } <= paths
    for what, path, cells in matrix():
        if path.startswith("/api/v1/claims?") or "/records" in path or "errors." in path:
            assert cells == {"admin": "health", "bhxh": "health", "finance": "403", "viewer": "403"}, what


def _text(r: requests.Response) -> str:
    """What an answer says, an Excel workbook included (its sheets and shared strings)."""
    if r.headers.get("Content-Type", "").startswith("application/vnd.openxmlformats"):
        with zipfile.ZipFile(io.BytesIO(r.content)) as book:
            return "".join(book.read(n).decode("utf-8", "replace") for n in book.namelist() if n.endswith(".xml"))
    return r.text


@pytest.fixture(scope="module")
def claims_file(sec_stack: Stack, sec_tokens: dict[str, str]) -> dict[str, str]:
    """A file of FACILITY with record-by-record errors, processed; the values a health answer would show."""
    buf = io.BytesIO()
    generator.generate(
        buf, facility=FACILITY, records=8, year=2024, months=[7, 8, 9], seed=1313, faults={"icd10_invalid": 1}
    )
    bhxh = {"Authorization": f"Bearer {sec_tokens['bhxh']}"}
    r = requests.post(
        sec_stack.url + "/api/v1/claims/files",
        data=buf.getvalue(),
        headers={**bhxh, "Content-Type": "application/xml"},
        timeout=60,
    )
    assert r.status_code == 202, r.text
    file_id = r.json()["id"]
    deadline = time.monotonic() + 90
    while (st := requests.get(sec_stack.url + f"/api/v1/claims/files/{file_id}", headers=bhxh, timeout=30).json())[
        "status"
    ] == "processing":
        assert time.monotonic() < deadline
        time.sleep(0.3)
    assert st["status"] == "done" and any(e["ma_lk"] for e in st["errors"]), st
    items = requests.get(
        sec_stack.url + "/api/v1/claims", headers=bhxh, params={"facility": FACILITY, "per_page": 100}, timeout=30
    ).json()["items"]
    first = next(c for c in items if c["status"] == "accepted")
    return {
        "file_id": str(file_id),
        "facility": FACILITY,
        "period": PERIOD,
        "ma_lk": first["ma_lk"],
        "card": first["ma_the_bhyt"].split(";")[0],
        "diagnosis": first["ma_benh_chinh"],
        "all_ma_lk": "|".join(c["ma_lk"] for c in items),
    }


def test_the_health_data_matrix_holds_for_every_role(sec_stack: Stack, sec_tokens: dict[str, str], claims_file) -> None:
    rows = matrix()
    assert len(rows) >= 10
    ma_lks = claims_file["all_ma_lk"].split("|")
    walked = 0
    for what, path, cells in rows:
        url = sec_stack.url + path.format(**claims_file)
        for role in ROLES:
            r = requests.get(url, headers={"Authorization": f"Bearer {sec_tokens[role]}"}, timeout=60)
            expected, where = cells[role], f"{what} [{role}]"
            if expected == "403":
                assert r.status_code == 403, (where, r.status_code, r.text[:200])
                body = r.json()
                assert body["errors"][0]["code"] == "forbidden" and body["errors"][0]["message"], where
                assert not any(m in r.text for m in ma_lks), where
                continue
            assert r.status_code == 200, (where, r.status_code, r.text[:300])
            text = _text(r)
            seen = [m for m in ma_lks if m in text]
            if expected == "health":
                assert seen, f"{where}: no claim of the file in the answer"
            else:
                assert seen == [], f"{where}: per-claim data {seen[:3]} in an aggregate answer"
                assert claims_file["card"] not in text, where
            walked += 1
    assert walked >= len(rows) * 2


def test_aggregates_stay_whole_for_roles_without_health_data(sec_stack, sec_tokens, claims_file) -> None:
    """The counts a finance officer or a viewer reads are the same as BHXH's: only per-claim detail is withheld."""
    path = f"/api/v1/claims/files/{claims_file['file_id']}"
    answers = {
        role: requests.get(sec_stack.url + path, headers={"Authorization": f"Bearer {sec_tokens[role]}"}, timeout=30)
        .json()
        for role in ROLES
    }
    for role in ("finance", "viewer"):
        a = answers[role]
        assert a["records"] == answers["bhxh"]["records"] and a["errors_by_code"] == answers["bhxh"]["errors_by_code"]
        assert a["errors"] == [] and a["errors_withheld"] == len(answers["bhxh"]["errors"]) > 0
    rec = {
        role: requests.get(
            sec_stack.url + "/api/v1/reconciliation",
            params={"facility": FACILITY, "period": PERIOD},
            headers={"Authorization": f"Bearer {sec_tokens[role]}"},
            timeout=30,
        ).json()
        for role in ROLES
    }
    assert rec["finance"]["claims"] == rec["viewer"]["claims"] == rec["bhxh"]["claims"]
    assert int(rec["bhxh"]["claims"]["count"]) > 0
