"""Funding answers joined from several services over the real broker: sums source by source, the BHYT block
beside (never inside) the money, the plan tree in one call, and partial answers when a service is slow,
absent or failing — fast, named, never a hang or a 5xx."""

from __future__ import annotations

import time

import pytest

from services.common import catalog
from services.gateway.application import funding
from tests.integration.gateway.conftest import make_gateway
from tests.integration.gateway.fake_services import FakeService, figures, running


@pytest.fixture(autouse=True)
def short_deadline(monkeypatch):
    monkeypatch.setattr(funding, "FUNDING_TIMEOUT", 1.5)


@pytest.fixture
def gw(tmp_path, gw_amqp):
    """The gateway's own database plays no part in these answers: SQLite is enough."""
    gateway = make_gateway(f"sqlite:///{tmp_path / 'gateway.db'}", gw_amqp)
    yield gateway
    gateway.app.extensions["ytcs"].engine.dispose()


def _finance(uri, **extra):
    handlers = {
        "funding_status": lambda plan_id, code, year, unit: figures(700, 250, "provincial_budget", 2024, code),
        "funding_tree": lambda plan_id, year, unit: {
            "plan_id": plan_id,
            "items": {
                "II": figures(900, 300, "provincial_budget", 2024, "II"),
                "II.4": figures(200, 50, "bhyt_surplus_20", 2024, "II.4"),
                "II.5": figures(700, 250, "provincial_budget", 2024, "II.5"),
            },
        },
    }
    handlers.update(extra)
    return FakeService(uri, "finance", handlers)


def _investment(uri, delay=0.0, **extra):
    handlers = {
        "funding_status": lambda plan_id, code, year, unit: {
            **figures(500, 200, "ntp_nrd", 2024, code),
            "by_source": {
                "ntp_nrd": {"allocated": 300, "disbursed": 200},
                "provincial_budget": {"allocated": 200, "disbursed": 0},
            },
        },
        # Only the item its projects name: the gateway fills in the ancestors from it.
        "funding_tree": lambda plan_id, year, unit: {"items": [figures(500, 200, "ntp_nrd", 2024, "II.5")]},
    }
    handlers.update(extra)
    return FakeService(uri, "investment", handlers, delay=delay)


def _claims(uri):
    return FakeService(
        uri,
        "claims",
        {
            "capitation_summary": lambda facilities, year: {
                "fund": "2400000.00",
                "advanced": "1800000.00",
                "spend": "1523400.50",
                "fee_for_service": "600000.00",
                "drg": "26599.50",
                "requested": "2150000.00",
                "approved": "2100000.00",
            }
        },
    )


def test_item_funding_adds_the_streams_source_by_source(gw):
    fin, inv = _finance(gw.amqp_uri), _investment(gw.amqp_uri)
    with running(fin, inv):
        r = gw.client.get("/api/v1/plans/1/items/II.5/funding?year=2024", headers=gw.headers("viewer"))
    assert r.status_code == 200, r.json
    body = r.json
    assert (body["allocated"], body["disbursed"]) == (1200, 450)
    assert body["execution_rate"] == "0.3750"
    assert body["by_source"] == {
        "ntp_nrd": {"allocated": 300, "disbursed": 200},
        "provincial_budget": {"allocated": 900, "disbursed": 250},
    }
    assert body["by_year"] == {"2024": {"allocated": 1200, "disbursed": 450}}
    assert body["streams"] == {
        "finance": {"allocated": 700, "disbursed": 250},
        "investment": {"allocated": 500, "disbursed": 200},
    }
    assert body["parts"] == {"finance": "ok", "investment": "ok", "claims": "not_applicable"}
    assert body["partial"] is False and body["missing"] == [] and body["bhyt"] is None
    # Each service was asked the same question: plan, item, year, unit (None: unscoped caller).
    assert fin.calls == [("funding_status", [1, "II.5", 2024, None], {})]
    assert inv.calls == [("funding_status", [1, "II.5", 2024, None], {})]


def test_bhyt_figures_for_II4_are_shown_beside_the_money_not_added(gw):
    with running(_finance(gw.amqp_uri), _investment(gw.amqp_uri), _claims(gw.amqp_uri)):
        r = gw.client.get("/api/v1/plans/2/items/II.4/funding?year=2024", headers=gw.headers("finance"))
    body = r.json
    assert r.status_code == 200 and body["parts"]["claims"] == "ok"
    assert body["allocated"] == 1200  # finance + investment only
    assert body["bhyt"] == {
        "unit": "910",
        "year": 2024,
        "facilities": 0,
        "fund": "2400000.00",
        "advanced": "1800000.00",
        "spend": "1523400.50",
        "fee_for_service": "600000.00",
        "drg": "26599.50",
        "requested": "2150000.00",
        "approved": "2100000.00",
    }


def test_a_slow_service_gives_a_partial_answer_within_the_deadline(gw):
    with running(_finance(gw.amqp_uri), _investment(gw.amqp_uri, delay=4)):
        started = time.monotonic()
        r = gw.client.get("/api/v1/plans/1/items/II.5/funding", headers=gw.headers("viewer"))
        elapsed = time.monotonic() - started
    assert r.status_code == 200
    assert elapsed < 3.0, elapsed  # the funding deadline (1.5 s here), not the service's 4 s
    body = r.json
    assert body["partial"] is True
    assert body["parts"]["finance"] == "ok" and body["parts"]["investment"] == "unavailable"
    assert body["missing"] == [{"part": "investment", "kind": "timeout", "reason": "dịch vụ không trả lời kịp"}]
    assert (body["allocated"], body["disbursed"]) == (700, 250)  # what finance said, nothing invented
    assert body["streams"] == {"finance": {"allocated": 700, "disbursed": 250}}


