"""A finance officer's and a BHXH officer's day of work, done by a client that knows the API only from
/api/v1/openapi.json: every call it makes is looked up in the document (path, method, query parameters,
body fields, required fields), every answer's status must be one the document lists, and every JSON answer
must fit the schema the document gives for it. Every POST carries an Idempotency-Key."""

from __future__ import annotations

import io
import time
import uuid
from decimal import Decimal
from typing import Any

import jsonschema
import pytest
import requests

from services.common import clock
from services.devtools import claims_generator as generator
from tests.support.facilities import fresh_facility

M = 1_000_000


class SpecClient:
    """Calls only what the OpenAPI document describes, and holds the answers to what it says."""

    def __init__(self, base: str, spec: dict[str, Any], token: str) -> None:
        self.base, self.spec = base, spec
        self.headers = {"Authorization": f"Bearer {token}"}

    def _resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            schema = self.spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
        return schema

    def _operation(self, method: str, path: str) -> dict[str, Any]:
        op = self.spec["paths"].get(path, {}).get(method.lower())
        assert op is not None, f"{method} {path} is not in openapi.json"
        return op

    def call(
        self,
        method: str,
        path: str,
        params: dict | None = None,
        body: Any = None,
        raw: bytes | None = None,
        content_type: str | None = None,
        **path_values: Any,
    ) -> requests.Response:
        op = self._operation(method, path)
        documented = {p["name"] for p in op.get("parameters", []) if p["in"] == "query"}
        assert set(params or {}) <= documented, (path, set(params or {}) - documented)
        headers = dict(self.headers)
        if method == "POST":
            headers["Idempotency-Key"] = uuid.uuid4().hex
        if body is not None:
            media = op["requestBody"]["content"]["application/json"]
            schema = self._resolve(media["schema"])
            assert set(body) <= set(schema.get("properties", {})), (path, set(body) - set(schema["properties"]))
            assert set(schema.get("required", [])) <= set(body), (path, set(schema["required"]) - set(body))
        if raw is not None:
            assert content_type in op["requestBody"]["content"], (path, content_type)
            headers["Content-Type"] = content_type
        url = self.base + path.format(**path_values)
        r = requests.request(method, url, params=params, json=body, data=raw, headers=headers, timeout=60)
        assert str(r.status_code) in op["responses"], (method, path, r.status_code, r.text[:500])
        media = op["responses"][str(r.status_code)].get("content", {}).get("application/json")
        if media is not None and r.headers.get("Content-Type", "").startswith("application/json"):
            validator = jsonschema.Draft202012Validator({**media["schema"], "components": self.spec["components"]})
            errors = [e.message for e in validator.iter_errors(r.json())]
            assert errors == [], (method, path, errors[:5])
        return r

    def ok(self, method: str, path: str, status: int = 200, **kwargs: Any) -> Any:
        r = self.call(method, path, **kwargs)
        assert r.status_code == status, (method, path, r.status_code, r.text[:800])
        return r.json() if r.headers.get("Content-Type", "").startswith("application/json") else r.content


@pytest.fixture(scope="module")
def spec(stack):
    return requests.get(stack.url + "/api/v1/openapi.json", timeout=30).json()


def _decision(year: int) -> dict[str, str]:
    return {"decision_no": f"{uuid.uuid4().hex[:6]}/QĐ-UBND", "decision_date": f"{year}-03-01"}


def test_a_finance_officers_day(stack, spec):
    api = SpecClient(stack.url, spec, stack.token("finance"))
    plans = api.ok("GET", "/api/v1/plans")["items"]
    province = next(p for p in plans if p["number"] == "158/KH-UBND")
    district = next(p for p in plans if p["parent_id"] == province["id"])
    items = api.ok("GET", "/api/v1/plans/{plan_id}/items", plan_id=district["id"])["items"]
    assert "II.5" in [i["code"] for i in items]
    stations = api.ok("GET", "/api/v1/stations", params={"unit": district["unit"]})["items"]
    assert len(stations) >= 8

    year = 2025
    before = api.ok(
        "GET",
        "/api/v1/plans/{plan_id}/items/{code}/funding",
        plan_id=province["id"],
        code="II.5",
        params={"year": year},
    )
    root = api.ok(
        "POST",
        "/api/v1/allocations",
        201,
        body={
            "plan_id": province["id"],
            "item_code": "II.5",
            "source": "provincial_budget",
            "fiscal_year": year,
            "recipient_unit": province["unit"],
            "amount": 900 * M,
            **_decision(year),
        },
    )
    sub = api.ok(
        "POST",
        "/api/v1/allocations",
        201,
        body={
            "parent_allocation_id": root["id"],
            "recipient_unit": district["unit"],
            "amount": 400 * M,
            **_decision(year),
        },
    )
    api.ok(
        "POST",
        "/api/v1/allocations/{allocation_id}/disbursements",
        201,
        allocation_id=sub["id"],
        body={"amount": 150 * M, "date": f"{year}-04-10", "reference": "UNC 77"},
    )
    api.ok(
        "POST",
        "/api/v1/allocations/{allocation_id}/adjustments",
        201,
        allocation_id=root["id"],
        body={"amount": -100 * M, **_decision(year)},
    )
    refused = api.call(
        "POST",
        "/api/v1/allocations/{allocation_id}/disbursements",
        allocation_id=sub["id"],
        body={"amount": 401 * M, "date": f"{year}-04-11", "reference": "UNC 78"},
    )
    assert refused.status_code == 422 and refused.json()["errors"][0]["code"] == "exceeds_allocation"

    today = api.ok("GET", "/api/v1/stations", params={"unit": district["unit"], "at": clock.today().isoformat()})
    station = today["items"][0]  # a station in force now (Vĩnh Thuận's communes merged on 01/7/2025)
    project = api.ok(
        "POST",
        "/api/v1/investment/projects",
        201,
        body={
            "station_code": station["code"],
            "kind": "renovation",
            "title": "Cải tạo Trạm Y tế",
            "estimated_cost": 600 * M,
            "plan_id": district["id"],
            "item_code": "II.5",
        },
    )
    api.ok(
        "POST",
        "/api/v1/investment/projects/{project_id}/capital",
        201,
        project_id=project["id"],
        body={"source": "ntp_nrd", "fiscal_year": year, "amount": 250 * M, **_decision(year)},
    )
    api.ok(
        "POST",
        "/api/v1/investment/projects/{project_id}/disbursements",
        201,
        project_id=project["id"],
        body={"source": "ntp_nrd", "amount": 50 * M, "date": f"{year}-08-01", "reference": "KB 9"},
    )

    after = api.ok(
        "GET",
        "/api/v1/plans/{plan_id}/items/{code}/funding",
        plan_id=province["id"],
        code="II.5",
        params={"year": year},
    )
    # 900 − 100 (the sub-allocation is the same money) + 250 of capital; paid 150 + 50.
    assert after["allocated"] - before["allocated"] == 1_050 * M
    assert after["disbursed"] - before["disbursed"] == 200 * M
    tree = api.ok("GET", "/api/v1/plans/{plan_id}/funding", plan_id=province["id"], params={"year": year})
    assert next(r for r in tree["items"] if r["code"] == "II.5")["allocated"] == after["allocated"]
    targets = api.ok("GET", "/api/v1/plans/{plan_id}/targets", plan_id=district["id"], params={"year": year})
    assert targets["items"]
    report = "/api/v1/plans/{plan_id}/report.xlsx"
    if report in spec["paths"]:  # the yearly workbook (web pages issue)
        api.ok("GET", report, plan_id=province["id"], params={"year": year})


