"""`capitation_summary_cached` (what the plan tree asks on every call) answers exactly what the query answers,
after every kind of write that can change it: a new file's batches, an assessment, a fund, an advance."""

from __future__ import annotations

from services.claims import handlers, views
from tests.integration.claims.conftest import generate
from tests.integration.claims.test_assessments import envelope

FAC = "91060"


def both(env, facilities=None, year=2024):
    with env.session() as s:
        cached = views.capitation_summary_cached(s, facilities, year)
    with env.session() as s:
        fresh = views.capitation_summary(s, facilities, year)
    assert cached == fresh
    return cached


def test_cached_summary_follows_every_write(claims_env):
    empty = both(claims_env)
    data, _ = generate(records=30, months=[1, 2, 3], seed=4)
    claims_env.load(data)
    after_file = both(claims_env)
    assert after_file["requested"] != empty["requested"]
    assert both(claims_env, [FAC, "91001"]) == after_file  # another key, same figures
    # 91001's cards were treated at FAC: their capitation spend is 91001's, the rest stays FAC's
    only_fac = both(claims_env, [FAC])
    assert only_fac == after_file | {"spend": only_fac["spend"]}
    assert 0 < float(only_fac["spend"]) < float(after_file["spend"])

    with claims_env.session() as s:
        listed = views.list_claims(s, personal=False, facility=FAC, period="2024-Q1", status="accepted")
    first = listed["items"][0]
    items = [{"ma_lk": first["ma_lk"], "approved_amount": "0", "reason_code": "so_luong_vuot"}]
    claims_env.run(handlers.record_assessments, {"facility_code": FAC, "items": items}, "t")
    assert both(claims_env)["approved"] == "0.00"

    fund = envelope("capitation_fund_set", {"fund_id": 1, "facility_code": FAC, "period": "2024-Q1", "fund": 5_000_000})
    assert claims_env.run(handlers.record_fund, fund)
    assert both(claims_env)["fund"] == "5000000.00"
    advance = envelope("advance_paid", {"advance_id": 1, "facility_code": FAC, "period": "2024-Q1", "amount": 10**6})
    assert claims_env.run(handlers.record_advance, advance)
    final = both(claims_env)
    assert (final["fund"], final["advanced"]) == ("5000000.00", "1000000.00")

    data2, _ = generate(records=10, months=[4, 5, 6], seed=9)
    claims_env.load(data2)
    assert both(claims_env)["requested"] != final["requested"]
