"""The full role × endpoint matrix, generated from the gateway's route table: for every protected route and
method, no token → 401, each role outside its policy → 403, each role inside it → neither 401 nor 403 (the
body may be refused for other reasons). A new endpoint is in this matrix the moment it is routed.

Also unit scoping: a token bound to Vĩnh Thuận (910) gets 403 when it asks for another district (899) on
every GET that takes a `unit`."""

from __future__ import annotations

import pytest
import requests

from services.gateway.app import create_app
from services.gateway.application.access import READ_ROLES, route_table
from services.gateway.openapi import _path

APP = create_app({"GATEWAY_DB_URL": "sqlite://"})  # the route table only: nothing connects
ROUTES = [r for r in route_table(APP) if not r["public"]]
# Path parameters that exist in the seeded system (others get "1": a 404 is fine, it is neither 401 nor 403).
PATH_VALUES = {"plan_id": "1", "code": "II.4", "facility": "91001", "ma_lk": "1"}


def _url(rule: str) -> str:
    path, params = _path(rule)
    for p in params:
        path = path.replace("{" + p["name"] + "}", PATH_VALUES.get(p["name"], "1"))
    return path


CASES = [(r["rule"], m, tuple(r["roles"])) for r in ROUTES for m in r["methods"]]


def test_every_route_declares_a_policy():
    undeclared = [r["endpoint"] for r in route_table(APP) if r["roles"] is None and not r["public"]]
    assert undeclared == []


@pytest.fixture(scope="module")
def tokens(stack):
    return {role: stack.token(role) for role in READ_ROLES}


def _call(stack, method: str, rule: str, token: str | None, **params):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    kwargs = {"json": {}} if method in ("POST", "PUT", "PATCH") else {}
    return requests.request(method, stack.url + _url(rule), headers=headers, params=params, timeout=60, **kwargs)


@pytest.mark.parametrize(("rule", "method", "roles"), CASES, ids=[f"{m} {r}" for r, m, _ in CASES])
def test_role_matrix(stack, tokens, rule, method, roles):
    anonymous = _call(stack, method, rule, None)
    assert anonymous.status_code == 401, anonymous.text
    assert anonymous.json()["errors"][0]["code"] == "unauthorized"
    for role in READ_ROLES:
        r = _call(stack, method, rule, tokens[role])
        if role in roles:
            assert r.status_code not in (401, 403), (role, r.status_code, r.text[:500])
            assert r.status_code < 500, (role, r.status_code, r.text[:500])
        else:
            assert r.status_code == 403, (role, r.status_code, r.text[:500])
            assert r.json()["errors"][0]["code"] == "forbidden"


def _takes_unit(route) -> bool:
    meta = getattr(APP.view_functions[route["endpoint"]], "ytcs_doc", {}) or {}
    query = meta.get("query")
    fields = getattr(query, "_declared_fields", None) or getattr(query, "fields", {}) or {}
    return "GET" in route["methods"] and "unit" in fields


UNIT_ROUTES = [r for r in ROUTES if _takes_unit(r)]


@pytest.fixture(scope="module")
def required_query(stack):
    """Required query parameters of each operation, with the document's own examples."""
    spec = requests.get(stack.url + "/api/v1/openapi.json", timeout=30).json()
    out = {}
    for path, item in spec["paths"].items():
        for method, op in item.items():
            out[(path, method)] = {
                p["name"]: p["example"] for p in op.get("parameters", []) if p["in"] == "query" and p.get("required")
            }
    return out


def test_unit_routes_exist():
    assert {r["rule"] for r in UNIT_ROUTES} >= {"/api/v1/stations", "/api/v1/plans/<int:plan_id>/funding"}


@pytest.mark.parametrize("route", UNIT_ROUTES, ids=[r["rule"] for r in UNIT_ROUTES])
def test_a_district_token_cannot_ask_for_another_district(stack, required_query, route):
    role = "viewer" if "viewer" in route["roles"] else route["roles"][0]  # a template is for writers only
    token = stack.token(role, "910")
    query = dict(required_query.get((_path(route["rule"])[0], "get"), {}))
    inside = _call(stack, "GET", route["rule"], token, **{**query, "unit": "910"})
    assert inside.status_code not in (401, 403), inside.text[:500]
    outside = _call(stack, "GET", route["rule"], token, **{**query, "unit": "899"})
    assert outside.status_code == 403, outside.text[:500]
    assert outside.json()["errors"][0]["code"] in ("unit_forbidden", "forbidden")
