"""The OpenAPI document of the running gateway: it validates, it is complete (every route of the route table,
every body and answer with a schema and an example that fits it, the Idempotency-Key on every POST, bearer
security and 401/403 on every protected operation), and an OpenAPI-driven fuzz run (schemathesis) against
the running system finds no 5xx and no answer outside its documented schema.

Generic over the route table: an endpoint added later is covered without touching this file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import requests
from openapi_spec_validator import validate

from services.gateway.app import create_app
from services.gateway.application.access import route_table
from services.gateway.openapi import _path
from tests.support.infra import ROOT

# Bounded: the random phase's examples per operation (the coverage phase steps past every stated bound whatever
# this is); 12 keep the whole run under two minutes here. YTCS_FUZZ_EXAMPLES to go deeper by hand.
MAX_EXAMPLES = int(os.environ.get("YTCS_FUZZ_EXAMPLES", "12"))
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
# Logins are left out of the fuzz run: random failures would trip the per-address login limit for every later
# test of the shared stack. They are tested on their own (tests/integration/gateway/test_gateway_access.py).
NOT_FUZZED = ("/login", "/api/v1/auth/session", "/logout")


@pytest.fixture(scope="module")
def spec(stack):
    r = requests.get(stack.url + "/api/v1/openapi.json", timeout=30)
    assert r.status_code == 200
    return r.json()


@pytest.fixture(scope="module")
def routes():
    return route_table(create_app({"GATEWAY_DB_URL": "sqlite://"}))  # the table only: nothing connects


def test_the_document_validates(spec):
    validate(spec)
    assert spec["openapi"].startswith("3.")


def _operations(spec):
    for path, item in spec["paths"].items():
        for method, op in item.items():
            yield path, method, op


def test_every_route_is_documented(spec, routes):
    missing = []
    for route in routes:
        path, _ = _path(route["rule"])
        for method in route["methods"]:
            op = spec["paths"].get(path, {}).get(method.lower())
            if op is None:
                missing.append(f"{method} {path}")
                continue
            if not route["public"]:
                assert op["security"] == [{"bearer": []}], (method, path)
                assert {"401", "403"} <= set(op["responses"]), (method, path)
            if method == "POST":
                names = [p["name"] for p in op.get("parameters", []) if p["in"] == "header"]
                assert "Idempotency-Key" in names, (method, path)
            assert op.get("summary") and op.get("operationId"), (method, path)
            assert any(code.startswith("2") or code.startswith("3") for code in op["responses"]), (method, path)
    assert missing == []


def _validator(schema, spec):
    # Refs point into the document: validate with the components beside the schema.
    return jsonschema.Draft202012Validator({**schema, "components": spec.get("components", {})})


def test_every_json_body_and_answer_has_an_example_that_fits_its_schema(spec):
    problems = []
    for path, method, op in _operations(spec):
        where = f"{method.upper()} {path}"
        media = op.get("requestBody", {}).get("content", {}).get("application/json")
        if media is not None:
            if "example" not in media:
                problems.append(f"{where}: request body without an example")
            else:
                problems += [
                    f"{where} body: {e.message}"
                    for e in _validator(media["schema"], spec).iter_errors(media["example"])
                ]
        for status, response in op["responses"].items():
            media = response.get("content", {}).get("application/json")
            if media is None or not status.startswith("2"):
                continue
            if "example" not in media:
                problems.append(f"{where} {status}: answer without an example")
                continue
            problems += [
                f"{where} {status}: {e.message}"
                for e in _validator(media["schema"], spec).iter_errors(media["example"])
            ]
        for param in op.get("parameters", []):
            if "schema" not in param:
                problems.append(f"{where}: parameter {param.get('name')} without a schema")
    assert problems == [], "\n".join(problems[:40])


def test_an_openapi_driven_fuzz_run_finds_no_5xx_and_no_schema_violation(stack, tmp_path: Path):
    token = stack.token("admin")
    argv = [
        str(Path(sys.executable).parent / "st"),
        "run",
        stack.url + "/api/v1/openapi.json",
        "-H",
        f"Authorization: Bearer {token}",
        "--checks",
        CHECKS,
        "--max-examples",
        str(MAX_EXAMPLES),
        "--phases",
        # coverage: each bound the document states is stepped past ("Value greater than maximum"), so every id
        # (maximum 2^63−1) is sent as 2^63 and every year past 2100 (tests/security/test_inputs.py checks that
        # every integer input states its bounds).
        "examples,coverage,fuzzing",
        "--generation-database",
        "none",
        "--seed",
        "20241130",
        # One worker: with 4 threads, schemathesis's value generator crashed now and then inside CPython
        # 3.11.7's AST constructor ("recursion depth mismatch"), a thread-safety bug of the interpreter.
        "--workers",
        "1",
        "--request-timeout",
        "30",
        "--max-failures",
        "50",
        "--no-color",
        "--report",
        "junit",
        "--report-dir",
        str(tmp_path),
    ]
    for path in NOT_FUZZED:
        argv += ["--exclude-path", path]
    run = subprocess.run(argv, capture_output=True, text=True, timeout=900, cwd=ROOT)
    out = run.stdout + run.stderr
    (tmp_path / "schemathesis.txt").write_text(out)
    assert run.returncode == 0, out[-12000:]
    assert "Tested:" in out
