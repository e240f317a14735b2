"""SQL injection and path traversal on every parameter of every operation the gateway documents.

The operations come from the OpenAPI document the gateway serves (itself generated from the route table, and
`tests/e2e/test_openapi.py` proves every route is in it), so a new endpoint is attacked the moment it exists.
Each path parameter, query parameter and top-level string field of a body is given each hostile value in
turn, the rest of the request keeping the document's own examples. Every answer must be:
- never a 5xx, never a stack trace or a database error message, never a file of the host (`/etc/passwd`);
- for a token bound to Vĩnh Thuận (910), never a trace of data planted outside it (another district's facility,
  claims and allocation carry a canary);
and afterwards every table of every database is still there with no row lost, the seed data intact.

    .venv/bin/pytest -q -p no:cacheprovider tests/security/test_injection.py
"""

from __future__ import annotations

import concurrent.futures
import io
import json
from typing import Any
from urllib.parse import quote

import pytest
import requests
from sqlalchemy import create_engine, inspect, text

from services.common import clock
from services.devtools import claims_generator as generator
from services.gateway.app import create_app
from tests.support.infra import Stack

pytestmark = [pytest.mark.slow, pytest.mark.rabbit, pytest.mark.postgres]

SQL_INJECTION = (
    "' OR '1'='1",
    "' OR 1=1 --",
    "1; DROP TABLE claims; --",
    "x'); DELETE FROM plans; --",
    "' UNION SELECT token_hash, name, role FROM api_tokens --",
    '" OR ""="',
    "%' OR '%'='",
    "1' AND pg_sleep(3) IS NULL --",
    "\\'; SELECT 1; --",
)
PATH_TRAVERSAL = (
    "../../../../../../etc/passwd",
    "..%2F..%2F..%2F..%2Fetc%2Fpasswd",
    "....//....//....//etc/passwd",
    "/etc/passwd",
    "..\\..\\..\\..\\windows\\win.ini",
    "%2e%2e%2f%2e%2e%2fvar%2fblobs",
)
PAYLOADS = SQL_INJECTION + PATH_TRAVERSAL
# What must never come back: host files, stack traces, the database's own words.
LEAKS = ("root:x:0:0", "[boot loader]", "Traceback (most recent call last)", "psycopg2", "sqlite3", "SQLSTATE",
         "syntax error at or near", "sqlalchemy")
CANARY = "CANARY-OUTSIDE-910"
OUTSIDE_FACILITY = "91990"
# Values for path parameters the document gives no example of.
PATH_DEFAULTS = {"plan_id": "1", "code": "31060", "facility": "91060", "ma_lk": "1", "file_id": "1"}
METHODS = ("get", "post", "put", "patch", "delete")
# Statuses the attacks got, so the last test can check they reached the views (not all refused at the door).
SEEN: dict[int, int] = {}


def _spec() -> dict[str, Any]:
    app = create_app({"GATEWAY_DB_URL": "sqlite://"})  # the document only: nothing connects
    return app.test_client().get("/api/v1/openapi.json").get_json()