def test_an_absent_service_is_named_at_once(gw):
    with running(_finance(gw.amqp_uri)):
        started = time.monotonic()
        r = gw.client.get("/api/v1/plans/1/funding", headers=gw.headers("viewer"))
        elapsed = time.monotonic() - started
    body = r.json
    assert r.status_code == 200 and body["partial"] is True
    assert elapsed < 1.0, elapsed  # no queue for it: known without waiting
    kinds = {m["part"]: m["kind"] for m in body["missing"]}
    assert kinds == {"investment": "unknown_service", "claims": "unknown_service"}
    assert body["bhyt"] is None


def test_a_service_without_the_method_is_a_missing_part(gw):
    bare_claims = FakeService(gw.amqp_uri, "claims", {})
    with running(_finance(gw.amqp_uri), _investment(gw.amqp_uri), bare_claims):
        r = gw.client.get("/api/v1/plans/1/items/II/funding", headers=gw.headers("viewer"))
    assert r.status_code == 200
    assert r.json["missing"] == [
        {"part": "claims", "kind": "method_not_found", "reason": "dịch vụ chưa có thao tác capitation_summary"}
    ]


def test_plan_tree_in_one_call(gw):
    with running(_finance(gw.amqp_uri), _investment(gw.amqp_uri), _claims(gw.amqp_uri)):
        r = gw.client.get("/api/v1/plans/1/funding?year=2024", headers=gw.headers("bhxh"))
    body = r.json
    assert r.status_code == 200 and body["partial"] is False
    rows = {row["code"]: row for row in body["items"]}
    assert list(rows) == catalog.get_plan(1).codes and rows["I"]["parent_code"] is None
    assert rows["II.5"]["allocated"] == 1200 and rows["II.5"]["streams"]["investment"]["allocated"] == 500
    # finance reported II rolled up (900); investment reported only II.5 (500): II is 1400.
    assert rows["II"]["allocated"] == 1400 and rows["II"]["disbursed"] == 500
    assert rows["II.4"]["allocated"] == 200 and rows["II.4"]["bhyt"]["fund"] == "2400000.00"
    assert rows["II"]["bhyt"] is not None and rows["II.5"]["bhyt"] is None and rows["III"]["allocated"] == 0
    assert body["total"]["allocated"] == 1400  # the top-level items, each đồng once
    assert body["bhyt"]["unit"] is None and body["bhyt"]["facilities"] is None  # the province: every facility


def test_scoped_caller_passes_its_unit_and_cannot_leave_it(gw):
    fin, inv = _finance(gw.amqp_uri), _investment(gw.amqp_uri)
    district = gw.headers("viewer", "910")
    with running(fin, inv):
        assert gw.client.get("/api/v1/plans/1/items/II.5/funding", headers=district).status_code == 200
        other = gw.client.get("/api/v1/plans/1/items/II.5/funding?unit=899", headers=district)
        commune = gw.client.get("/api/v1/plans/1/items/II.5/funding?unit=31060", headers=district)
    assert fin.calls[0] == ("funding_status", [1, "II.5", None, "910"], {})
    assert other.status_code == 403 and other.json["errors"][0]["code"] == "unit_forbidden"
    assert commune.status_code == 200 and fin.calls[1][1][3] == "31060"


@pytest.mark.parametrize(
    ("url", "status", "code"),
    [
        ("/api/v1/plans/9/funding", 404, "unknown_plan"),
        ("/api/v1/plans/1/items/II.9/funding", 404, "unknown_item"),
        ("/api/v1/plans/1/funding?year=1900", 422, "out_of_range"),
        ("/api/v1/plans/1/funding?year=abc", 422, "invalid_type"),
        ("/api/v1/plans/1/funding?unit=99999", 422, "unknown_unit"),
        ("/api/v1/plans/1/funding?colour=red", 422, "unknown_field"),
        ("/api/v1/plans/1/funding?year=2024&year=2025", 422, "repeated_parameter"),
    ],
)
def test_bad_questions_are_named_4xx_without_asking_anyone(gw, url, status, code):
    r = gw.client.get(url, headers=gw.headers("viewer"))
    assert r.status_code == status, r.json
    assert r.json["errors"][0]["code"] == code


def test_targets_next_to_money(gw):
    targets = {
        "items": [
            {
                "key": "stations_bhyt_eligible",
                "item_code": "I.2.b",
                "actual_value": "87.50",
                "numerator": 7,
                "denominator": 8,
                "as_of": "2024-12-31",
                "met": False,
                "basis": "Số trạm đủ điều kiện…",
            },
        ]
    }
    fin = _finance(gw.amqp_uri)
    inv = _investment(gw.amqp_uri, targets=lambda plan_id, year, unit: targets)
    with running(fin, inv):
        r = gw.client.get("/api/v1/plans/2/targets?year=2024", headers=gw.headers("viewer"))
    assert r.status_code == 200 and r.json["partial"] is False
    rows = {(row["item_code"], row["key"]): row for row in r.json["items"]}
    known = rows[("I.2.b", "stations_bhyt_eligible")]
    assert known["target"] == 100 and known["actual"] == "87.50" and known["source"] == "register"
    assert known["met"] is False and (known["numerator"], known["denominator"]) == (7, 8)
    assert known["money"]["items"] == ["II.5"] and known["money"]["allocated"] == 1200
    unknown = rows[("I.2.b", "doctors_family_medicine_trained")]
    assert unknown["actual"] is None and unknown["source"] is None and unknown["met"] is None
    assert unknown["money"]["items"] == ["II.3"]
