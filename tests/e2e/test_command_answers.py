"""A request sent again after a 5xx records nothing twice (services/common/answers.py), through the running stack.

The gateway frees an Idempotency-Key when it answers 5xx, so that the person or program can send the same request
again; but the service may have recorded the command all the same (the reply came back too late). Here the first
request is recorded and answered, then its key is freed in the gateway's database as a 5xx would have freed it;
the same request again is answered by the service with its first answer, and the money is there once.
"""

from __future__ import annotations

import re
import sqlite3
import uuid
from typing import Any

import requests

from tests.e2e.test_finance_api import Api, allocation, created
from tests.e2e.test_investment_api import capital_body, project_body
from tests.e2e.test_web_pages import Browser
from tests.support.infra import Stack

M = 1_000_000
PASSWORD = "mật-khẩu-đủ-dài-gửi-lại"


def free_key(stack: Stack, key: str) -> None:
    """What the gateway does with a key whose request it answered 5xx (gateway/hooks.py `_store_idempotent`)."""
    with sqlite3.connect(stack.var / "gateway.db") as db:
        assert db.execute("DELETE FROM idempotency_keys WHERE key = ?", (key,)).rowcount == 1


def send_twice(stack: Stack, api: Api, path: str, body: dict[str, Any]) -> tuple[requests.Response, requests.Response]:
    key = f"retry-{uuid.uuid4().hex}"
    first = api.post(path, body, key=key)
    free_key(stack, key)
    return first, api.post(path, body, key=key)


def test_a_disbursement_sent_again_after_a_5xx_is_paid_once(stack: Stack) -> None:
    finance = Api(stack, stack.token("finance"))
    station = created(finance.post("/api/v1/allocations", allocation(amount=300 * M)))
    path = f"/api/v1/allocations/{station['id']}/disbursements"
    first, again = send_twice(stack, finance, path, {"amount": 120 * M, "date": "2022-03-01", "reference": "UNC 7"})
    assert first.status_code == again.status_code == 201, (first.text, again.text)
    assert again.json() == first.json()
    assert "Idempotent-Replay" not in again.headers  # answered by finance, not by the gateway's store
    view = finance.get(f"/api/v1/allocations/{station['id']}").json()
    assert [d["amount"] for d in view["disbursements"]] == [120 * M]
    assert view["remaining"] == 180 * M
    # The same body under a new key is a new command: paid again, as asked.
    created(finance.post(path, {"amount": 120 * M, "date": "2022-03-01", "reference": "UNC 7"}, key=uuid.uuid4().hex))
    assert finance.get(f"/api/v1/allocations/{station['id']}").json()["remaining"] == 60 * M


def test_project_capital_sent_again_after_a_5xx_is_counted_once(stack: Stack) -> None:
    investment = Api(stack, stack.token("finance"))
    project = created(investment.post("/api/v1/investment/projects", project_body()))
    path = f"/api/v1/investment/projects/{project['id']}/capital"
    first, again = send_twice(stack, investment, path, capital_body("provincial_budget", 2021, 500 * M))
    assert first.status_code == again.status_code == 201, (first.text, again.text)
    assert again.json() == first.json()
    detail = investment.get(f"/api/v1/investment/projects/{project['id']}").json()
    assert detail["capital"] == 500 * M
    assert [c["amount"] for c in detail["capital_records"]] == [500 * M]


def test_a_disbursement_form_sent_again_after_a_5xx_is_paid_once(stack: Stack) -> None:
    """A page form's key is its hidden form_key: a 5xx page frees it (the person resends the same form)."""
    finance = Api(stack, stack.token("finance"))
    station = created(finance.post("/api/v1/allocations", allocation(amount=300 * M)))
    stack.ytcs("user", "create", "--username", "gui-lai", "--role", "finance", stdin=PASSWORD + "\n")
    b = Browser(stack.url)
    b.login("gui-lai", PASSWORD)
    page = b.get(f"/allocations/{station['id']}").text
    form_key = re.search(r'id="disbursement-form".*?name="form_key" value="([^"]+)"', page, re.S).group(1)
    form = {"form_key": form_key, "amount": "70.000.000", "date": "2022-04-01", "reference": "UNC 9"}
    first = b.post(f"/allocations/{station['id']}/disbursements", form)
    assert first.status_code == 303, first.text[:500]
    free_key(stack, form_key)
    again = b.post(f"/allocations/{station['id']}/disbursements", form)
    assert again.status_code == 303 and again.headers["Location"] == first.headers["Location"], again.text[:500]
    view = finance.get(f"/api/v1/allocations/{station['id']}").json()
    assert [d["amount"] for d in view["disbursements"]] == [70 * M]
