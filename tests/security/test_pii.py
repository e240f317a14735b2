"""Personal data never leaks: after a day's work on a claim file whose personal values are unique markers, none
of them is in the processes' logs, in any `/metrics` output, in the files under the data folder (blobs and
databases excepted: that is where they belong), nor in any answer or error message a viewer or finance
caller gets (docs/contract.md "Access": only admin and bhxh see personal data).

    .venv/bin/pytest -q -p no:cacheprovider tests/security/test_pii.py
"""

from __future__ import annotations

import base64
import io
import re
import time
import zipfile
from typing import Any

import pytest
import requests

from services.devtools import claims_generator as generator
from tests.security.test_injection import PATH_DEFAULTS, SPEC
from tests.support.infra import Stack

pytestmark = [pytest.mark.slow, pytest.mark.rabbit, pytest.mark.postgres]

FACILITY = "91060"
RECORDS = 40
BAD_CARDS = (3, 17)  # records whose card is malformed: its error message must not carry the number either


def _markers(i: int, card: str) -> dict[str, str]:
    """Personal values of record i: shaped as the standard wants, and found nowhere else in the system."""
    return {
        "HO_TEN": f"Zyxwname Thị {i:03d}",
        "SO_CCCD": f"091973{i:06d}",
        "MA_THE_BHYT": (f"GD091739{i:07d}" if i in BAD_CARDS else card[:5] + f"739{i:07d}"),
        "MA_BN": f"ZYXWBN{i:04d}",
        "DIA_CHI": f"Ấp Zyxwaddr {i}, xã Vĩnh Bình Bắc",
        "DIEN_THOAI": f"0919{i:06d}",
    }


def marked_file() -> tuple[bytes, list[str]]:
    """A generated file with each XML1's personal fields replaced by markers; the markers to look for."""
    buf = io.BytesIO()
    generator.generate(buf, facility=FACILITY, records=RECORDS, year=2024, months=[7, 8, 9], seed=31)
    data = buf.getvalue().decode()
    found: list[str] = []
    index = 0

    def patch(m: re.Match[str]) -> str:
        nonlocal index
        inner = base64.b64decode(m.group(2)).decode()
        if "<TONG_HOP>" not in inner:
            return m.group(0)
        card = re.search(r"<MA_THE_BHYT>([^<]*)</MA_THE_BHYT>", inner)
        values = _markers(index, card.group(1) if card else "GD491")
        index += 1
        for tag, value in values.items():
            inner, n = re.subn(rf"<{tag}>[^<]*</{tag}>|<{tag}/>", f"<{tag}>{value}</{tag}>", inner)
            assert n == 1, tag
            found.append(value)
        return m.group(1) + base64.b64encode(inner.encode()).decode() + m.group(3)

    data = re.sub(r"(<NOIDUNGFILE>)([^<]+)(</NOIDUNGFILE>)", patch, data)
    assert index == RECORDS
    # Distinctive fragments too: a half-masked value ("Zyxwname T***") would still be a leak.
    return data.encode(), [*found, "Zyxwname", "ZYXWBN", "Zyxwaddr", "091973"]


def _found(marker: str, body: str) -> bool:
    """A marker in a body. One of digits only (a CCCD, or its first six digits) counts where it starts a number,
    not inside one: the metrics' floats ("…_sum 12.0919731") hold any run of digits sooner or later, and a leaked
    CCCD, masked or not, starts after a quote, a space or a colon."""
    if marker.isdigit():
        return re.search(rf"(?<![0-9.]){marker}", body) is not None
    return marker in body


