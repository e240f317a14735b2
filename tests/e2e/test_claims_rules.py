"""QĐ 4750's rulebook through the running system (issue 14, the content half): a real-format file whose
T_BHTT_GDV is 0 is accepted with a warning and its capitation spend is the MA_PTTT = 2 lines; the rulebook is served
to every role; a station named by investment gets no false benefit-level warning (event through RabbitMQ)."""

from __future__ import annotations

import re
import time
from decimal import Decimal

import pytest
import requests
from lxml import etree
from sqlalchemy import create_engine, text

from services.claims.validation import CATALOG
from services.gateway.web.format import money2
from tests.e2e.test_claims_api import auth, make_file, reconciliation, send
from tests.e2e.test_web_pages import PASSWORD, Browser
from tests.unit.claims.test_real_format import PLAIN

FACILITY = "20914"  # the real stay moved to a facility code of its own (the stack is shared)


@pytest.fixture(scope="module")
def tokens(stack):
    return {role: stack.token(role) for role in ("admin", "finance", "bhxh", "viewer")}


def real_with_gdv_zero() -> tuple[bytes, dict[str, Decimal]]:
    """The real inpatient stay (plain tables) as exporters write it: T_BHTT_GDV = 0; its drug lines paid by
    capitation (MA_PTTT = 2), its services fee for service. Also Σ line T_BHTT by MA_PTTT, read independently."""
    doc = PLAIN.read_text(encoding="utf-8")
    doc = doc.replace("<MA_LK>1136957</MA_LK>", "<MA_LK>R14-GDV0</MA_LK>")
    doc = doc.replace("<MACSKCB>20003</MACSKCB>", f"<MACSKCB>{FACILITY}</MACSKCB>")
    doc = doc.replace("<MA_CSKCB>20003</MA_CSKCB>", f"<MA_CSKCB>{FACILITY}</MA_CSKCB>")
    doc, n = re.subn(r"<T_BHTT_GDV>[^<]*</T_BHTT_GDV>", "<T_BHTT_GDV>0</T_BHTT_GDV>", doc)
    assert n == 1
    start = doc.index("<LOAIHOSO>XML2</LOAIHOSO>")
    end = doc.index("</FILEHOSO>", start)
    doc = doc[:start] + doc[start:end].replace("<MA_PTTT>1</MA_PTTT>", "<MA_PTTT>2</MA_PTTT>") + doc[end:]
    data = doc.encode("utf-8")
    by_method = {"1": Decimal(0), "2": Decimal(0), "3": Decimal(0)}
    for line in etree.fromstring(data).iter("CHI_TIET_THUOC", "CHI_TIET_DVKT"):
        by_method[line.findtext("MA_PTTT").strip()] += Decimal(line.findtext("T_BHTT").strip())
    assert by_method["2"] > 0 and by_method["1"] > 0
    return data, by_method


def test_real_format_file_with_gdv_zero_is_accepted_and_spend_is_the_capitation_lines(stack, tokens):
    data, by_method = real_with_gdv_zero()
    st = send(stack, tokens["bhxh"], data)
    assert st["status"] == "done" and st["records"]["accepted"] == 1, st["errors"]
    gdv = [e for e in st["errors"] if e["code"] == "t_bhtt_gdv_mismatch"]
    assert len(gdv) == 1 and gdv[0]["severity"] == "warning" and gdv[0]["field"] == "T_BHTT_GDV"
    assert all(e["severity"] == "warning" for e in st["errors"])

    rec = reconciliation(stack, tokens["viewer"], FACILITY, "2025-Q4")
    # The card is registered at 20295 (MA_DKBD): its capitation lines count against 20295's fund, not the
    # treating facility's (NĐ 146 Điều 25 k2); here they are another facility's cards treated here.
    assert Decimal(rec["capitation"]["spend"]) == 0
    assert Decimal(rec["capitation"]["spend_other_cards_here"]) == by_method["2"]
    registered = reconciliation(stack, tokens["viewer"], "20295", "2025-Q4")["capitation"]
    assert Decimal(registered["spend"]) == Decimal(registered["spend_own_cards_elsewhere"]) == by_method["2"]
    assert rec["claims"]["by_payment_method"] == {
        "fee_for_service": f"{by_method['1']:.2f}", "capitation": f"{by_method['2']:.2f}", "drg": "0.00"}
    assert Decimal(rec["claims"]["requested"]) == by_method["1"] + by_method["2"]

    # The reconciliation page shows the same split.
    stack.ytcs("user", "create", "--username", "r14-viewer", "--role", "viewer", stdin=PASSWORD + "\n")
    browser = Browser(stack.url)
    browser.login("r14-viewer")
    page = browser.get("/reconciliation", params={"facility": FACILITY, "period": "2025-Q4"}).text
    for key, method in (("fee-for-service", "fee_for_service"), ("capitation", "capitation"), ("drg", "drg")):
        assert f'id="rec-{key}">{money2(rec["claims"]["by_payment_method"][method])}<' in page
    assert f'id="rec-spend">{money2(rec["capitation"]["spend"])}<' in page


def test_the_rulebook_is_served_to_every_role(stack, tokens):
    assert requests.get(stack.url + "/api/v1/claims/rules", timeout=30).status_code == 401
    for role, token in tokens.items():
        r = requests.get(stack.url + "/api/v1/claims/rules", headers=auth(token), timeout=30)
        assert r.status_code == 200, (role, r.text)
        body = r.json()
        assert {c["code"]: c["severity"] for c in body["codes"]} == {k: v[0] for k, v in CATALOG.items()}
        rules = {(i["code"], i["table"], i["field"]): i for i in body["items"]}
        rule = rules[("date_order", "XML1", "NGAY_VAO_NOI_TRU")]
        assert rule["severity"] == "critical" and "QĐ 4750" in rule["basis"] and rule["message"]
        assert rules[("t_bhtt_gdv_mismatch", "XML1", "T_BHTT_GDV")]["severity"] == "warning"
        assert ("missing_descriptive_field", "XML5", "DIEN_BIEN_LS") in rules


def _commune_stations(stack) -> set[str]:
    engine = create_engine(stack.env.get("CLAIMS_DB_URL") or f"sqlite:///{stack.var / 'claims.db'}")
    try:
        with engine.connect() as conn:
            return {row[0] for row in conn.execute(text("SELECT facility_code FROM commune_stations"))}
    finally:
        engine.dispose()


def test_a_station_named_by_investment_is_paid_100_percent_without_warning(stack, tokens):
    station_facility, other = "91S14", "91O14"
    faults = {"muc_huong_inconsistent": 2}
    control = send(stack, tokens["bhxh"], make_file(other, records=12, faults=faults)[0])
    assert sum(e["code"] == "muc_huong_inconsistent" for e in control["errors"]) == 2

    r = requests.post(
        stack.url + "/api/v1/stations/31072/status",
        headers=auth(tokens["finance"]),
        json={"attribute": "bhyt_facility_code", "value": station_facility, "year": 2023},
        timeout=30,
    )
    assert r.status_code in (200, 201), r.text
    deadline = time.monotonic() + 30
    while station_facility not in _commune_stations(stack):  # investment → RabbitMQ → claims' projection
        assert time.monotonic() < deadline, "claims never received station_facility_set"
        time.sleep(0.3)

    st = send(stack, tokens["bhxh"], make_file(station_facility, records=12, faults=faults)[0])
    assert st["records"]["accepted"] == 12
    assert not [e for e in st["errors"] if e["code"] == "muc_huong_inconsistent"]
