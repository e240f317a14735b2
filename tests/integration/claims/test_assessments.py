"""Assessments (giám định), finance's projections and the reconciliation built on them, on SQLite and PostgreSQL.
Every figure is compared with sums computed here, independently of the service's SQL."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from services.claims import handlers, views
from services.claims import reasons as reason_catalog
from services.claims.models import Assessment, Claim, Outbox
from services.claims.unit_of_work import ClaimsUnitOfWork
from services.common.errors import DomainError
from services.common.outbox import utcnow
from tests.integration.claims.conftest import by_registration, generate

FAC = "91060"


LOADED: dict = {"records": 80, "months": [7, 8, 9], "seed": 11, "faults": {"card_format": 2}}


@pytest.fixture
def loaded(claims_env):
    data, summary = generate(**LOADED)
    claims_env.load(data)
    with claims_env.session() as s:
        rows = s.execute(
            select(Claim.ma_lk, Claim.t_bhtt, Claim.t_bhtt_gdv, Claim.period_quarter)
            .where(Claim.status == "accepted")
            .order_by(Claim.id)
        ).all()
    return claims_env, summary, [(r[0], r[1], r[2] or Decimal(0), r[3]) for r in rows]


def assess(env, items, facility=FAC):
    return env.run(handlers.record_assessments, {"facility_code": facility, "items": items}, "bhxh-test")


def codes(exc):
    return [(e["code"], e["field"]) for e in exc.value.errors]


def test_full_partial_and_refused_results_add_up(loaded):
    env, summary, claims = loaded
    q3 = [c for c in claims if c[3] == 3]
    full, part, refused, later = q3[0], q3[1], q3[2], q3[3]
    out = assess(
        env,
        [
            {"ma_lk": full[0], "approved_amount": str(full[1])},
            {"ma_lk": part[0], "approved_amount": str(part[1] - Decimal("1000.50")), "reason_code": "sai_gia"},
            {"ma_lk": refused[0], "approved_amount": "0", "reason_code": "ngoai_pham_vi_quyen_loi"},
        ],
    )
    assert [i["outcome"] for i in out["items"]] == ["approved", "partial", "refused"]
    # a later assessment of the same claim supersedes the earlier one (a new row, nothing edited)
    assess(env, [{"ma_lk": part[0], "approved_amount": str(part[1] - Decimal("2000")), "reason_code": "sai_gia"}])
    assess(env, [{"ma_lk": later[0], "approved_amount": str(later[1])}])

    approved = full[1] + (part[1] - Decimal("2000")) + 0 + later[1]
    assessed_requested = full[1] + part[1] + refused[1] + later[1]
    requested = sum(c[1] for c in q3)
    with env.session() as s:
        rec = views.reconciliation(s, FAC, "2024-Q3")
        assert s.scalar(select(func.count()).select_from(Assessment)) == 5
        assert [i["assessment"]["status"] for i in views.list_claims(s, personal=True, ma_lk=part[0])["items"]] == [
            "partial"
        ]
    c = rec["claims"]
    assert c["count"] == len(q3) and c["assessed"] == 4
    assert Decimal(c["requested"]) == requested == summary.totals[(FAC, "2024-Q3")].t_bhtt
    assert Decimal(c["approved"]) == approved
    assert Decimal(c["rejected"]) == assessed_requested - approved
    assert Decimal(c["pending"]) == requested - assessed_requested
    assert Decimal(c["approved"]) + Decimal(c["rejected"]) + Decimal(c["pending"]) == Decimal(c["requested"])


def test_refusals_name_every_bad_item_and_write_nothing(loaded):
    env, _, claims = loaded
    a, b = claims[0], claims[1]
    with pytest.raises(DomainError) as exc:
        assess(
            env,
            [
                {"ma_lk": a[0], "approved_amount": str(a[1] + Decimal("0.01"))},
                {"ma_lk": b[0], "approved_amount": str(b[1] - 1)},
                {"ma_lk": "KHONG-CO", "approved_amount": "10"},
                {"ma_lk": b[0], "approved_amount": "1", "reason_code": "sai_gia"},
                {"ma_lk": claims[2][0], "approved_amount": "1", "reason_code": "khong_co_ma_nay"},
                {"ma_lk": claims[3][0], "approved_amount": "1", "reason_code": "khac"},
                {"ma_lk": claims[4][0], "approved_amount": "-1", "reason_code": "sai_gia"},
            ],
        )
    assert codes(exc) == [
        ("approved_exceeds_requested", "items.0.approved_amount"),
        ("reason_required", "items.1.reason_code"),
        ("unknown_claim", "items.2.ma_lk"),
        ("duplicate_item", "items.3.ma_lk"),
        ("unknown_reason", "items.4.reason_code"),
        ("note_required", "items.5.note"),
        ("amount_negative", "items.6.approved_amount"),
    ]
    assert all(e["message"] for e in exc.value.errors)
    # another facility's claim is unknown here
    with pytest.raises(DomainError) as exc:
        assess(env, [{"ma_lk": a[0], "approved_amount": "1"}], facility="91999")
    assert codes(exc) == [("unknown_claim", "items.0.ma_lk")]
    with env.session() as s:
        assert s.scalar(select(func.count()).select_from(Assessment)) == 0


def test_assessments_publish_per_quarter(loaded):
    env, _, claims = loaded
    picked = [c for c in claims if c[3] == 3][:3]
    assess(env, [{"ma_lk": c[0], "approved_amount": str(c[1])} for c in picked])
    with env.session() as s:
        events = [o.payload for o in s.scalars(select(Outbox).where(Outbox.event_type == "claims_assessed"))]
    assert events == [
        {
            "facility_code": FAC,
            "period": "2024-Q3",
            "assessed": 3,
            "approved": str(sum(c[1] for c in picked).quantize(Decimal("0.01"))),
        }
    ]


def envelope(event_type, data):
    return {
        "event_id": str(uuid.uuid4()),
        "event_type": event_type,
        "version": 1,
        "source": "finance",
        "occurred_at": utcnow().isoformat(),
        "correlation_id": None,
        "data": data,
    }


def test_fund_and_advances_from_finance_give_the_balance(loaded):
    env, summary, _ = loaded
    totals = summary.totals[(FAC, "2024-Q3")]
    first = envelope(
        "capitation_fund_set", {"fund_id": 7, "facility_code": FAC, "period": "2024-Q3", "fund": 50_000_000}
    )
    newer = envelope(
        "capitation_fund_set", {"fund_id": 9, "facility_code": FAC, "period": "2024-Q3", "fund": 60_000_000}
    )
    other = envelope("capitation_fund_set", {"fund_id": 8, "facility_code": "91061", "period": "2024-Q3", "fund": 1})
    adv1 = envelope("advance_paid", {"advance_id": 1, "facility_code": FAC, "period": "2024-Q3", "amount": 8_000_000})
    adv2 = envelope("advance_paid", {"advance_id": 2, "facility_code": FAC, "period": "2024-Q3", "amount": 2_500_000})
    fund, advance = handlers.record_fund, handlers.record_advance
    # delivered out of order and twice: the newest fund_id wins, each advance counts once
    assert env.run(fund, newer) and env.run(fund, first) and env.run(fund, other)
    assert env.run(advance, adv1) and env.run(advance, adv2)
    assert not env.run(fund, newer)
    assert not env.run(advance, adv1)
    assert not env.run(advance, {**adv2, "event_id": str(uuid.uuid4())})  # re-published advance
    with env.session() as s:
        rec = views.reconciliation(s, FAC, "2024-Q3")
        summary_all = views.capitation_summary(s, None, 2024)
        summary_none = views.capitation_summary(s, [], 2024)
    # The fund bears the capitation lines of the cards registered at FAC (MA_DKBD); the lines of 91001's cards
    # treated here count against 91001's fund.
    data, _ = generate(**LOADED)
    funds = by_registration(data, summary)
    own, theirs = funds[(FAC, "2024-Q3")], funds[("91001", "2024-Q3")]
    assert own.other_here == theirs.spend > 0 and own.spend + theirs.spend == totals.capitation
    assert rec["capitation"] == {
        "fund": "60000000.00",
        "fund_set": True,
        "spend": str(own.spend),
        "balance": str(Decimal(60_000_000) - own.spend),
        "spend_own_cards_here": str(own.spend),
        "spend_own_cards_elsewhere": "0.00",
        "spend_other_cards_here": str(theirs.spend),
        "registered_claims": own.claims,
    }
    # Spend by payment method is Σ line T_BHTT by MA_PTTT of the claims treated here; the three make up what the
    # facility asks.
    by_method = rec["claims"]["by_payment_method"]
    assert by_method == {"fee_for_service": str(totals.t_bhtt_gdv), "capitation": str(totals.capitation), "drg": "0.00"}
    assert sum(Decimal(v) for v in by_method.values()) == Decimal(rec["claims"]["requested"])
    # over every facility: FAC's cards and 91001's, all of the capitation lines
    assert summary_all["spend"] == str(totals.capitation)
    assert summary_all["fee_for_service"] == str(totals.t_bhtt_gdv)
    assert rec["payments"] == {"advanced": "10500000.00"}
    assert summary_all["fund"] == "60000001.00" and summary_all["advanced"] == "10500000.00"
    assert Decimal(summary_all["requested"]) == summary.t_bhtt
    assert summary_none == {k: "0.00" for k in summary_none}


def test_personal_fields_are_masked_in_one_place(loaded):
    env, _, claims = loaded
    with env.session() as s:
        shown = views.list_claims(s, personal=True, ma_lk=claims[0][0])["items"][0]
        masked = views.list_claims(s, personal=False, ma_lk=claims[0][0])["items"][0]
        one = views.get_claim(s, FAC, claims[0][0], personal=False)
    assert shown["ho_ten"] and shown["ma_the_bhyt"] and len(shown["ma_the_bhyt"]) >= 15
    for name in ("ho_ten", "ma_the_bhyt", "so_cccd", "ma_bn", "ngay_sinh", "dia_chi", "dien_thoai"):
        assert masked[name] in (None, "***"), name
        assert one[name] in (None, "***"), name
    assert masked["t_bhtt"] == shown["t_bhtt"] and masked["ma_benh_chinh"] == shown["ma_benh_chinh"]
    assert one["lines"]


def test_claims_list_filters(loaded):
    env, _, claims = loaded
    with env.session() as s:
        every = views.list_claims(s, personal=True, facility=FAC, per_page=500)
        q3 = views.list_claims(s, personal=True, period="2024-Q3", status="accepted")
        rejected = views.list_claims(s, personal=True, status="rejected")
        one = every["items"][0]
        by_card = views.list_claims(s, personal=True, card=one["ma_the_bhyt"])
        by_dx = views.list_claims(s, personal=True, diagnosis=one["ma_benh_chinh"][:3])
        scoped_out = views.list_claims(s, personal=True, facilities=["91999"])
    assert every["total"] == 80 and rejected["total"] == 2
    assert q3["total"] == sum(1 for c in claims if c[3] == 3)
    assert all(i["ma_the_bhyt"] == one["ma_the_bhyt"] for i in by_card["items"]) and by_card["total"] >= 1
    assert all(i["ma_benh_chinh"].startswith(one["ma_benh_chinh"][:3]) for i in by_dx["items"])
    assert scoped_out["total"] == 0


def test_the_reason_catalog_is_data():
    reasons = reason_catalog.catalog()
    assert {"sai_gia", "xuat_toan_theo_ty_le", "khac"} <= set(reasons)
    assert {r.kind for r in reasons.values()} == {"tu_choi", "xuat_toan"}
    assert reasons["khac"].requires_note


def test_an_assessment_sent_again_under_its_command_key_is_recorded_once(loaded):
    """The gateway's retry after a 5xx (services/common/answers.py): answered with the first answer, one row."""
    env, _, claims = loaded
    ma_lk, amount = claims[0][0], claims[0][1]
    data = {"facility_code": FAC, "items": [{"ma_lk": ma_lk, "approved_amount": str(amount)}]}

    def send() -> dict:
        return ClaimsUnitOfWork(env.factory, command_key="k:claims.record_assessments:1").run(
            handlers.record_assessments, data, "bhxh-test"
        )

    first, again = send(), send()
    assert again == first
    with env.session() as s:
        assert s.scalar(select(func.count()).select_from(Assessment)) == 1