def _h(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _texts_of(r: requests.Response) -> str:
    """An answer as text; a workbook's sheets and strings read from inside the zip."""
    if r.content[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(r.content)) as z:
            return "\n".join(z.read(n).decode("utf-8", "replace") for n in z.namelist() if n.endswith(".xml"))
    return r.text


def _day_of_work(stack: Stack, tokens: dict[str, str], data: bytes) -> dict[str, Any]:
    admin, bhxh, finance = tokens["admin"], tokens["bhxh"], tokens["finance"]
    requests.post(stack.url + "/api/v1/facilities", headers=_h(admin), timeout=30,
                  json={"code": FACILITY, "name": "Trạm Y tế xã Vĩnh Bình", "unit": "31064", "kind": "station"})
    r = requests.post(stack.url + "/api/v1/claims/files", data=data, timeout=60,
                      headers={**_h(bhxh), "Content-Type": "application/xml"})
    assert r.status_code == 202, r.text
    file_id = r.json()["id"]
    deadline = time.monotonic() + 120
    while True:
        st = requests.get(stack.url + f"/api/v1/claims/files/{file_id}", headers=_h(bhxh), timeout=30).json()
        if st["status"] != "processing":
            break
        assert time.monotonic() < deadline, st
        time.sleep(0.5)
    assert st["status"] == "done" and st["records"]["rejected"] >= len(BAD_CARDS), st
    claims = requests.get(stack.url + "/api/v1/claims", params={"facility": FACILITY, "period": "2024-Q3"},
                          headers=_h(bhxh), timeout=30).json()["items"]
    assert claims and all("Zyxwname" in c["ho_ten"] for c in claims)  # bhxh sees them: the markers are there
    claims = [c for c in claims if c["status"] == "accepted"]
    reasons = requests.get(stack.url + "/api/v1/claims/reasons", headers=_h(bhxh), timeout=30).json()
    reason = (reasons.get("items", reasons) if isinstance(reasons, dict) else reasons)[0]["code"]
    items = [{"ma_lk": c["ma_lk"], "approved_amount": c["t_bhtt"]} for c in claims[:3]]
    items.append({"ma_lk": claims[3]["ma_lk"], "approved_amount": "0", "reason_code": reason})
    r = requests.post(stack.url + "/api/v1/claims/assessments", headers=_h(bhxh), timeout=30,
                      json={"facility_code": FACILITY, "items": items})
    assert r.status_code == 201, r.text
    r = requests.post(stack.url + "/api/v1/capitation/funds", headers=_h(finance), timeout=30, json={
        "facility_code": FACILITY, "period": "2024-Q3", "cards": 1200, "rate_per_card": 30000, "coefficient": "1.0"})
    assert r.status_code == 201, r.text
    # A refused request that names personal values: its error message must not repeat them to the caller.
    requests.get(stack.url + "/api/v1/claims", headers=_h(tokens["viewer"]), timeout=30,
                 params={"card": claims[0]["ma_the_bhyt"], "facility": FACILITY, "period": "2024-13"})
    return {"file_id": file_id, "ma_lk": claims[0]["ma_lk"]}


def _answers_for(stack: Stack, token: str, values: dict[str, str]) -> dict[str, str]:
    """Every GET of the OpenAPI document, as this caller, with our facility, file and claim where asked."""
    out = {}
    for path, item in SPEC["paths"].items():
        op = item.get("get")
        if op is None or path in ("/metrics", "/logout"):
            continue
        url, query = path, {}
        for p in op.get("parameters", []):
            value = values.get(p["name"], p.get("example", PATH_DEFAULTS.get(p["name"], "1")))
            if p["in"] == "path":
                url = url.replace("{" + p["name"] + "}", str(value))
            elif p["in"] == "query" and (p.get("required") or p["name"] in values):
                query[p["name"]] = value
        r = requests.get(stack.url + url, params=query, headers=_h(token), timeout=60, allow_redirects=False)
        assert r.status_code < 500, (path, r.status_code, r.text[:300])
        out[f"GET {url}"] = _texts_of(r)
    return out


def _var_files(stack: Stack) -> dict[str, str]:
    """Every file under the stack's data folder but the blob store (the uploads themselves) and databases."""
    out = {}
    for p in stack.var.rglob("*"):
        rel = p.relative_to(stack.var)
        if not p.is_file() or rel.parts[0] == "blobs" or ".db" in p.name:
            continue
        out[str(rel)] = p.read_bytes().decode("utf-8", "replace")
    return out


def test_no_personal_data_in_logs_metrics_or_answers_for_others(sec_stack: Stack, sec_tokens: dict[str, str]) -> None:
    data, markers = marked_file()
    work = _day_of_work(sec_stack, sec_tokens, data)
    values = {"facility": FACILITY, "period": "2024-Q3", "file_id": str(work["file_id"]), "ma_lk": work["ma_lk"],
              "code": "31060", "year": "2024", "unit": "910"}
    places: dict[str, str] = {}
    for role in ("viewer", "finance", "viewer910"):
        for where, body in _answers_for(sec_stack, sec_tokens[role], values).items():
            places[f"{role} {where}"] = body
    places["gateway /metrics"] = requests.get(sec_stack.url + "/metrics", timeout=30).text
    for service in ("FINANCE", "CLAIMS", "INVESTMENT"):
        port = sec_stack.env[f"{service}_METRICS_PORT"]
        places[f"{service.lower()} /metrics"] = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=30).text
    for name, body in _var_files(sec_stack).items():
        places[f"file {name}"] = body
    assert "stack.log" in places.__repr__() and any("claims" in k for k in places)  # the logs were read
    leaks = [(where, m) for where, body in places.items() for m in markers if _found(m, body)]
    assert leaks == [], leaks[:20]
    # And the scan would have seen them: admin's answer for the same claim carries the markers.
    admin = requests.get(sec_stack.url + f"/api/v1/claims/records/{FACILITY}/{work['ma_lk']}",
                         headers=_h(sec_tokens["admin"]), timeout=30)
    assert "Zyxwname" in admin.text, admin.text[:300]
