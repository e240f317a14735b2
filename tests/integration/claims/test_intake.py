"""The intake pipeline on SQLite and PostgreSQL: every fault found, nothing counted twice, resumable."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select, update

from services.claims import views
from services.claims.models import Claim, ClaimFile, ClaimLine, ClaimTable, Outbox
from services.common.outbox import utcnow
from services.devtools import claims_generator as generator
from tests.integration.claims.conftest import SimulatedCrash, by_registration, crash_after, generate

ALL_RECORD_FAULTS = {code: 1 for code in generator.RECORD_FAULTS}


def _claims(env, file_id):
    with env.session() as s:
        return {c.record_index: c for c in s.scalars(select(Claim).where(Claim.file_id == file_id))}


def test_every_fault_is_named_on_its_record(claims_env):
    data, summary = generate(records=120, faults=ALL_RECORD_FAULTS | {"record_count_mismatch": 1}, sloppy=True)
    st = claims_env.load(data)
    assert st["status"] == "done"
    assert st["records"] == {
        "total": 120,
        "accepted": summary.accepted,
        "rejected": 120 - summary.accepted,
        "processed": 120,
        "warnings": st["records"]["warnings"],
    }
    by_record: dict[int | None, set[str]] = {}
    for e in st["errors"]:
        by_record.setdefault(e["record_index"], set()).add(e["code"])
        assert e["message"] and e["severity"] in ("critical", "warning")
    rows = _claims(claims_env, st["id"])
    for index, code in summary.fault_index.items():
        assert code in by_record.get(index, set()), (index, code, by_record.get(index))
        expected = "rejected" if code in generator.CRITICAL_FAULTS else "accepted"
        assert rows[index].status == expected, (index, code)
    assert "record_count_mismatch" in by_record[None]
    # records without a planted fault raise no critical issue
    clean = set(range(120)) - set(summary.fault_index)
    assert all(rows[i].status == "accepted" for i in clean)


def test_reconciliation_equals_the_generators_own_sums(claims_env):
    data, summary = generate(records=300, months=[2, 3, 4], faults={"amount_mismatch": 5, "card_format": 3})
    claims_env.load(data)
    funds = by_registration(data, summary)
    assert {f for f, _ in funds} == {"91060", "91001"}  # some cards are registered at another facility
    with claims_env.session() as s:
        for (facility, period), totals in summary.totals.items():
            rec = views.reconciliation(s, facility, period)
            assert rec["claims"]["count"] == totals.count
            assert Decimal(rec["claims"]["requested"]) == totals.t_bhtt
            assert Decimal(rec["claims"]["pending"]) == totals.t_bhtt
            # the lines treated here, whoever's cards; the spend against the fund: the cards registered here
            assert Decimal(rec["claims"]["by_payment_method"]["capitation"]) == totals.capitation
            own = funds[(facility, period)]
            assert own.other_here > 0 and own.spend + own.other_here == totals.capitation
            assert Decimal(rec["capitation"]["spend"]) == own.spend
            assert Decimal(rec["capitation"]["balance"]) == -own.spend
            assert Decimal(rec["capitation"]["spend_own_cards_here"]) == own.own_here == own.spend
            assert Decimal(rec["capitation"]["spend_own_cards_elsewhere"]) == 0
            assert Decimal(rec["capitation"]["spend_other_cards_here"]) == own.other_here
            assert rec["capitation"]["registered_claims"] == own.claims
        for (facility, period), fund in funds.items():  # 91001 treated nobody: its cards were treated at 91060
            if facility == "91001":
                rec = views.reconciliation(s, facility, period)
                assert rec["claims"]["count"] == 0 and rec["claims"]["requested"] == "0.00"
                assert Decimal(rec["capitation"]["spend"]) == fund.spend > 0
                assert Decimal(rec["capitation"]["spend_own_cards_elsewhere"]) == fund.spend
                assert rec["capitation"]["spend_own_cards_here"] == rec["capitation"]["spend_other_cards_here"]
                assert rec["capitation"]["spend_own_cards_here"] == "0.00"
        # lines and the verbatim tables are stored with their claims
        assert s.scalar(select(func.count()).select_from(ClaimLine)) > 300
        assert s.scalar(select(func.count()).select_from(ClaimTable)) >= 0


def test_the_same_bytes_are_registered_once(claims_env):
    data, _ = generate(records=20)
    first = claims_env.register(data)
    again = claims_env.register(data)
    assert again == first | {"duplicate": True}
    assert first["duplicate"] is False
    claims_env.intake().process(first["id"])
    third = claims_env.register(data)
    assert third["id"] == first["id"] and third["status"] == "done"
    with claims_env.session() as s:
        events = s.scalar(select(func.count()).select_from(Outbox).where(Outbox.event_type == "file_received"))
        files = s.scalar(select(func.count()).select_from(ClaimFile))
    assert (events, files) == (1, 1)


def test_records_sent_again_in_another_file_are_duplicates(claims_env):
    data, summary = generate(records=60, faults={"date_order": 2})
    first = claims_env.load(data)
    assert first["records"]["accepted"] == summary.accepted == 58
    # Same records, different bytes (a comment after the envelope): a new file, every MA_LK already taken.
    second = claims_env.load(data + b"<!-- gui lai -->\n")
    assert second["id"] != first["id"]
    assert second["records"]["accepted"] == 0
    assert second["records"]["rejected"] == 60
    dup = [e for e in second["errors"] if e["code"] == "duplicate_claim"]
    assert len(dup) == 58 and all(e["severity"] == "critical" and e["field"] == "MA_LK" for e in dup)
    with claims_env.session() as s:
        (facility, period), totals = next(iter(summary.totals.items()))
        rec = views.reconciliation(s, facility, period)
    assert rec["claims"]["count"] == totals.count  # counted once


def test_a_crashed_worker_is_resumed_where_it_stopped(claims_env):
    data, summary = generate(records=230, faults={"duplicate_claim": 2, "missing_field": 2})
    reg = claims_env.register(data)
    with pytest.raises(SimulatedCrash):
        claims_env.intake(batch_size=50, after_batch=crash_after(2)).process(reg["id"])
    mid = claims_env.status(reg["id"])
    assert mid["status"] == "processing" and mid["records"]["processed"] == 100
    assert claims_env.intake(batch_size=50).process(reg["id"]) == "done"
    st = claims_env.status(reg["id"])
    assert st["records"]["accepted"] == summary.accepted
    assert st["records"]["processed"] == 230
    with claims_env.session() as s:
        rows = s.scalar(select(func.count()).select_from(Claim).where(Claim.file_id == reg["id"]))
        files = s.get(ClaimFile, reg["id"])
        assert files.attempts == 2 and files.next_index == 230
    assert rows == 230
    assert sorted(e["code"] for e in st["errors"] if e["code"] == "duplicate_claim") == ["duplicate_claim"] * 2


def test_a_leased_file_is_left_to_its_worker_until_the_lease_expires(claims_env):
    data, summary = generate(records=30)
    reg = claims_env.register(data)
    with claims_env.session() as s:
        s.execute(
            update(ClaimFile)
            .where(ClaimFile.id == reg["id"])
            .values(lease_owner="other-replica", lease_until=utcnow() + timedelta(minutes=5))
        )
    assert claims_env.intake().process(reg["id"]) == "busy"
    assert claims_env.intake().stalled(grace_seconds=0) == []
    with claims_env.session() as s:
        s.execute(
            update(ClaimFile).where(ClaimFile.id == reg["id"]).values(lease_until=utcnow() - timedelta(seconds=1))
        )
    assert claims_env.intake().stalled(grace_seconds=0) == [reg["id"]]
    assert claims_env.intake().process(reg["id"]) == "done"
    assert claims_env.intake().process(reg["id"]) == "finished"
    assert claims_env.status(reg["id"])["records"]["accepted"] == summary.accepted


def test_a_file_that_keeps_crashing_is_parked(claims_env):
    data, _ = generate(records=5)
    reg = claims_env.register(data)
    with claims_env.session() as s:
        s.execute(update(ClaimFile).where(ClaimFile.id == reg["id"]).values(attempts=5))
    assert claims_env.intake(max_attempts=5).process(reg["id"]) == "failed"
    st = claims_env.status(reg["id"])
    assert st["status"] == "failed"
    assert [e["code"] for e in st["errors"]] == ["processing_failed"]


@pytest.mark.parametrize(
    ("mangle", "code"),
    [
        (lambda d: d[: len(d) // 2], "xml_malformed"),
        (lambda d: d.replace(b"</DANHSACHHOSO>", b"</DANHSACHHOSO></KHAC>", 1), "xml_malformed"),
        (
            lambda d: (
                b'<?xml version="1.0"?><!DOCTYPE GIAMDINHHS [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;">]>'
                + d[d.index(b"<GIAMDINHHS") :].replace(b"<NGAYLAP>", b"<NGAYLAP>&b;", 1)
            ),
            "xml_malformed",
        ),
        (
            lambda d: b'<?xml version="1.0"?><!DOCTYPE x SYSTEM "file:///etc/passwd">' + d[d.index(b"<GIAMDINHHS") :],
            "xml_malformed",
        ),
        (lambda d: d.replace(b"GIAMDINHHS", b"HOSOBHYT"), "envelope_invalid"),
        (lambda d: b"this is not xml at all", "xml_malformed"),
    ],
)
def test_a_file_refused_as_a_whole_leaves_no_claims(claims_env, mangle, code):
    data, _ = generate(records=40)
    st = claims_env.load(mangle(data))
    assert st["status"] == "failed"
    assert [(e["code"], e["severity"], e["ma_lk"]) for e in st["errors"]] == [(code, "critical", None)]
    assert st["records"]["accepted"] == st["records"]["rejected"] == 0
    with claims_env.session() as s:
        assert s.scalar(select(func.count()).select_from(Claim).where(Claim.file_id == st["id"])) == 0


def test_events_carry_counts_per_month_and_the_spend_level_per_quarter(claims_env):
    data, summary = generate(records=150, months=[3, 4], faults={"icd10_invalid": 4})
    st = claims_env.load(data)
    with claims_env.session() as s:
        events = [(o.event_type, o.payload) for o in s.scalars(select(Outbox).order_by(Outbox.id))]
    accepted = [p for t, p in events if t == "records_accepted"]
    assert {p["period"] for p in accepted} == {"2024-03", "2024-04"}
    assert sum(p["accepted"] for p in accepted) == summary.accepted
    assert sum(p["rejected"] for p in accepted) == 4
    assert sum(Decimal(p["t_bhtt"]) for p in accepted) == summary.t_bhtt
    # one level per quarter of every facility whose fund the file's claims count against (MA_DKBD): the file's
    # facility for its own cards, 91001 for its cards treated here
    spend = {(p["facility_code"], p["period"]): p for t, p in events if t == "capitation_spend_changed"}
    funds = by_registration(data, summary)
    assert set(spend) == set(funds) and {f for f, _ in funds} == {"91060", "91001"}
    for key, fund in funds.items():
        assert Decimal(spend[key]["spend"]) == fund.spend
        assert spend[key]["claims"] == fund.claims
    assert sum(f.spend + f.other_here for k, f in funds.items() if k[0] == "91060") == summary.capitation
    assert all(p["file_id"] == st["id"] for p in accepted)


def test_a_qd4210_archive_file_loads(claims_env):
    data, summary = generate(records=40, standard="4210", faults={"amount_mismatch": 2})
    st = claims_env.load(data)
    assert st["status"] == "done"
    assert st["records"]["accepted"] == summary.accepted
    with claims_env.session() as s:
        (facility, period), totals = next(iter(summary.totals.items()))
        rec = views.reconciliation(s, facility, period)
    assert Decimal(rec["claims"]["by_payment_method"]["capitation"]) == totals.capitation
    assert Decimal(rec["capitation"]["spend"]) == by_registration(data, summary)[(facility, period)].spend
