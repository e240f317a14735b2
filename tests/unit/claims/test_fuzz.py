"""Random damage to a valid file never raises anything but FileRejected, and every issue is catalogued."""

from __future__ import annotations

import base64
import io
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.claims.parsing import FileRejected, open_claim_file
from services.claims.reading import check_record
from services.claims.validation import CATALOG, ValidationContext
from services.devtools.claims_generator import generate
from tests.unit.claims.builders import DRUG, envelope, tables


def _base(sloppy: bool) -> bytes:
    buf = io.BytesIO()
    generate(buf, records=3, year=2024, months=[7], seed=2, sloppy=sloppy,
             faults={"amount_mismatch": 1} if not sloppy else None)
    return buf.getvalue()


BASES = (_base(False), _base(True))
_CONTENT = re.compile(rb"<NOIDUNGFILE>([^<]*)</NOIDUNGFILE>")


def intake(data: bytes) -> None:
    """The whole intake; FileRejected is the only exception allowed out of it."""
    try:
        reader = open_claim_file(io.BytesIO(data))
        ctx = ValidationContext(reader.header.facility)
        for raw in reader:
            result = check_record(raw, reader.header, ctx)
            for issue in result.issues:
                assert issue.code in CATALOG and issue.severity == CATALOG[issue.code][0]
                assert isinstance(issue.message, str) and issue.message
            assert result.accepted == (result.claim is not None
                                       and all(i.severity == "warning" for i in result.issues))
        assert all(i.code in CATALOG for i in reader.file_issues())
    except FileRejected as exc:
        assert exc.code in ("xml_malformed", "envelope_invalid")


mutation = st.tuples(
    st.sampled_from(["flip", "delete", "insert", "duplicate", "truncate"]),
    st.floats(0, 1, allow_nan=False), st.integers(1, 64), st.binary(min_size=1, max_size=16),
)


def _mutate(data: bytes, ops: list) -> bytes:
    buf = bytearray(data)
    for op, where, size, blob in ops:
        if not buf:
            break
        at = int(where * (len(buf) - 1))
        if op == "flip":
            buf[at] ^= blob[0] or 0x20
        elif op == "delete":
            del buf[at : at + size]
        elif op == "insert":
            buf[at:at] = blob
        elif op == "duplicate":
            buf[at:at] = buf[at : at + size]
        else:
            del buf[at:]
    return bytes(buf)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(base=st.sampled_from(BASES), ops=st.lists(mutation, min_size=1, max_size=6))
def test_random_byte_mutations_of_the_file(base, ops):
    intake(_mutate(base, ops))


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(base=st.sampled_from(BASES), which=st.integers(0, 30), ops=st.lists(mutation, min_size=1, max_size=6))
def test_random_mutations_inside_a_table(base, which, ops):
    """Damage the decoded XML of one table and re-encode it, to reach the table decoder and validators."""
    found = list(_CONTENT.finditer(base))
    match = found[which % len(found)]
    inner = base64.b64decode(b"".join(match.group(1).split()))
    damaged = base64.b64encode(_mutate(inner, ops))
    intake(base[: match.start(1)] + damaged + base[match.end(1) :])


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=400))
def test_arbitrary_bytes(data):
    intake(data)


_NUMBER = st.one_of(
    st.decimals(allow_nan=False, allow_infinity=False, places=3, min_value=-10**15 + 1, max_value=10**15 - 1)
    .map(str),
    st.sampled_from(["999999999999999", "999999999999999.999", "0", "-0", "0.001", "1e3", "NaN", "", "  7 "]),
)
_LINE_NUMBERS = ("SO_LUONG", "DON_GIA", "TYLE_TT_BH", "THANH_TIEN_BV", "THANH_TIEN_BH", "MUC_HUONG",
                 "T_NGUONKHAC", "T_BNTT", "T_BNCCT", "T_BHTT")
_CLAIM_NUMBERS = ("T_TONGCHI_BV", "T_TONGCHI_BH", "T_BNTT", "T_BNCCT", "T_BHTT", "T_NGUONKHAC", "T_BHTT_GDV")


@settings(max_examples=200, deadline=None)
@given(line=st.fixed_dictionaries({}, optional={k: _NUMBER for k in _LINE_NUMBERS}),
       totals=st.fixed_dictionaries({}, optional={k: _NUMBER for k in _CLAIM_NUMBERS}))
def test_any_numbers_in_the_money_fields(line, totals):
    intake(envelope([tables(drugs=[{**DRUG, **line}], **totals)]))