SPEC = _spec()
OPERATIONS = [(path, method) for path, item in SPEC["paths"].items() for method in item if method in METHODS]


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = SPEC["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _body(op: dict[str, Any]) -> tuple[str | None, dict[str, Any], list[str]]:
    """(content type, example body, its top-level string fields) of an operation with a JSON or form body."""
    for ctype, content in op.get("requestBody", {}).get("content", {}).items():
        if ctype not in ("application/json", "application/x-www-form-urlencoded"):
            continue
        schema = _resolve(content.get("schema", {}))
        example = dict(content.get("example") or {})
        strings = [k for k, v in schema.get("properties", {}).items() if _resolve(v).get("type") == "string"]
        return ctype, example, strings
    return None, {}, []


def _cases(path: str, method: str) -> list[tuple[str, str]]:
    op = SPEC["paths"][path][method]
    out = [("path", p["name"]) for p in op.get("parameters", []) if p["in"] == "path"]
    out += [("query", p["name"]) for p in op.get("parameters", []) if p["in"] == "query"]
    out += [("body", f) for f in _body(op)[2]]
    return out


def _request(
    stack: Stack, token: str, path: str, method: str, where: str, name: str, payload: str
) -> requests.Response:
    op = SPEC["paths"][path][method]
    url = path
    query: dict[str, Any] = {}
    for p in op.get("parameters", []):
        value = p.get("example", PATH_DEFAULTS.get(p["name"], "1"))
        if p["in"] == "path":
            value = payload if (where, name) == ("path", p["name"]) else value
            url = url.replace("{" + p["name"] + "}", quote(str(value), safe=""))
        elif p["in"] == "query" and (p.get("required") or (where, name) == ("query", p["name"])):
            query[p["name"]] = payload if (where, name) == ("query", p["name"]) else value
    ctype, body, _ = _body(op)
    kwargs: dict[str, Any] = {}
    if ctype is not None:
        if where == "body":
            body[name] = payload
        kwargs = {"json": body} if ctype == "application/json" else {"data": body}
    return requests.request(
        method.upper(),
        stack.url + url,
        params=query,
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
        allow_redirects=False,
        **kwargs,
    )


# --- planted data and the database before -----------------------------------------------------------------


def _post(stack: Stack, token: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    r = requests.post(stack.url + path, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=60)
    assert r.status_code in (200, 201), r.text
    return r.json()


def _table_counts(stack: Stack) -> dict[str, dict[str, int]]:
    out = {}
    for service in ("finance", "claims", "investment", "gateway"):
        engine = create_engine(stack.env[f"{service.upper()}_DB_URL"].replace("postgresql://", "postgresql+psycopg2://"))
        try:
            with engine.connect() as conn:
                out[service] = {
                    t: int(conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar() or 0)
                    for t in inspect(conn).get_table_names()
                }
        finally:
            engine.dispose()
    return out


@pytest.fixture(scope="module")
def planted(sec_stack: Stack, sec_tokens: dict[str, str]) -> dict[str, Any]:
    """A facility, claims and an allocation outside Vĩnh Thuận carrying the canary; one facility inside."""
    admin = sec_tokens["admin"]
    # A station in force today (a facility serves a unit that exists), in a former district other than 910.
    stations = requests.get(
        sec_stack.url + "/api/v1/stations", headers={"Authorization": f"Bearer {admin}"}, timeout=30,
        params={"at": clock.today().isoformat()},
    ).json()["items"]
    outside = next(s for s in stations if s["district"] != "910" and s["valid_to"] is None)
    _post(sec_stack, admin, "/api/v1/facilities",
          {"code": OUTSIDE_FACILITY, "name": f"Trạm {CANARY}", "unit": outside["code"], "kind": "station"})
    _post(sec_stack, admin, "/api/v1/facilities",
          {"code": "91060", "name": "Trạm Y tế xã Vĩnh Bình", "unit": "31064", "kind": "station"})
    buf = io.BytesIO()
    generator.generate(buf, facility=OUTSIDE_FACILITY, records=5, year=2024, months=[7], seed=77)
    r = requests.post(
        sec_stack.url + "/api/v1/claims/files",
        data=buf.getvalue(),
        headers={"Authorization": f"Bearer {admin}", "Content-Type": "application/xml"},
        timeout=60,
    )
    assert r.status_code == 202, r.text
    plans = requests.get(sec_stack.url + "/api/v1/plans", headers={"Authorization": f"Bearer {admin}"}, timeout=30)
    province = next(p for p in plans.json()["items"] if p["level"] == "province")
    _post(sec_stack, admin, "/api/v1/allocations", {
        "plan_id": province["id"], "item_code": "II.4", "source": "provincial_budget", "fiscal_year": 2024,
        "recipient_unit": outside["district"], "amount": 123_456_789, "decision_no": CANARY,
        "decision_date": "2024-03-01",
    })
    return {"counts": _table_counts(sec_stack), "outside": outside}


@pytest.mark.parametrize(("path", "method"), OPERATIONS, ids=[f"{m.upper()} {p}" for p, m in OPERATIONS])
def test_hostile_values_in_every_parameter(
    sec_stack: Stack, sec_tokens: dict[str, str], planted: dict[str, Any], path: str, method: str
) -> None:
    cases = _cases(path, method)
    if not cases:
        pytest.skip("no parameter to attack")
    scoped = "viewer910" if method == "get" else "finance910"
    # Every payload as admin (who reaches the most code); the SQL ones again as a caller bound to one unit.
    jobs = [("admin", where, name, payload) for where, name in cases for payload in PAYLOADS]
    jobs += [(scoped, where, name, payload) for where, name in cases for payload in SQL_INJECTION]

    def run(job: tuple[str, str, str, str]) -> str | None:
        tok, where, name, payload = job
        r = _request(sec_stack, sec_tokens[tok], path, method, where, name, payload)
        body = r.text
        SEEN[r.status_code] = SEEN.get(r.status_code, 0) + 1
        where_ = f"{tok} {where}:{name}={payload!r} -> {r.status_code}"
        if r.status_code >= 500:
            return f"{where_}: {body[:300]}"
        for leak in LEAKS:
            if leak.lower() in body.lower():
                return f"{where_}: leaks {leak!r}: {body[:300]}"
        if tok == scoped and (CANARY in body or OUTSIDE_FACILITY in body):
            return f"{where_}: data outside the caller's unit: {body[:300]}"
        return None

    with concurrent.futures.ThreadPoolExecutor(max_workers=6) as pool:
        failures = [f for f in pool.map(run, jobs) if f]
    assert failures == [], "\n".join(failures[:20])


def test_the_databases_are_intact_afterwards(
    sec_stack: Stack, sec_tokens: dict[str, str], planted: dict[str, Any]
) -> None:
    """Runs after the attacks (same module, later): no table dropped, no row deleted, the seed data as it was."""
    ok = sum(n for status, n in SEEN.items() if status < 300)
    assert ok >= 100, f"the attacks hardly reached a view: {SEEN}"  # tokens and examples work: views ran
    before, after = planted["counts"], _table_counts(sec_stack)
    for service, tables in before.items():
        assert set(after[service]) == set(tables), service
        shrunk = {t: (n, after[service][t]) for t, n in tables.items() if after[service][t] < n}
        assert shrunk == {}, f"{service}: rows lost {shrunk}"
    admin = {"Authorization": f"Bearer {sec_tokens['admin']}"}
    assert len(requests.get(sec_stack.url + "/api/v1/plans", headers=admin, timeout=30).json()["items"]) == 2
    assert len(requests.get(sec_stack.url + "/api/v1/stations", headers=admin, timeout=30).json()["items"]) == 145
    # A hostile string written as data comes back as the same data: stored, never executed.
    hostile = "x'); DROP TABLE facilities; --"
    _post(sec_stack, sec_tokens["admin"], "/api/v1/facilities",
          {"code": "91061", "name": hostile, "unit": "31064", "kind": "station"})
    got = requests.get(sec_stack.url + "/api/v1/facilities/91061", headers=admin, timeout=30)
    assert got.status_code == 200 and got.json()["name"] == hostile, got.text
    health = requests.get(sec_stack.url + "/healthz", timeout=30)
    assert health.status_code == 200, health.text
    assert json.loads(health.text)["status"] == "ok"
