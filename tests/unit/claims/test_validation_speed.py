"""The fast paths of validation (issue 19) give exactly the issues of the straightforward checks they stand in for.

Each fast path is replaced by a small reference here (the per-field loops, the Decimal money rules, no memos), and
every claim of the generator's faulty files, of the real samples, and of seeded damage to them (amounts with 3 or
more places, half-cent ties, 15-digit values, negatives, blanks, bad codes and times) must give the same issues —
codes, fields, messages, order — with the memos cold and warm.
"""

from __future__ import annotations

import copy
import io
import random
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from services.claims.domain import values
from services.claims.domain.records import Claim, Issue
from services.claims.parsing import decode_record, open_claim_file
from services.claims.validation import ValidationContext, card, formats, money, required, validate
from services.devtools.claims_generator import RECORD_FAULTS, generate

DATA = Path(__file__).resolve().parents[2] / "data" / "claims"


def _claims(data: bytes) -> Iterator[tuple[str, Claim]]:
    reader = open_claim_file(io.BytesIO(data))
    for raw in reader:
        claim, _ = decode_record(raw, reader.header)
        if claim is not None:
            yield reader.header.facility, claim


@pytest.fixture(scope="module")
def corpus() -> list[tuple[str, Claim]]:
    """Every decodable record of the generator's faulty files and of the real samples."""
    out: list[tuple[str, Claim]] = []
    for standard, sloppy in (("130", False), ("130", True), ("4210", False)):
        buf = io.BytesIO()
        generate(buf, records=300, year=2024, months=[7, 8, 9], seed=11, standard=standard, sloppy=sloppy,
                 faults={code: 2 for code in RECORD_FAULTS})
        out += _claims(buf.getvalue())
    for path in sorted(DATA.glob("*.xml")):
        out += _claims(path.read_bytes())
    assert len(out) > 850
    return out


_AMOUNTS = [
    None, Decimal(0), Decimal("0.00"), Decimal(-1), Decimal("-0.01"), Decimal("0.005"), Decimal("1.005"),
    Decimal("0.5"), Decimal("2.5"), Decimal("100"), Decimal("100.001"), Decimal("150"), Decimal("80"),
    Decimal("62.5"), Decimal("33.333"), Decimal("0.001"), Decimal("1.23456789"), Decimal("1E+3"),
    Decimal("999999999999999.99"), Decimal("123456789012345.678"),  # no NaN: the decoder never makes one
]
_STEPS = [Decimal("0.01"), Decimal(1), Decimal("1.01"), Decimal(-1), Decimal("-1.01"), Decimal("0.005")]
_LINE_ATTRS = ["quantity", "unit_price", "unit_price_bh", "thanh_tien_bv", "thanh_tien_bh", "t_nguonkhac", "t_bntt",
               "t_bncct", "t_bhtt", "tyle_tt_bh", "tyle_tt_dv", "muc_huong"]
_CLAIM_ATTRS = ["t_tongchi_bv", "t_tongchi_bh", "t_bntt", "t_bncct", "t_bhtt", "t_nguonkhac", "t_bhtt_gdv",
                "t_thuoc", "t_vtyt"]
_TEXTS = [None, "", "  ", " K01 ", "K1", "K01;K02", "x", "1", "G01", "999999999999", "202401011200", "20240101",
          "091080000001"]


def _amount(rng: random.Random, current: Decimal | None) -> Decimal | None:
    if current is not None and current.is_finite() and rng.random() < 0.5:
        return current + rng.choice(_STEPS)  # a near miss: 1 đồng tolerance, half cents
    return rng.choice(_AMOUNTS)


def _damage(rng: random.Random, claim: Claim) -> None:
    """One random change to an amount, a code, a text field of the record or of a line."""
    roll = rng.random()
    if claim.lines and roll < 0.55:
        line = rng.choice(claim.lines)
        what = rng.choice([*_LINE_ATTRS, "ma_pttt", "ma_vat_tu", "fields"])
        if what == "ma_pttt":
            line.ma_pttt = rng.choice([None, "1", "2", "3"])
        elif what == "ma_vat_tu":
            line.ma_vat_tu = rng.choice([None, "", "N01.01"])
        elif what == "fields":
            line.fields = {**line.fields, rng.choice(list(line.fields)): rng.choice(_TEXTS)}
        else:
            setattr(line, what, _amount(rng, getattr(line, what)))
    elif roll < 0.8:
        attr = rng.choice(_CLAIM_ATTRS)
        setattr(claim, attr, _amount(rng, getattr(claim, attr)))
    else:
        claim.fields = {**claim.fields, rng.choice(list(claim.fields)): rng.choice(_TEXTS)}


@pytest.fixture(scope="module")
def damaged(corpus: list[tuple[str, Claim]]) -> list[tuple[str, Claim]]:
    rng = random.Random(19)
    out = []
    for _ in range(1500):
        facility, claim = rng.choice(corpus)
        claim = copy.deepcopy(claim)
        for _ in range(rng.randint(1, 4)):
            _damage(rng, claim)
        out.append((facility, claim))
    return out


# --- the references: each fast path replaced by the plain check it stands in for -----------------------------


