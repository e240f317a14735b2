"""The facility-quarter totals kept by intake and assessment (services/claims/domain/totals.py) always equal a full
recomputation from the claims and their newest assessments, after random sequences of files, files delivered
again (the same bytes, and the same MA_LK in other bytes), assessments and re-assessments; on SQLite and
PostgreSQL. The recomputation here is plain Python over the stored rows, independent of the service's SQL."""

from __future__ import annotations

import importlib.util
import random
import threading
from decimal import Decimal
from importlib import resources
from types import ModuleType

import pytest
from sqlalchemy import delete, select, text

from services.claims import handlers, views
from services.claims.domain import totals
from services.claims.models import Assessment, Claim, FacilityQuarterTotal
from tests.integration.claims.conftest import generate

FACILITIES = ("91060", "91061")


def recomputed(env) -> dict[totals.Key, dict[str, int]]:
    """Σ over accepted claims by (facility, year or 0, quarter or 0), each with its newest assessment."""
    with env.session() as s:
        claims = s.execute(
            select(
                Claim.id,
                Claim.facility_code,
                Claim.period_year,
                Claim.period_quarter,
                Claim.t_bhtt,
                Claim.bhtt_fee_for_service,
                Claim.bhtt_capitation,
                Claim.bhtt_drg,
                Claim.ma_dkbd,
            ).where(Claim.status == "accepted")
        ).all()
        newest: dict[int, Decimal] = {}
        history = select(Assessment.claim_id, Assessment.approved_amount).order_by(Assessment.id)
        for claim_id, approved in s.execute(history):
            newest[claim_id] = Decimal(approved)
    out: dict[totals.Key, dict[str, int]] = {}
    for cid, facility, year, quarter, t_bhtt, ffs, cap, drg, ma_dkbd in claims:
        row = out.setdefault((facility, year or 0, quarter or 0), dict.fromkeys(totals.FIELDS, 0))
        req = round(Decimal(t_bhtt or 0) * 100)
        row["claims"] += 1
        row["requested"] += req
        row["fee_for_service"] += round(Decimal(ffs or 0) * 100)
        row["capitation"] += round(Decimal(cap or 0) * 100)
        row["drg"] += round(Decimal(drg or 0) * 100)
        # the capitation fund that bears it: the first card's registered facility (MA_DKBD), else the treating one
        registered = next((p.strip().upper() for p in (ma_dkbd or "").split(";") if p.strip()), facility)
        fund = out.setdefault((registered, year or 0, quarter or 0), dict.fromkeys(totals.FIELDS, 0))
        fund["registered_claims"] += 1
        fund["capitation_registered"] += round(Decimal(cap or 0) * 100)
        if registered == facility:
            fund["capitation_own"] += round(Decimal(cap or 0) * 100)
        if cid in newest:
            approved = round(newest[cid] * 100)
            row["assessed"] += 1
            row["approved"] += approved
            row["rejected"] += req - approved
        else:
            row["pending"] += req
    return out


def kept(env) -> dict[totals.Key, dict[str, int]]:
    with env.session() as s:
        return views.totals_rows(s)


def assert_kept_equal_recomputed(env) -> None:
    expected = recomputed(env)
    assert kept(env) == expected
    with env.session() as s:  # and the read path answers what the scan answered
        for facility, year, quarter in expected:
            if year and quarter:
                where = [Claim.facility_code == facility, Claim.period_year == year, Claim.period_quarter == quarter]
                assert views.kept_totals(s, [facility], year, quarter) == views.claim_totals(s, where)
        for year in {k[1] for k in expected}:
            assert views.kept_totals(s, None, year) == views.claim_totals(s, [Claim.period_year == year])
        assert views.kept_totals(s, list(FACILITIES), None) == views.claim_totals(s, [])
        for (facility, year, quarter), row in expected.items():  # the spend answered: by the cards' registration
            if year and quarter:
                cap = views.reconciliation(s, facility, f"{year}-Q{quarter}")["capitation"]
                assert Decimal(cap["spend"]) * 100 == row["capitation_registered"]
                assert Decimal(cap["spend_own_cards_here"]) * 100 == row["capitation_own"]
                assert Decimal(cap["spend_other_cards_here"]) * 100 == row["capitation"] - row["capitation_own"]


