"""Investment from the pages (issue 17): a finance officer of Vĩnh Thuận (910) registers a station project,
assigns its capital and records a disbursement through the forms; the API answers the same figures, the service's
refusals are shown next to the form with what was typed, a form sent twice records once, and an officer of
another district can neither read nor write the project.

The stack is shared: this module's projects are at Xã Vĩnh Bình Nam (31063); users have names of their own."""

from __future__ import annotations

import lxml.html
import pytest
import requests

from tests.e2e.test_web_pages import PASSWORD, Browser

STATION = "31063"


@pytest.fixture(scope="module")
def officers(stack):
    made = {}
    for name, unit in (("inv-ketoan-910", "910"), ("inv-ketoan-899", "899")):
        stack.ytcs("user", "create", "--username", name, "--role", "finance", "--unit", unit, stdin=PASSWORD + "\n")
        made[unit] = name
    return made


def login(stack, name: str) -> Browser:
    b = Browser(stack.url)
    b.login(name)
    return b


def form_key(html: str) -> str:
    return lxml.html.fromstring(html).xpath('//input[@name="form_key"]/@value')[0]


def test_a_finance_officer_enters_a_project_its_capital_and_a_disbursement_from_the_pages(stack, officers):
    b = login(stack, officers["910"])
    page = b.get("/investment/projects/new").text
    doc = lxml.html.fromstring(page)
    stations = doc.xpath('//select[@id="station_code"]/option/@value')
    assert STATION in stations and not any(s and not s.startswith("31") for s in stations)  # the district's only
    assert doc.xpath('//select[@id="plan_id"]/option[@selected]')[0].text.startswith("34/KH-UBND")
    r = b.post(
        "/investment/projects/new",
        {
            "form_key": form_key(page),
            "station_code": STATION,
            "title": "Xây mới Trạm Y tế xã Vĩnh Bình Nam",
            "kind": "new_build",
            "estimated_cost": "3.500.000.000",
            "plan_id": "2",
            "item_code": "II.5",
            "start_year": "2023",
            "end_year": "2024",
            "status": "approved",
            "decision_no": "45/QĐ-UBND",
            "decision_date": "2023-03-01",
        },
    )
    assert r.status_code == 303, r.text[:600]
    path = r.headers["Location"]
    project_id = int(path.rsplit("/", 1)[1])
    page = b.get(path).text
    capital = {
        "form_key": form_key(page),
        "source": "district_budget",
        "fiscal_year": "2023",
        "amount": "1.500.000.000",
        "decision_no": "88/QĐ-UBND",
        "decision_date": "2023-04-02",
    }
    r = b.post(f"{path}/capital", capital)
    assert r.status_code == 303, r.text[:600]
    assert b.post(f"{path}/capital", capital).status_code == 303  # sent twice: recorded once
    page = b.get(path).text
    key = lxml.html.fromstring(page).xpath('//form[@id="project-disbursement-form"]//input[@name="form_key"]/@value')
    r = b.post(f"{path}/disbursements", {"form_key": key[0], "source": "district_budget",
                                           "amount": "500.000.000", "date": "2023-06-30", "reference": "UNC 0457"})
    assert r.status_code == 303, r.text[:600]
    # More than the source's capital: refused by the service, said next to the form, the amount kept.
    page = b.get(path).text
    key = lxml.html.fromstring(page).xpath('//form[@id="project-disbursement-form"]//input[@name="form_key"]/@value')
    r = b.post(f"{path}/disbursements", {"form_key": key[0], "source": "district_budget",
                                           "amount": "1.200.000.000", "date": "2023-07-30"})
    assert r.status_code == 422 and "Chưa ghi được" in r.text, r.text[:600]
    refused = lxml.html.fromstring(r.text)
    assert refused.xpath('//form[@id="project-disbursement-form"]//input[@name="amount"]/@value') == ["1.200.000.000"]
    # A fraction is not read as whole đồng: the one money reader refuses it.
    r = b.post(f"{path}/capital", {**capital, "form_key": form_key(r.text), "amount": "1000000.5"})
    assert r.status_code == 422
    # Capital said to come from a budget allocation is checked against it (counted once): an unknown one is
    # refused next to its field, the number kept.
    r = b.post(f"{path}/capital", {**capital, "form_key": form_key(r.text), "funded_by_allocation": "999999"})
    assert r.status_code == 422, r.text[:600]
    refused = lxml.html.fromstring(r.text)
    assert refused.xpath('//input[@id="funded-by-allocation"]/@value') == ["999999"]
    said = refused.xpath('//label[input[@id="funded-by-allocation"]]/following-sibling::*[1][@class="field-error"]')
    assert said and said[0].text_content().strip(), r.text[:2000]

    shown = lxml.html.fromstring(b.get(path).text)
    assert shown.get_element_by_id("capital").text_content() == "1.500.000.000\u00a0đ"
    assert shown.get_element_by_id("disbursed").text_content() == "500.000.000\u00a0đ"
    for t in shown.xpath("//table"):
        assert "scroll" in (t.getparent().get("class") or "")
    api = requests.get(
        f"{stack.url}/api/v1/investment/projects/{project_id}",
        headers={"Authorization": f"Bearer {stack.token('admin')}"},
        timeout=30,
    ).json()
    assert (api["estimated_cost"], api["capital"], api["disbursed"]) == (3_500_000_000, 1_500_000_000, 500_000_000)
    assert len(api["capital_records"]) == 1 and len(api["disbursements"]) == 1
    listing = b.get("/investment").text
    assert f'href="/investment/projects/{project_id}"' in listing

    # Another district's officer: neither the page nor a write.
    other = login(stack, officers["899"])
    assert other.get(path).status_code in (403, 404)
    other.get("/investment/projects/new")
    assert other.post(f"{path}/capital", {**capital, "form_key": "k-899"}).status_code in (403, 404)
    assert requests.get(
        f"{stack.url}/api/v1/investment/projects/{project_id}",
        headers={"Authorization": f"Bearer {stack.token('admin')}"},
        timeout=30,
    ).json()["capital"] == 1_500_000_000
