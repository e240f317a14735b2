"""Real-format claim files through the running system (gateway → blob store → claims service over RabbitMQ): the
repairs the reader made are in the file's status, its errors CSV, its page and the claims service's metrics; the
real samples give their verdicts (issue 14)."""

from __future__ import annotations

import csv
import io

import pytest
import requests

from tests.e2e.test_claims_api import auth, send
from tests.e2e.test_web_pages import PASSWORD, Browser
from tests.integration.claims.test_real_format_intake import hospital_file
from tests.unit.claims.test_real_format import DAMAGED, PLAIN


@pytest.fixture(scope="module")
def tokens(stack):
    return {role: stack.token(role) for role in ("bhxh", "viewer")}


def test_format_notes_in_the_api_csv_page_and_metrics(stack, tokens):
    st = send(stack, tokens["bhxh"], hospital_file(3))
    assert st["status"] == "done" and st["records"]["accepted"] == 3, st["errors"]
    notes = {(n["kind"], n["table"]): n for n in st["format_notes"]}
    assert set(notes) == {
        ("namespace_invalid", None), ("encoding_declared_wrong", "XML1"), ("table_plain_xml", "XML4"),
        ("table_empty", "XML6"),
        *{("namespace_invalid", t) for t in ("XML1", "XML2", "XML3", "XML5", "XML7")},
    }
    assert all(n["records"] == 3 for n in notes.values())
    assert "XMLSchema-instance" in notes[("namespace_invalid", None)]["message"]  # says what to write instead
    assert notes[("namespace_invalid", None)]["message"].startswith("Tệp (GIAMDINHHS): khai báo namespace")

    r = requests.get(stack.url + f"/api/v1/claims/files/{st['id']}/errors.csv", headers=auth(tokens["bhxh"]))
    assert r.status_code == 200
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    noted = [row for row in rows if row["Mức độ"] == "Ghi chú định dạng"]
    assert {(row["Mã lỗi"], row["Bảng"]) for row in noted} == {(k, t or "") for k, t in notes}
    assert len(rows) == len(noted) + st["errors_total"]  # notes first, then every error

    stack.ytcs("user", "create", "--username", "fmt-bhxh", "--role", "bhxh", stdin=PASSWORD + "\n")
    browser = Browser(stack.url)
    browser.login("fmt-bhxh")
    page = browser.get(f"/claims/files/{st['id']}").text
    section = page.split('id="format-notes"', 1)[1].split("</section>", 1)[0]
    assert "Ghi chú định dạng" in section and "table_plain_xml" in section and "encoding_declared_wrong" in section

    intake_port = int(stack.env["CLAIMS_METRICS_PORT"]) + 2  # the intake worker, CLAIMS_INTAKE_METRICS_PORT
    metrics = requests.get(f"http://127.0.0.1:{intake_port}/metrics", timeout=10).text
    assert 'ytcs_claims_format_notes_total{kind="namespace_invalid",table="GIAMDINHHS"}' in metrics
    assert 'ytcs_claims_format_notes_total{kind="table_plain_xml",table="XML4"}' in metrics


def test_real_samples_verdicts_through_the_system(stack, tokens):
    plain = send(stack, tokens["bhxh"], PLAIN.read_bytes())
    assert plain["records"] == {**plain["records"], "total": 1, "accepted": 1, "rejected": 0}, plain["errors"]
    assert {(n["kind"], n["table"]) for n in plain["format_notes"]} >= {("table_plain_xml", "XML1"),
                                                                        ("table_empty", "XML8")}
    damaged = send(stack, tokens["bhxh"], DAMAGED.read_bytes())
    assert damaged["status"] == "done" and damaged["records"]["rejected"] == 1
    unreadable = {e["table"]: e["message"] for e in damaged["errors"] if e["code"] == "record_unreadable"}
    assert set(unreadable) == {"XML1", "XML2"}
    assert "base64" in unreadable["XML2"] and "MATIXH_CU_TRU" in unreadable["XML1"]
    assert {e["ma_lk"] for e in damaged["errors"]} == {"ER26000392"}  # the visit, from the table left intact
    assert not any("namespace" in m or "URI" in m for m in unreadable.values())

    # BHXH looks the visit up: the damaged record is there, rejected at intake and linked to its file's errors,
    # with nothing to assess and no empty field printed as "None".
    stack.ytcs("user", "create", "--username", "real-bhxh", "--role", "bhxh", stdin=PASSWORD + "\n")
    browser = Browser(stack.url)
    browser.login("real-bhxh")
    page = browser.get("/claims/records", params={"facility": "94170", "ma_lk": "ER26000392"}).text
    table = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    assert "<code>ER26000392</code>" in table and "None" not in table
    assert f'href="/claims/files/{damaged["id"]}"' in table and "từ chối khi tiếp nhận" in table
    assert "chờ" not in table and 'name="approved__' not in table and 'name="reason__' not in table
    assert 'id="save-assessment"' not in page  # no button for a list with nothing to assess