def assess_some(env, rng: random.Random) -> int:
    facility = rng.choice(FACILITIES)
    with env.session() as s:
        rows = s.execute(
            select(Claim.ma_lk, Claim.t_bhtt).where(Claim.status == "accepted", Claim.facility_code == facility)
        ).all()
    if not rows:
        return 0
    items = []
    for ma_lk, t_bhtt in rng.sample(rows, min(len(rows), rng.randint(1, 6))):
        asked = Decimal(t_bhtt or 0)
        approved = rng.choice([asked, Decimal(0), (asked * Decimal(rng.random())).quantize(Decimal("0.01"))])
        item = {"ma_lk": ma_lk, "approved_amount": str(approved)}
        if approved < asked:
            item["reason_code"] = "sai_gia"
        items.append(item)
    env.run(handlers.record_assessments, {"facility_code": facility, "items": items}, "bhxh-test")
    return len(items)


@pytest.mark.parametrize("seed", [1, 2])
def test_kept_totals_equal_a_recomputation_after_random_writes(claims_env, seed):
    rng = random.Random(seed)
    delivered: list[dict] = []
    duplicates = assessed = 0
    for step in range(9):
        action = "file" if step < 2 else rng.choice(["file", "again", "assess", "assess"])
        if action == "file":
            args = {
                "facility": rng.choice(FACILITIES),
                "records": rng.randint(4, 14),
                "months": sorted(rng.sample([1, 2, 3, 4, 5, 6, 7, 8, 9], rng.randint(1, 4))),
                "seed": rng.randint(1, 10_000),
                "faults": {"card_format": rng.randint(0, 1)},
            }
            delivered.append(args)
            claims_env.load(generate(**args)[0])
        elif action == "again":
            args = rng.choice(delivered)
            data = generate(**args)[0]
            assert claims_env.register(data)["duplicate"] is True  # the same bytes: nothing queued
            # the same claims in other bytes: each MA_LK already accepted is refused as a duplicate
            other = dict(args, faults={"card_format": args["faults"]["card_format"] + 1})
            status = claims_env.load(generate(**other)[0])
            duplicates += status["errors_by_code"].get("duplicate_claim", 0)
        else:
            assessed += assess_some(claims_env, rng)
        assert_kept_equal_recomputed(claims_env)
    # the scenario did exercise what it claims to; re-assess every assessed claim once more, then check again
    with claims_env.session() as s:
        rows = s.execute(
            select(Claim.facility_code, Claim.ma_lk, Claim.t_bhtt)
            .where(Claim.id.in_(select(Assessment.claim_id)))
            .order_by(Claim.id)
        ).all()
    for facility in FACILITIES:
        items = [
            {"ma_lk": ma_lk, "approved_amount": "0", "reason_code": "sai_gia"}
            for f, ma_lk, _ in rows
            if f == facility
        ]
        if items:
            claims_env.run(handlers.record_assessments, {"facility_code": facility, "items": items}, "bhxh-test")
    assert_kept_equal_recomputed(claims_env)
    assert rows, "no claim was assessed"
    assert sum(v["claims"] for v in kept(claims_env).values()) > 0


def test_a_duplicate_delivery_is_counted_once(claims_env):
    args = {"facility": "91060", "records": 12, "months": [7, 8, 9], "seed": 3, "faults": {}}
    claims_env.load(generate(**args)[0])
    before = kept(claims_env)
    status = claims_env.load(generate(**dict(args, faults={"card_format": 1}))[0])
    assert status["records"]["accepted"] == 0
    assert status["errors_by_code"]["duplicate_claim"] == 12  # the card_format record too
    assert kept(claims_env) == before == recomputed(claims_env)