def _time_reference(text: str) -> bool:
    try:
        values.timestamp(text)
    except values.BadValue:
        return False
    return True


def _split_reference(raw: str | None) -> list[str]:
    return [part.strip() for part in raw.split(";")] if raw else []


def _use_references(monkeypatch: pytest.MonkeyPatch) -> None:
    # money: no integer proof, every claim goes through the Decimal rules
    monkeypatch.setattr(money, "_proved_clean", lambda claim: False)
    # required: no all-present shortcut, every field is looked at one by one
    monkeypatch.setattr(required, "_IS_NONE", lambda value: True)
    monkeypatch.setattr(required, "_all_filled", lambda spec, fields: False)
    # formats: every text judged by its test, every time read afresh, nothing remembered
    monkeypatch.setattr(formats, "_COMPILED", {
        table: tuple((name, _time_reference if test is formats._time else test, what, None, None)
                     for name, test, what in shapes)
        for table, shapes in formats._BY_TABLE.items()
    })
    monkeypatch.setattr(formats, "_moment_of", lambda raw: formats._moment({"": raw}, ""))
    # card: validity periods read afresh for every claim
    monkeypatch.setattr(card, "_periods", card._read_periods)
    monkeypatch.setattr(card, "split", _split_reference)


def _forget() -> None:
    """Empty the memos, so that a run starts cold."""
    money._MILLI.clear()
    money._MILLI[None] = None
    money._LINES.clear()
    card._READ.clear()
    for shapes in formats._COMPILED.values():
        for *_, verdicts in shapes:
            if verdicts is not None:
                verdicts.clear()


def _validate_all(claims: list[tuple[str, Claim]]) -> list[list[Issue]]:
    contexts: dict[tuple[str, bool], ValidationContext] = {}
    out = []
    for facility, claim in claims:
        for station in (False, True):  # the benefit check runs only off commune stations
            ctx = contexts.setdefault((facility, station), ValidationContext(facility, commune_station=station))
            out.append(validate(claim, ctx))
    return out


@pytest.mark.parametrize("which", ["corpus", "damaged"])
def test_fast_paths_give_the_issues_of_the_references(which, request, monkeypatch):
    claims = request.getfixturevalue(which)
    _forget()
    cold = _validate_all(claims)
    warm = _validate_all(claims)
    _use_references(monkeypatch)
    reference = _validate_all(claims)
    assert sum(map(len, reference)) > 0
    for fast_issues, warm_issues, expected in zip(cold, warm, reference, strict=True):
        assert fast_issues == expected
        assert warm_issues == expected


def test_the_references_see_what_the_fast_paths_skip(damaged):
    """The damage reaches the rules whose fast paths are tested: the comparison above is not vacuous."""
    _forget()
    found = {issue.code for issues in _validate_all(damaged) for issue in issues}
    assert {"amount_mismatch", "amount_negative", "value_invalid", "subtotal_mismatch", "t_bhtt_gdv_mismatch",
            "missing_field", "missing_descriptive_field", "field_format"} <= found


def test_integer_proof_holds_only_for_claims_the_decimal_rules_pass(corpus, damaged, monkeypatch):
    """Wherever the integer proof says clean, the Decimal rules find nothing; it proves most of the claims."""
    _forget()
    proved = [(f, c) for f, c in corpus + damaged if c.standard == "130" and money._proved_clean(c)]
    assert len(proved) > 400
    monkeypatch.setattr(money, "_proved_clean", lambda claim: False)
    for facility, claim in proved:
        out: list[Issue] = []
        money.check(claim, ValidationContext(facility), out)
        assert out == [], claim.ma_lk


@pytest.mark.parametrize("text", [
    "0", "0.00", "1", "12.5", "9600.00", "0.005", "1.015", "2.675", "0.125", "1.004", "34500", "100", "0.001",
    "999999999999999.99", "123456789012345.678",
])
def test_thousandths_are_exact(text):
    value = Decimal(text)
    assert money._milli(value) * Decimal(1) == value * 1000


@pytest.mark.parametrize("value", [
    Decimal("0.0001"), Decimal("1.23456789"), Decimal(-1), Decimal("-0.01"), Decimal("1E+15"),
    Decimal("1000000000000000.00"), Decimal("NaN"), Decimal("Infinity"),
])
def test_values_the_integer_proof_leaves_to_the_decimal_rules(value):
    assert money._milli(value) == -1


def test_integer_rounding_is_the_decimal_rounding():
    """`_r2m` rounds half up to a cent exactly as `_r2` (quantize, ROUND_HALF_UP) on products of plain values."""
    rng = random.Random(4750)
    for _ in range(20000):
        q = Decimal(rng.randint(0, 99999)) / 1000  # quantities: up to 3 places
        price = Decimal(rng.randint(0, 10**9)) / 100
        rate = Decimal(rng.choice(["0", "50", "62.5", "80", "95", "100", "33.333"]))
        exact = q * price * rate / 100
        expected = exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        num = int(q * 1000) * int(price * 1000) * int(rate * 1000)
        assert money._r2m(num, 1000 * 1000 * 100) == expected * 1000
