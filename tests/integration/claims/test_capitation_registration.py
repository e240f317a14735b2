"""Capitation spend counts against the fund of the facility where the card is registered (MA_DKBD), wherever the
card was treated (NĐ 146/2018 Điều 25 k2 as amended by NĐ 75/2023): a hand-computed scenario on the real
inpatient sample (treated at 20003, card registered at 20295, NAM_QT/THANG_QT 2025/12), on SQLite and PostgreSQL.

Line T_BHTT of the sample, in file order: 18,900.00; 34,000.00; 15,900.00; … (all MA_PTTT = 1 as exported).
"""

from __future__ import annotations

import re

from sqlalchemy import select

from services.claims import figures, handlers, views
from services.claims.models import Outbox
from services.common.periods import Quarter
from tests.integration.claims.test_assessments import envelope
from tests.unit.claims.test_real_format import PLAIN

TREATED_AT, REGISTERED_AT, QUARTER = "20003", "20295", "2025-Q4"


def sample(*, capitation: set[int], facility: str = TREATED_AT, ma_lk: str = "1136957", dkbd: str | None = "20295"):
    """The real sample with the lines numbered in `capitation` (0-based, file order) paid by capitation
    (MA_PTTT = 2), treated at `facility` under `ma_lk`, with the card's MA_DKBD `dkbd` (None: left empty)."""
    text = PLAIN.read_text(encoding="utf-8")
    parts = text.split("<MA_PTTT>1</MA_PTTT>")
    text = parts[0] + "".join(
        ("<MA_PTTT>2</MA_PTTT>" if i in capitation else "<MA_PTTT>1</MA_PTTT>") + part
        for i, part in enumerate(parts[1:])
    )
    text = text.replace(f"<MACSKCB>{TREATED_AT}</MACSKCB>", f"<MACSKCB>{facility}</MACSKCB>")
    text = text.replace(f"<MA_CSKCB>{TREATED_AT}</MA_CSKCB>", f"<MA_CSKCB>{facility}</MA_CSKCB>")
    text = re.sub(r"<MA_LK>1136957</MA_LK>", f"<MA_LK>{ma_lk}</MA_LK>", text)
    text = text.replace("<MA_DKBD>20295</MA_DKBD>", f"<MA_DKBD>{dkbd}</MA_DKBD>" if dkbd else "<MA_DKBD/>")
    return text.encode("utf-8")


def spend_events(env) -> list[tuple[str, str, str, int]]:
    with env.session() as s:
        rows = s.scalars(select(Outbox).where(Outbox.event_type == "capitation_spend_changed").order_by(Outbox.id))
        return [(p["facility_code"], p["period"], p["spend"], p["claims"]) for p in (o.payload for o in rows)]


def capitation(env, facility: str) -> tuple[dict, dict]:
    with env.session() as s:
        rec = views.reconciliation(s, facility, QUARTER)
    return rec["capitation"], rec["claims"]


def test_a_card_treated_elsewhere_counts_against_its_registered_facilitys_fund(claims_env):
    # 1. 20295's card treated at 20003, its first two lines by capitation: 18,900 + 34,000 = 52,900.00
    st = claims_env.load(sample(capitation={0, 1}))
    assert st["records"]["accepted"] == 1, st["errors"]
    cap, claims = capitation(claims_env, REGISTERED_AT)
    assert cap == {
        "fund": "0.00",
        "fund_set": False,
        "spend": "52900.00",
        "balance": "-52900.00",
        "spend_own_cards_here": "0.00",
        "spend_own_cards_elsewhere": "52900.00",
        "spend_other_cards_here": "0.00",
        "registered_claims": 1,
    }
    assert claims["count"] == 0 and claims["by_payment_method"]["capitation"] == "0.00"  # 20295 treated nobody
    cap, claims = capitation(claims_env, TREATED_AT)
    assert (cap["spend"], cap["spend_other_cards_here"], cap["registered_claims"]) == ("0.00", "52900.00", 0)
    assert claims["count"] == 1 and claims["by_payment_method"]["capitation"] == "52900.00"  # treated at 20003
    # the level is told for the registered facility's quarter, not the treating one's (it has no own card here)
    assert spend_events(claims_env) == [(REGISTERED_AT, QUARTER, "52900.00", 1)]

    # 2. 20295's own card treated at 20295, its third line by capitation: 15,900.00
    st = claims_env.load(sample(capitation={2}, facility=REGISTERED_AT, ma_lk="LK20295"))
    assert st["records"]["accepted"] == 1, st["errors"]
    fund = envelope(
        "capitation_fund_set", {"fund_id": 1, "facility_code": REGISTERED_AT, "period": QUARTER, "fund": 100_000}
    )
    assert claims_env.run(handlers.record_fund, fund)
    cap, claims = capitation(claims_env, REGISTERED_AT)
    assert cap == {
        "fund": "100000.00",
        "fund_set": True,
        "spend": "68800.00",  # 52,900 elsewhere + 15,900 here
        "balance": "31200.00",
        "spend_own_cards_here": "15900.00",
        "spend_own_cards_elsewhere": "52900.00",
        "spend_other_cards_here": "0.00",
        "registered_claims": 2,
    }
    assert claims["by_payment_method"]["capitation"] == "15900.00"
    assert spend_events(claims_env)[1:] == [(REGISTERED_AT, QUARTER, "68800.00", 2)]
    with claims_env.session() as s:
        both = views.reconciliation(s, None, QUARTER, [TREATED_AT, REGISTERED_AT])["capitation"]
        summary = views.capitation_summary(s, [REGISTERED_AT], 2025)
    assert (both["spend"], both["spend_own_cards_elsewhere"], both["spend_other_cards_here"]) == (
        "68800.00",
        "52900.00",
        "52900.00",
    )
    assert summary["spend"] == "68800.00" and summary["fund"] == "100000.00"

    # 3. a card without MA_DKBD treated at 20003: counted at the treating facility, as its own card (18,900.00)
    st = claims_env.load(sample(capitation={0}, ma_lk="LKNODKBD", dkbd=None))
    assert st["records"]["accepted"] == 1, st["errors"]
    cap, _ = capitation(claims_env, TREATED_AT)
    assert (cap["spend"], cap["spend_own_cards_here"], cap["spend_other_cards_here"]) == (
        "18900.00",
        "18900.00",
        "52900.00",
    )
    assert spend_events(claims_env)[2:] == [(TREATED_AT, QUARTER, "18900.00", 1)]
    assert capitation(claims_env, REGISTERED_AT)[0]["spend"] == "68800.00"


def test_the_wall_shows_a_facility_whose_cards_were_only_treated_elsewhere(claims_env, monkeypatch):
    assert claims_env.load(sample(capitation={0, 1}))["records"]["accepted"] == 1
    monkeypatch.setattr(figures, "exposed_quarters", lambda today: [Quarter(2025, 4)])
    with claims_env.session() as s:
        gauges = {(c.facility, c.quarter): str(c.spend) for c in figures.business_figures(s).capitation}
    # 20295 treated nobody and has no fund yet: its gauge still shows what its cards spent at 20003
    assert gauges == {(REGISTERED_AT, QUARTER): "52900.00", (TREATED_AT, QUARTER): "0.00"}