def test_a_reassessment_moves_money_between_approved_and_rejected(claims_env):
    claims_env.load(generate(facility="91060", records=6, months=[7], seed=4)[0])
    with claims_env.session() as s:
        ma_lk, t_bhtt = s.execute(select(Claim.ma_lk, Claim.t_bhtt).where(Claim.status == "accepted")).first()
        start = views.kept_totals(s, ["91060"], 2024, 3)
    req = round(Decimal(t_bhtt) * 100)
    full_items = [{"ma_lk": ma_lk, "approved_amount": str(t_bhtt)}]
    claims_env.run(handlers.record_assessments, {"facility_code": "91060", "items": full_items}, "bhxh")
    with claims_env.session() as s:
        full = views.kept_totals(s, ["91060"], 2024, 3)
    assert (full["approved"], full["rejected"], full["pending"]) == (req, 0, start["pending"] - req)
    refused_items = [{"ma_lk": ma_lk, "approved_amount": "0", "reason_code": "sai_gia"}]
    claims_env.run(handlers.record_assessments, {"facility_code": "91060", "items": refused_items}, "b")
    with claims_env.session() as s:
        refused = views.kept_totals(s, ["91060"], 2024, 3)
    assert (refused["approved"], refused["rejected"], refused["pending"]) == (0, req, full["pending"])
    assert refused["assessed"] == full["assessed"] == start["assessed"] + 1
    assert refused["requested"] == refused["approved"] + refused["rejected"] + refused["pending"]


def test_the_migration_backfills_the_totals_from_existing_claims(claims_env):
    claims_env.load(generate(facility="91060", records=60, months=[1, 5, 9], seed=8, faults={"card_format": 2})[0])
    rng = random.Random(8)
    assess_some(claims_env, rng)
    assess_some(claims_env, rng)
    expected = recomputed(claims_env)
    assert kept(claims_env) == expected and expected
    # The migration's own backfill, run on the emptied table (a downgrade would also undo later revisions).
    with claims_env.session() as s:
        s.execute(delete(FacilityQuarterTotal))
    assert kept(claims_env) == {}
    # Those backfills ran before 0010 made SQLite's amounts whole cents: on the amounts as they were then.
    exact = _migration("0010_exact_amounts_on_sqlite")
    with claims_env.session() as s:
        exact.convert(s.connection(), to_units=False)
        s.execute(text(_migration("0005_facility_quarter_totals")._BACKFILL))
        _migration("0007_capitation_by_registration").backfill(s.connection())
        exact.convert(s.connection(), to_units=True)
    assert kept(claims_env) == expected
    assert {k[0] for k in expected} == {"91060", "91001"}  # 91001's row: its cards' spend, treated at 91060


def _migration(name: str) -> ModuleType:
    path = resources.files("services.claims").joinpath(f"migrations/versions/{name}.py")
    spec = importlib.util.spec_from_file_location(f"claims_{name}", str(path))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_concurrent_intake_and_assessments_lose_no_increment(claims_env):
    """Two files of the same facility-quarters with the same MA_LK loaded at once (one accepts each claim, the other
    refuses it as a duplicate, or retries its batch when both commit at once), while two threads re-assess the
    same claims: the kept rows still equal the claims."""
    base = {"facility": "91060", "records": 60, "months": [7, 8, 9], "seed": 21}
    claims_env.load(generate(**dict(base, records=20, seed=22))[0])
    files = [claims_env.register(generate(**dict(base, faults={"card_format": k}))[0])["id"] for k in (1, 2)]
    with claims_env.session() as s:
        rows = s.execute(select(Claim.ma_lk, Claim.t_bhtt).where(Claim.status == "accepted")).all()
    errors: list[BaseException] = []

    def guarded(fn, *args):
        try:
            fn(*args)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    def assess(k: int) -> None:
        for n in range(6):
            items = [{"ma_lk": m, "approved_amount": str(t if (n + k) % 2 else 0), "reason_code": "sai_gia"}
                     for m, t in rows[:8]]
            for item in items:
                if item["approved_amount"] != "0":
                    item.pop("reason_code")
            claims_env.run(handlers.record_assessments, {"facility_code": "91060", "items": items}, f"bhxh-{k}")

    threads = [threading.Thread(target=guarded, args=(claims_env.intake(batch_size=10).process, f)) for f in files]
    threads += [threading.Thread(target=guarded, args=(assess, k)) for k in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert [claims_env.status(f)["status"] for f in files] == ["done", "done"]
    with claims_env.session() as s:
        accepted = s.execute(select(Claim.ma_lk).where(Claim.status == "accepted")).scalars().all()
    assert len(accepted) == len(set(accepted)) >= 60  # the two files shared their claims out, each once
    assert_kept_equal_recomputed(claims_env)
