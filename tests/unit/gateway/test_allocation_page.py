"""The allocation page's card of project capital linked to the allocation (what finance keeps covered): shown with
its amount, absent when no project names the allocation, and a dash when investment did not answer, while the
page still shows finance's own figures. The services are replaced at the page's seams; nothing connects."""

from __future__ import annotations

from typing import Any

import lxml.html
import pytest
from flask import g

from services.gateway.accounts import Principal
from services.gateway.app import create_app
from services.gateway.errors import Unavailable
from services.gateway.web import finance_pages

ALLOCATION = {
    "id": 5,
    "parent_allocation_id": None,
    "plan_id": 2,
    "item_code": "II.5",
    "source": "ntp_nrd",
    "fiscal_year": 2099,
    "recipient_unit": "910",
    "decision_no": "1/QĐ-UBND",
    "decision_date": "2099-02-10",
    "note": None,
    "amount": 1_000_000_000,
    "adjusted": 0,
    "allocated": 1_000_000_000,
    "sub_allocated": 0,
    "disbursed": 0,
    "remaining": 1_000_000_000,
}


def _page(monkeypatch: pytest.MonkeyPatch, linked: Any, role: str = "viewer") -> lxml.html.HtmlElement:
    def linked_capital(allocation_id: int) -> int:
        assert allocation_id == 5
        if isinstance(linked, Exception):
            raise linked
        return linked

    monkeypatch.setattr(finance_pages.finance, "allocation", lambda allocation_id: ALLOCATION)
    monkeypatch.setattr(finance_pages.finance, "linked_capital", linked_capital)
    monkeypatch.setattr(finance_pages, "plan_list", lambda: [])
    monkeypatch.setattr(finance_pages, "rpc", lambda *args: [])
    monkeypatch.setattr(finance_pages, "source_names", lambda: {})
    app = create_app({"GATEWAY_DB_URL": "sqlite://"})
    with app.test_request_context("/allocations/5"):
        g.principal = Principal(name="xem", role=role, unit=None, kind="token")
        html, status = finance_pages._allocation_page(5)
    assert status == 200
    return lxml.html.fromstring(html)


def test_the_capital_linked_to_the_allocation_is_shown(monkeypatch):
    page = _page(monkeypatch, 600_000_000)
    assert page.xpath('string(//*[@id="linked-capital"])').strip() == "600.000.000\xa0đ"
    # The sub-allocation form of a finance officer says what must stay (a viewer sees no forms).
    assert page.xpath('//*[@id="linked-capital-kept"]') == []
    page = _page(monkeypatch, 600_000_000, role="finance")
    kept = page.xpath('string(//*[@id="linked-capital-kept"])')
    assert kept == "Phân bổ phải giữ lại 600.000.000\xa0đ vốn dự án đầu tư."


def test_no_card_when_no_project_names_the_allocation(monkeypatch):
    assert _page(monkeypatch, 0).xpath('//*[@id="linked-capital"]') == []


def test_the_page_stands_when_investment_does_not_answer(monkeypatch):
    page = _page(monkeypatch, Unavailable("investment", "dịch vụ không trả lời kịp", "timeout"))
    card = page.xpath('//*[@id="linked-capital"]/..')[0].text_content()
    assert "—" in card and "chưa trả lời" in card
    assert page.xpath('string(//*[@id="allocated"])').strip() == "1.000.000.000\xa0đ"  # finance's figures still