def _claim_file(facility: str) -> bytes:
    buf = io.BytesIO()
    generator.generate(buf, facility=facility, records=6, year=2024, months=[7, 8, 9], seed=11)
    return buf.getvalue()


def test_a_bhxh_officers_day(stack, spec):
    admin = SpecClient(stack.url, spec, stack.token("admin"))
    facility = None
    for _ in range(20):  # a facility of this test's own, registered to a Vĩnh Thuận commune
        candidate = fresh_facility()
        r = admin.call("POST", "/api/v1/facilities", body={"code": candidate, "name": "Trạm Y tế xã", "unit": "31051"})
        if r.status_code == 201:
            facility = candidate
            break
    assert facility is not None
    finance = SpecClient(stack.url, spec, stack.token("finance", "910"))
    api = SpecClient(stack.url, spec, stack.token("bhxh", "910"))
    period = "2024-Q3"
    fund = finance.ok(
        "POST",
        "/api/v1/capitation/funds",
        201,
        body={
            "facility_code": facility,
            "period": period,
            "cards": 800,
            "rate_per_card": 50_000,
            "coefficient": "1.00",
        },
    )
    assert Decimal(str(fund["fund"])) == 40 * M
    api.ok(
        "POST",
        "/api/v1/capitation/advances",
        201,
        body={"facility_code": facility, "period": period, "amount": 10 * M, "date": "2024-07-05"},
    )

    upload = api.ok("POST", "/api/v1/claims/files", 202, raw=_claim_file(facility), content_type="application/xml")
    deadline = time.monotonic() + 90
    while True:
        status = api.ok("GET", "/api/v1/claims/files/{file_id}", file_id=upload["id"])
        if status["status"] != "processing":
            break
        assert time.monotonic() < deadline
        time.sleep(0.3)
    assert status["status"] == "done" and status["records"]["accepted"] == 6

    claims = api.ok("GET", "/api/v1/claims", params={"facility": facility, "period": period})["items"]
    assert len(claims) == 6 and all(c["ho_ten"] != "***" for c in claims)  # bhxh sees personal data
    first, second = claims[0], claims[1]
    api.ok(
        "POST",
        "/api/v1/claims/assessments",
        201,
        body={
            "facility_code": facility,
            "items": [
                {"ma_lk": first["ma_lk"], "approved_amount": first["t_bhtt"]},
                {"ma_lk": second["ma_lk"], "approved_amount": "0", "reason_code": next(iter(_reasons(api)))},
            ],
        },
    )
    rec = api.ok("GET", "/api/v1/reconciliation", params={"facility": facility, "period": period})
    c = rec["claims"]
    assert Decimal(c["requested"]) == Decimal(c["approved"]) + Decimal(c["rejected"]) + Decimal(c["pending"])
    assert Decimal(c["approved"]) == Decimal(first["t_bhtt"])
    assert Decimal(str(rec["payments"]["advanced"])) == 10 * M

    viewer = SpecClient(stack.url, spec, stack.token("viewer"))
    refused = viewer.call("GET", "/api/v1/claims", params={"facility": facility, "period": period})
    assert refused.status_code == 403  # claims one by one are health data: admin and bhxh only (issue 13)
    audit = admin.ok("GET", "/api/v1/audit", params={"actor": "token:test-bhxh-910", "per_page": 50})["items"]
    assert {"claims.record_assessments", "claims.upload_file"} <= {a["action"] for a in audit}


def _reasons(api: SpecClient) -> list[str]:
    answer = api.ok("GET", "/api/v1/claims/reasons")
    return [r["code"] for r in answer["items"]]
