"""Money identities of QĐ 130 (as amended by QĐ 4750), tolerance 1 đồng.

Line (XML2/XML3):
  THANH_TIEN_BV = SO_LUONG × DON_GIA[_BV] (× TYLE_TT_DV/100 for XML3, QĐ 4750)
  THANH_TIEN_BH = SO_LUONG × DON_GIA[_BH] × TYLE_TT_BH/100
  without other sources: T_BHTT = THANH_TIEN_BH × MUC_HUONG/100, T_BNCCT = THANH_TIEN_BH − T_BHTT,
  T_BNTT = THANH_TIEN_BV − THANH_TIEN_BH; with T_NGUONKHAC > 0 the other source comes off T_BNTT,
  then T_BNCCT, then T_BHTT, so each part is at most its value without it, and the four add up
  to THANH_TIEN_BV.
Summary (XML1): T_TONGCHI_BV, T_TONGCHI_BH, T_BNTT, T_BNCCT, T_BHTT, T_NGUONKHAC are the sums of the
  lines; T_BHTT_GDV = Σ T_BHTT of lines with MA_PTTT = 1 (a warning); T_BHTT = T_TONGCHI_BH − T_BNCCT − (the
  other-source share of the insured part, between 0 and T_NGUONKHAC).
QĐ 4210 files: THANH_TIEN against SO_LUONG × DON_GIA (with or without TYLE_TT) and the sums.

Each identity is checked on the values as written, so one wrong figure gives one issue where
it sits, not a cascade; identities with an unreadable operand are skipped (value_invalid says why).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext
from itertools import repeat
from operator import attrgetter

from services.claims.domain.records import Claim, ClaimLine, Issue, field_name
from services.claims.validation.catalog import make_issue
from services.claims.validation.context import ValidationContext
from services.common.money import CENT, format_vnd

ONE = Decimal(1)  # tolerance: 1 đồng
ZERO = Decimal(0)
HUNDRED = Decimal(100)


def _r2(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _off(actual: Decimal, expected: Decimal) -> bool:
    """Off by more than 1 đồng."""
    return not -ONE <= actual - expected <= ONE


def _mismatch(
    claim: Claim, table: str, name: str, actual: Decimal, expected: Decimal, rule: str,
    line: ClaimLine | None = None,
) -> Issue:
    return make_issue(
        "amount_mismatch", table=table, field=name, ma_lk=claim.ma_lk, value=format_vnd(actual),
        line=line.index if line else None, stt=line.stt if line else None,
        rule=rule, expected=format_vnd(expected), diff=format_vnd(abs(actual - expected)),
    )


# Products of 15-digit amounts exceed the default 28 digits, and quantize() would then fail.
_WIDE = Context(prec=64)


def check(claim: Claim, ctx: ValidationContext, out: list[Issue]) -> None:
    if claim.standard == "130" and _proved_clean(claim):
        return  # every rule below holds, shown in exact integers: they would say nothing
    with localcontext(_WIDE):
        clean = True
        for line in claim.lines:
            clean &= _line(claim, line, out)
        _summary(claim, out, clean)


# (ClaimLine attribute, QĐ 130 name) of line amounts that may not be negative
_LINE_NONNEG = (
    ("quantity", "SO_LUONG"), ("unit_price", "DON_GIA"), ("unit_price_bh", "DON_GIA_BH"),
    ("thanh_tien_bv", "THANH_TIEN_BV"), ("thanh_tien_bh", "THANH_TIEN_BH"), ("t_nguonkhac", "T_NGUONKHAC"),
    ("t_bntt", "T_BNTT"), ("t_bncct", "T_BNCCT"), ("t_bhtt", "T_BHTT"),
)
_PERCENTS = (("tyle_tt_bh", "TYLE_TT_BH"), ("tyle_tt_dv", "TYLE_TT_DV"), ("muc_huong", "MUC_HUONG"))


def _file_names(standard: str, table: str, pairs: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    """(attribute, the field's name in this standard and table), computed once per kind of line."""
    out = []
    for attr, name in pairs:
        if name == "DON_GIA" and table == "XML3":
            name = "DON_GIA_BV"
        elif name == "DON_GIA_BH" and table == "XML2":
            name = "DON_GIA"
        out.append((attr, field_name(standard, name)))
    return tuple(out)


_NAMES = {
    (std, table): (_file_names(std, table, _LINE_NONNEG), _file_names(std, table, _PERCENTS))
    for std in ("130", "4210") for table in ("XML2", "XML3")
}


def _line(claim: Claim, line: ClaimLine, out: list[Issue]) -> bool:
    """Check one line; False when its amounts are negative or out of range (no identities then)."""
    ok = True
    reported: set[str] = set()
    nonneg, percents = _NAMES[claim.standard, line.table]
    for attr, fname in nonneg:
        value = getattr(line, attr)
        if value is not None and value < 0 and fname not in reported:
            reported.add(fname)
            ok = False
            out.append(make_issue(
                "amount_negative", table=line.table, field=fname, ma_lk=claim.ma_lk,
                line=line.index, stt=line.stt, value=value,
            ))
    for attr, fname in percents:
        value = getattr(line, attr)
        if value is not None and not ZERO <= value <= HUNDRED:
            ok = False
            out.append(make_issue(
                "value_invalid", table=line.table, field=fname, ma_lk=claim.ma_lk,
                line=line.index, stt=line.stt, value=value, detail="tỷ lệ phải từ 0 đến 100 (%)",
            ))
    if not ok:
        return False
    q, price, bv, bh = line.quantity, line.unit_price, line.thanh_tien_bv, line.thanh_tien_bh
    tyle, dv = line.tyle_tt_bh, line.tyle_tt_dv
    t = line.table
    # The usual reading first; an accepted alternative is computed only when it is needed.
    if claim.standard == "4210":
        if q is not None and price is not None and bv is not None:
            full = _r2(q * price)
            if _off(bv, full) and (tyle is None or _off(bv, _r2(full * tyle / HUNDRED))):
                out.append(_mismatch(claim, t, "THANH_TIEN", bv, full, "SO_LUONG × DON_GIA", line))
        return True
    if q is not None and price is not None and bv is not None:
        full = _r2(q * price)
        if _off(bv, full):
            expected = _r2(q * price * dv / HUNDRED) if dv is not None else full
            if _off(bv, expected):
                rule = "SO_LUONG × " + ("DON_GIA_BV × TYLE_TT_DV/100" if t == "XML3" else "DON_GIA")
                out.append(_mismatch(claim, t, "THANH_TIEN_BV", bv, expected, rule, line))
    price_bh = line.unit_price_bh
    if q is not None and price_bh is not None and bh is not None and tyle is not None:
        expected = _r2(q * price_bh * tyle / HUNDRED)
        if _off(bh, expected) and (dv is None or _off(bh, _r2(q * price_bh * tyle * dv / HUNDRED / HUNDRED))):
            rule = "SO_LUONG × " + ("DON_GIA_BH" if t == "XML3" else "DON_GIA") + " × TYLE_TT_BH/100"
            out.append(_mismatch(claim, t, "THANH_TIEN_BH", bh, expected, rule, line))
    _line_parts(claim, line, out)
    return True


def _line_parts(claim: Claim, line: ClaimLine, out: list[Issue]) -> None:
    bv, bh, mh = line.thanh_tien_bv, line.thanh_tien_bh, line.muc_huong
    bhtt, bncct, bntt, other = line.t_bhtt, line.t_bncct, line.t_bntt, line.t_nguonkhac
    if bv is None or bh is None or mh is None or other is None:
        return
    t = line.table
    bhtt0 = _r2(bh * mh / HUNDRED)  # before any other source
    if other == 0:
        if bhtt is not None and _off(bhtt, bhtt0):
            out.append(_mismatch(claim, t, "T_BHTT", bhtt, bhtt0, "THANH_TIEN_BH × MUC_HUONG/100", line))
        if bncct is not None and _off(bncct, bh - bhtt0):
            out.append(_mismatch(claim, t, "T_BNCCT", bncct, bh - bhtt0, "THANH_TIEN_BH − T_BHTT", line))
        if bntt is not None and _off(bntt, bv - bh):
            out.append(_mismatch(claim, t, "T_BNTT", bntt, bv - bh, "THANH_TIEN_BV − THANH_TIEN_BH", line))
        return
    if bhtt is None or bncct is None or bntt is None:
        return
    total = bntt + bncct + bhtt + other
    if _off(total, bv):
        out.append(_mismatch(
            claim, t, "T_NGUONKHAC", other, bv - bntt - bncct - bhtt,
            "T_BNTT + T_BNCCT + T_BHTT + T_NGUONKHAC = THANH_TIEN_BV", line,
        ))
    for name, part, ceiling, rule in (
        ("T_BHTT", bhtt, bhtt0, "tối đa THANH_TIEN_BH × MUC_HUONG/100"),
        ("T_BNCCT", bncct, bh - bhtt0, "tối đa THANH_TIEN_BH − THANH_TIEN_BH × MUC_HUONG/100"),
        ("T_BNTT", bntt, bv - bh, "tối đa THANH_TIEN_BV − THANH_TIEN_BH"),
    ):
        if part > ceiling + ONE:
            out.append(_mismatch(claim, t, name, part, ceiling, rule, line))


def _sum(values: Iterable[Decimal | None]) -> Decimal | None:
    total = ZERO
    for value in values:
        if value is None:
            return None
        total += value
    return total


_SUMMARY_NONNEG = (
    ("t_tongchi_bv", "T_TONGCHI_BV"), ("t_tongchi_bh", "T_TONGCHI_BH"), ("t_bntt", "T_BNTT"),
    ("t_bncct", "T_BNCCT"), ("t_bhtt", "T_BHTT"), ("t_nguonkhac", "T_NGUONKHAC"),
    ("t_bhtt_gdv", "T_BHTT_GDV"), ("t_thuoc", "T_THUOC"), ("t_vtyt", "T_VTYT"),
)


def _summary(claim: Claim, out: list[Issue], lines_clean: bool) -> None:
    negative = False
    reported: set[str] = set()
    for attr, name in _SUMMARY_NONNEG:
        value = getattr(claim, attr)
        fname = field_name(claim.standard, name)
        if value is not None and value < 0 and fname not in reported:
            reported.add(fname)
            negative = True
            out.append(make_issue("amount_negative", table="XML1", field=fname, ma_lk=claim.ma_lk, value=value))
    if negative or not lines_clean:
        return
    lines = claim.lines
    sums = [
        ("t_tongchi_bv", "T_TONGCHI_BV", "thanh_tien_bv"),
        ("t_tongchi_bh", "T_TONGCHI_BH", "thanh_tien_bh"),
        ("t_bncct", "T_BNCCT", "t_bncct"),
        ("t_bhtt", "T_BHTT", "t_bhtt"),
        ("t_nguonkhac", "T_NGUONKHAC", "t_nguonkhac"),
    ]
    if claim.standard == "130":
        sums.append(("t_bntt", "T_BNTT", "t_bntt"))
    else:
        sums.pop(1)  # one T_TONGCHI in QĐ 4210
    for attr, name, line_attr in sums:
        actual = getattr(claim, attr)
        expected = _sum(getattr(ln, line_attr) for ln in lines)
        if actual is not None and expected is not None and _off(actual, expected):
            fname = field_name(claim.standard, name)
            out.append(_mismatch(claim, "XML1", fname, actual, expected, f"Σ {line_attr.upper()} của XML2, XML3"))
    bhtt, gdv = claim.t_bhtt, claim.t_bhtt_gdv
    if claim.standard == "130" and gdv is not None:
        # A warning (DOMAIN: real exporters write 0 here): spend is taken from each line's MA_PTTT, never from it.
        if all(ln.ma_pttt is not None for ln in lines):
            expected = _sum(ln.t_bhtt for ln in lines if ln.ma_pttt == "1")
            if expected is not None and _off(gdv, expected):
                out.append(_gdv_issue(claim, gdv, expected, "Σ T_BHTT của các dòng có MA_PTTT = 1"))
        if bhtt is not None and gdv > bhtt + ONE:
            out.append(_gdv_issue(claim, gdv, bhtt, "mức tối đa T_BHTT"))
    bh, bncct, other = claim.t_tongchi_bh, claim.t_bncct, claim.t_nguonkhac
    if claim.standard == "130" and None not in (bhtt, bh, bncct, other):
        assert bhtt is not None and bh is not None and bncct is not None and other is not None
        share = bh - bncct - bhtt  # what other sources took off the insured part
        if share < -ONE or share > other + ONE:
            out.append(_mismatch(
                claim, "XML1", "T_BHTT", bhtt, bh - bncct - min(max(share, ZERO), other),
                "T_TONGCHI_BH − T_BNCCT − phần nguồn khác",
            ))
    _subtotals(claim, out)


def _gdv_issue(claim: Claim, gdv: Decimal, expected: Decimal, rule: str) -> Issue:
    return make_issue(
        "t_bhtt_gdv_mismatch", table="XML1", field="T_BHTT_GDV", ma_lk=claim.ma_lk, value=format_vnd(gdv),
        rule=rule, expected=format_vnd(expected),
    )


def _subtotals(claim: Claim, out: list[Issue]) -> None:
    """T_THUOC / T_VTYT against their lines: a warning, the payment does not depend on them."""
    drugs = _sum(ln.thanh_tien_bv for ln in claim.lines if ln.table == "XML2")
    supplies = _sum(ln.thanh_tien_bv for ln in claim.lines if ln.table == "XML3" and ln.ma_vat_tu)
    for name, actual, expected, rule in (
        ("T_THUOC", claim.t_thuoc, drugs, "Σ THANH_TIEN_BV của XML2"),
        ("T_VTYT", claim.t_vtyt, supplies, "Σ THANH_TIEN_BV của vật tư ở XML3"),
    ):
        if actual is not None and expected is not None and _off(actual, expected):
            out.append(make_issue(
                "subtotal_mismatch", table="XML1", field=name, ma_lk=claim.ma_lk, value=format_vnd(actual),
                rule=rule, expected=format_vnd(expected),
            ))


# --- the fast path: proving a claim clean in exact integers ----------------------------------------------------
# Most claims are clean, and Decimal arithmetic (with its context) costs several times what int does. `_clean`
# re-states the identities above over whole thousandths (v × 1000: plain amounts have 2 places, quantities 3),
# and answers True only when none of them is off. Anything it does not prove (a negative, a value with more
# places or of 15 digits, a percent over 100, an identity off) answers False, and the Decimal rules above decide
# and word the issues. So the fast path can only skip rules that would have found nothing. Never float.

_M = 1000  # a value v is read as the int v × _M
_M_LIMIT = 10**15 * _M  # QĐ 130 amounts have at most 15 digits before the point
_PCT = 100 * _M
_UNSEEN = object()
_MILLI: dict[Decimal | None, int | None] = {None: None}  # value -> thousandths, -1 when not plain
_MILLI_MAX = 50_000  # bounded, like the decoder's memos
_UNSEEN_ALWAYS = repeat(_UNSEEN)

_LINE_VALUES = attrgetter(
    "quantity", "unit_price", "unit_price_bh", "thanh_tien_bv", "thanh_tien_bh", "t_nguonkhac", "t_bntt",
    "t_bncct", "t_bhtt", "tyle_tt_bh", "tyle_tt_dv", "muc_huong",
)
_CLAIM_VALUES = attrgetter(
    "t_tongchi_bv", "t_tongchi_bh", "t_bntt", "t_bncct", "t_bhtt", "t_nguonkhac", "t_bhtt_gdv", "t_thuoc", "t_vtyt",
)


def _milli(value: Decimal | None) -> int | None:
    """value × 1000 as an int (memoised); -1 when it is not a non-negative value of ≤ 3 places below 10^15."""
    if value is None:
        return None
    try:
        num, den = value.as_integer_ratio()
    except (ValueError, OverflowError):  # NaN, infinity
        return -1
    whole, rest = divmod(num * _M, den)
    milli = whole if rest == 0 and 0 <= whole < _M_LIMIT else -1
    if len(_MILLI) >= _MILLI_MAX:
        _MILLI.clear()
        _MILLI[None] = None
    _MILLI[value] = milli
    return milli


def _millis(values: tuple[Decimal | None, ...]) -> list[int | None]:
    got = list(map(_MILLI.get, values, _UNSEEN_ALWAYS))
    if _UNSEEN in got:
        got = [_milli(v) if m is _UNSEEN else m for m, v in zip(got, values, strict=True)]
    return got


def _r2m(num: int, den: int) -> int:
    """num/den thousandths (≥ 0) rounded half up to a cent, in thousandths: `_r2` in integers."""
    return (2 * num + 10 * den) // (20 * den) * 10


def _line_clean(v: list[int | None]) -> bool:
    """`_line` and `_line_parts` of a QĐ 130 line would say nothing (values in thousandths, none negative)."""
    q, price, price_bh, bv, bh, other, bntt, bncct, bhtt, tyle, dv, mh = v
    if (tyle is not None and tyle > _PCT) or (dv is not None and dv > _PCT) or (mh is not None and mh > _PCT):
        return False
    if q is not None and price is not None and bv is not None:
        full = _r2m(q * price, _M)
        if not -_M <= bv - full <= _M:
            expected = _r2m(q * price * dv, _M * _M * 100) if dv is not None else full
            if not -_M <= bv - expected <= _M:
                return False
    if q is not None and price_bh is not None and bh is not None and tyle is not None:
        expected = _r2m(q * price_bh * tyle, _M * _M * 100)
        if not -_M <= bh - expected <= _M and (
            dv is None or not -_M <= bh - _r2m(q * price_bh * tyle * dv, _M * _M * _M * 10_000) <= _M
        ):
            return False
    if bv is None or bh is None or mh is None or other is None:
        return True
    bhtt0 = _r2m(bh * mh, _M * 100)
    if other == 0:
        return (
            (bhtt is None or -_M <= bhtt - bhtt0 <= _M)
            and (bncct is None or -_M <= bncct - (bh - bhtt0) <= _M)
            and (bntt is None or -_M <= bntt - (bv - bh) <= _M)
        )
    if bhtt is None or bncct is None or bntt is None:
        return True
    return (
        -_M <= bntt + bncct + bhtt + other - bv <= _M
        and bhtt <= bhtt0 + _M and bncct <= bh - bhtt0 + _M and bntt <= bv - bh + _M
    )


def _total(column: tuple[int | None, ...] | list[int | None]) -> int | None:
    """`_sum` in integers: None when a value is missing."""
    return None if None in column else sum(column)  # type: ignore[arg-type]


def _near(actual: int | None, expected: int | None) -> bool:
    """Not `_off` (or not checked, a side missing)."""
    return actual is None or expected is None or -_M <= actual - expected <= _M


_LINES: dict[tuple[Decimal | None, ...], list[int | None] | None] = {}  # line values -> thousandths if clean
_LINES_MAX = 20_000  # lines repeat (the same drug, quantity and price): a file has far fewer kinds than lines


def _line_millis(values: tuple[Decimal | None, ...]) -> list[int | None] | None:
    """The line's values in thousandths when `_line` would say nothing of it, else None; remembered."""
    v: list[int | None] | None = _millis(values)
    if -1 in v or not _line_clean(v):  # type: ignore[operator, arg-type]
        v = None
    if len(_LINES) >= _LINES_MAX:
        _LINES.clear()
    _LINES[values] = v
    return v


def _proved_clean(claim: Claim) -> bool:
    try:
        return _clean(claim)
    except TypeError:  # a signalling NaN cannot be a dict key: the Decimal rules decide
        return False


def _clean(claim: Claim) -> bool:
    """`_line` of every line and `_summary` of a QĐ 130 claim would say nothing."""
    seen = _LINES.get
    rows = []
    own: list[int | None] = []  # T_BHTT of the lines paid by fee for service (MA_PTTT = 1)
    drugs: list[int | None] = []
    supplies: list[int | None] = []
    every_pttt = True
    for line in claim.lines:
        values = _LINE_VALUES(line)
        v = seen(values, _UNSEEN)
        if v is _UNSEEN:
            v = _line_millis(values)
        if v is None:
            return False
        rows.append(v)
        pttt = line.ma_pttt
        if pttt is None:
            every_pttt = False
        elif pttt == "1":
            own.append(v[8])
        if line.table == "XML2":
            drugs.append(v[3])
        elif line.ma_vat_tu:
            supplies.append(v[3])
    t = _millis(_CLAIM_VALUES(claim))
    if -1 in t:
        return False
    tbv, tbh, tbntt, tbncct, tbhtt, tother, gdv, thuoc, vtyt = t
    cols = list(zip(*rows, strict=True)) if rows else [()] * 12
    for actual, column in (
        (tbv, cols[3]), (tbh, cols[4]), (tbncct, cols[7]), (tbhtt, cols[8]), (tother, cols[5]), (tbntt, cols[6]),
    ):
        if actual is not None and None not in column and not -_M <= actual - sum(column) <= _M:  # type: ignore[arg-type]
            return False
    if gdv is not None and (
        (every_pttt and not _near(gdv, _total(own))) or (tbhtt is not None and gdv > tbhtt + _M)
    ):
        return False
    if tbhtt is not None and tbh is not None and tbncct is not None and tother is not None:
        share = tbh - tbncct - tbhtt
        if share < -_M or share > tother + _M:
            return False
    return _near(thuoc, _total(drugs)) and _near(vtyt, _total(supplies))
