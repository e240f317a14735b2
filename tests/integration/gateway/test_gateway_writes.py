"""Every write is audited exactly once (refused ones too) in an append-only log; Idempotency-Key replays the
first answer and writes nothing new; bad input of every kind is a named 4xx in Vietnamese, never a 500."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from services.gateway.models import ApiToken, AuditEntry, Facility, IdempotentResponse


def _audit(gw):
    with gw.db() as s:
        return list(s.scalars(select(AuditEntry).order_by(AuditEntry.id)))


def _facility(code="91101", **extra):
    return {"code": code, "name": "Trạm Y tế xã Vĩnh Bình", "unit": "31064", **extra}  # a unit in force today


def test_every_write_leaves_exactly_one_entry_refused_ones_too(gw):
    admin, viewer = gw.headers("admin", X_Request_Id="req-ok-1"), gw.headers("viewer")
    before = len(_audit(gw))
    answers = [
        gw.client.post("/api/v1/facilities", json=_facility(), headers=admin),  # 201
        gw.client.post("/api/v1/facilities", json=_facility()),  # 401
        gw.client.post("/api/v1/facilities", json=_facility("91102"), headers=viewer),  # 403
        gw.client.post("/api/v1/facilities", json={"code": "x"}, headers=admin),  # 422
        gw.client.post("/api/v1/facilities", json=_facility(), headers=admin),  # 409
    ]
    assert [a.status_code for a in answers] == [201, 401, 403, 422, 409]
    entries = _audit(gw)[before:]
    assert [e.status for e in entries] == [201, 401, 403, 422, 409]
    first = entries[0]
    assert (first.actor, first.role, first.action, first.target) == (
        "token:admin-all",
        "admin",
        "facilities.create_facility",
        "/api/v1/facilities",
    )
    assert first.request_id == "req-ok-1" and first.remote_addr == "127.0.0.1"
    assert first.details["body"]["code"] == "91101" and first.details["method"] == "POST"
    assert entries[1].actor == "anonymous" and entries[3].details["errors"]
    # Reads leave nothing.
    gw.client.get("/api/v1/facilities", headers=admin)
    assert len(_audit(gw)) == before + 5


def test_the_audit_log_is_append_only_in_the_database(gw):
    gw.client.post("/api/v1/facilities", json=_facility("91103"), headers=gw.headers("admin"))
    with gw.db() as s:
        for statement in ("UPDATE audit_log SET actor = 'someone else'", "DELETE FROM audit_log"):
            with pytest.raises(DBAPIError):
                s.execute(text(statement))
                s.flush()
            s.rollback()
        assert s.scalar(select(func.count()).select_from(AuditEntry)) >= 1


def test_audit_is_readable_by_admins_newest_first_and_filterable(gw):
    admin = gw.headers("admin")
    finance_token = gw.token("finance", name="ketoan")
    gw.client.post("/api/v1/facilities", json=_facility("91104"), headers=admin)
    gw.client.post("/api/v1/facilities", json=_facility("91105"), headers={"Authorization": f"Bearer {finance_token}"})
    page = gw.client.get("/api/v1/audit?per_page=2", headers=admin).json
    assert page["page"] == 1 and page["per_page"] == 2 and len(page["items"]) == 2 and page["total"] >= 2
    assert page["items"][0]["actor"] == "token:ketoan" and page["items"][0]["status"] == 403
    assert page["items"][0]["id"] > page["items"][1]["id"]
    only = gw.client.get("/api/v1/audit?actor=token:ketoan", headers=admin).json["items"]
    assert [i["status"] for i in only] == [403]
    by_action = gw.client.get("/api/v1/audit?action=facilities.create_facility&status=201", headers=admin).json
    assert all(i["status"] == 201 for i in by_action["items"]) and by_action["total"] >= 1
    now = datetime.now(UTC)
    window = {"since": (now - timedelta(minutes=5)).isoformat(), "until": (now + timedelta(minutes=5)).isoformat()}
    assert gw.client.get("/api/v1/audit", query_string=window, headers=admin).json["total"] >= 2
    # The same moment written with a +07:00 offset means the same window.
    local = {"until": (now - timedelta(minutes=5)).astimezone(timezone_plus7()).isoformat()}
    assert gw.client.get("/api/v1/audit", query_string=local, headers=admin).json["total"] == 0
    bad = gw.client.get("/api/v1/audit?since=2024-02-01T00:00:00Z&until=2024-01-01T00:00:00Z", headers=admin)
    assert bad.status_code == 422
    assert gw.client.get("/api/v1/audit", headers=gw.headers("viewer")).status_code == 403


def timezone_plus7():
    from datetime import timezone

    return timezone(timedelta(hours=7))


def test_idempotency_key_replays_the_first_answer_and_writes_nothing_new(gw):
    admin = gw.headers("admin", **{"Idempotency-Key": "k-91106"})
    first = gw.client.post("/api/v1/facilities", json=_facility("91106"), headers=admin)
    again = gw.client.post("/api/v1/facilities", json=_facility("91106"), headers=admin)
    assert first.status_code == again.status_code == 201
    assert again.json == first.json and again.headers["Idempotent-Replay"] == "true"
    with gw.db() as s:
        assert s.scalar(select(func.count()).select_from(Facility).where(Facility.code == "91106")) == 1
    # The same key for another body is a mistake, named.
    other = gw.client.post("/api/v1/facilities", json=_facility("91107"), headers=admin)
    assert other.status_code == 422 and other.json["errors"][0]["code"] == "idempotency_key_reused"
    # Keys belong to their caller: another caller's same key is another request.
    mine = gw.headers("admin", **{"Idempotency-Key": "k-91106"})
    assert gw.client.post("/api/v1/facilities", json=_facility("91108"), headers=mine).status_code == 201
    # A refusal is replayed too (it is the first answer), and still writes nothing.
    bad = gw.headers("admin", **{"Idempotency-Key": "k-bad"})
    assert gw.client.post("/api/v1/facilities", json={"code": 1}, headers=bad).status_code == 422
    replay = gw.client.post("/api/v1/facilities", json={"code": 1}, headers=bad)
    assert replay.status_code == 422 and replay.headers["Idempotent-Replay"] == "true"


def test_a_key_still_running_is_409_and_a_dead_ones_key_is_taken_over(gw):
    token = gw.token("admin", name="runner")
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "k-running"}
    body = json.dumps(_facility("91109")).encode()
    digest = hashlib.sha256(b"\n" + body).hexdigest()
    with gw.db() as s:
        token_id = s.scalar(select(ApiToken.id).where(ApiToken.name == "runner"))
        s.add(
            IdempotentResponse(
                actor=f"token#{token_id}", key="k-running", method_path="POST /api/v1/facilities", request_hash=digest
            )
        )
        s.commit()
    r = gw.client.post("/api/v1/facilities", data=body, content_type="application/json", headers=headers)
    assert r.status_code == 409 and r.json["errors"][0]["code"] == "request_in_progress"
    with gw.db() as s:
        row = s.scalar(select(IdempotentResponse).where(IdempotentResponse.key == "k-running"))
        row.created_at = datetime.now(UTC) - timedelta(hours=1)  # its worker died long ago
        s.commit()
    r = gw.client.post("/api/v1/facilities", data=body, content_type="application/json", headers=headers)
    assert r.status_code == 201


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"data": "{not json", "content_type": "application/json"}, 400, "invalid_json"),
        ({"data": "[1, 2]", "content_type": "application/json"}, 400, "invalid_json"),
        ({"data": "code=91110", "content_type": "application/x-www-form-urlencoded"}, 415, "unsupported_media_type"),
        ({"data": "x" * (1024 * 1024 + 10), "content_type": "application/json"}, 413, "payload_too_large"),
        ({"json": {**_facility("91110"), "colour": "red"}}, 422, "unknown_field"),
        ({"json": {**_facility("91110"), "name": 12}}, 422, "invalid_type"),
        ({"json": {**_facility("91110"), "kind": "castle"}}, 422, "invalid_choice"),
        ({"json": {"name": "x", "unit": "31060"}}, 422, "required"),
        ({"json": _facility("9111")}, 422, "invalid"),
        ({"json": {**_facility("91110"), "unit": "12345"}}, 422, "unknown_unit"),
        ({"json": {**_facility("91110"), "name": "a\u0000b"}}, 400, "invalid_character"),
        ({"data": b"\xff\xfe{", "content_type": "application/json"}, 400, "invalid_json"),
        # Nested deeper than Python's parser recurses (200 kB, well under the size limit): refused, not a 500.
        ({"data": "[" * 100_000 + "]" * 100_000, "content_type": "application/json"}, 400, "invalid_json"),
        ({"data": '{"a":' * 100_000 + "1" + "}" * 100_000, "content_type": "application/json"}, 400, "invalid_json"),
    ],
)
def test_bad_input_is_a_named_4xx_in_vietnamese(gw, kwargs, status, code):
    r = gw.client.post("/api/v1/facilities", headers=gw.headers("admin"), **kwargs)
    assert r.status_code == status, r.json
    errors = r.json["errors"]
    assert code in [e["code"] for e in errors]
    assert all(e["message"] and set(e) >= {"field", "code", "message"} for e in errors)


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/plans/99999999999999999999999999/funding",
        "/api/v1/plans/-1/funding",
        "/api/v1/nowhere",
        "/api/v1/facilities/%00",
        "/api/v1/facilities?unit=%00",
    ],
)
def test_odd_urls_are_4xx(gw, url):
    r = gw.client.get(url, headers=gw.headers("viewer"))
    assert 400 <= r.status_code < 500 and r.json["errors"][0]["code"]


def test_wrong_method_is_405_json(gw):
    r = gw.client.delete("/api/v1/facilities", headers=gw.headers("admin"))
    assert r.status_code == 405 and r.json["errors"][0]["code"] == "method_not_allowed"


def test_request_id_is_echoed_or_made(gw):
    r = gw.client.get("/api/v1/auth/me", headers=gw.headers("viewer", X_Request_Id="abc-123"))
    assert r.headers["X-Request-Id"] == "abc-123"
    forged = gw.client.get("/api/v1/auth/me", headers=gw.headers("viewer", X_Request_Id="bad id <script>"))
    assert forged.headers["X-Request-Id"] != "bad id <script>" and len(forged.headers["X-Request-Id"]) == 32
    assert r.headers["Cache-Control"] == "no-store" and r.headers["X-Content-Type-Options"] == "nosniff"
