"""The reading core's fast paths give exactly what the plain code gave (issue 19): the record-boundary scan (one
regular expression per piece) against the find-and-sort scan it replaced, and the decoder's cache-first reading of
typed fields against values written with spaces, first seen or seen before."""

from __future__ import annotations

import io

from hypothesis import given, settings
from hypothesis import strategies as st

from services.claims.domain.chunks import Boundaries
from services.claims.parsing import decode_record, open_claim_file
from services.claims.parsing.boundaries import RecordBoundaries
from tests.unit.claims.builders import DRUG, EXAM, envelope, tables

# --- the scan -------------------------------------------------------------------------------------------


class _ReferenceScan:
    """The scan as first written (find loops, then sorted): the oracle for the regular-expression scan."""

    _AFTER_NAME = frozenset(b" \t\r\n>/")

    def __init__(self, every: int) -> None:
        self.every, self.records, self.starts = every, 0, []
        self.head_end: int | None = None
        self.tail_start: int | None = None
        self.clean, self._open, self._carry, self._base = True, False, b"", 0

    def feed(self, data: bytes, final: bool = False) -> None:
        if not self.clean or not (data or final):
            return
        buf = self._carry + data
        limit = len(buf) if final else max(0, len(buf) - 8)
        self._scan(buf, limit)
        self._base += limit
        self._carry = buf[limit:]

    def result(self) -> Boundaries | None:
        self.feed(b"", final=True)
        if not self.clean or self._open or self.head_end is None or self.tail_start is None:
            return None
        return Boundaries(self.records, tuple(self.starts), self.head_end, self.tail_start)

    def _scan(self, buf: bytes, limit: int) -> None:
        found: list[tuple[int, bool]] = []
        i = buf.find(b"<HOSO")
        while 0 <= i < limit:
            if i + 5 < len(buf) and buf[i + 5] in self._AFTER_NAME:
                found.append((i, True))
            i = buf.find(b"<HOSO", i + 1)
        i = buf.find(b"</HOSO>")
        while 0 <= i < limit:
            found.append((i, False))
            i = buf.find(b"</HOSO>", i + 1)
        if self.head_end is not None or found:
            first = 0 if self.head_end is not None else min(p for p, _ in found)
            for marker in (b"<!", b"<?"):
                j = buf.find(marker, first)
                if 0 <= j < limit:
                    self.clean = False
                    return
        for pos, is_start in sorted(found):
            if is_start == self._open:
                self.clean = False
                return
            self._open = is_start
            if is_start:
                if self.head_end is None:
                    self.head_end = self._base + pos
                if self.records % self.every == 0:
                    self.starts.append(self._base + pos)
                self.records += 1
            else:
                self.tail_start = self._base + pos + 7


# Pieces of claim files and of what breaks their placing, glued at random.
_TOKENS = st.sampled_from([
    b"<HOSO>", b"<HOSO >", b"<HOSO\n>", b"<HOSO/>", b"<HOSOX>", b"</HOSO>", b"</HOSO >", b"<!-- x -->",
    b"<![CDATA[<HOSO>]]>", b"<?pi?>", b"<", b"!", b"?", b"/", b"HOSO", b"<H", b"OSO>", b"</", b"x", b"\r\n",
    b"<FILEHOSO><LOAIHOSO>XML1</LOAIHOSO><NOIDUNGFILE>PD94bWw=</NOIDUNGFILE></FILEHOSO>",
])


def _feed(scan: RecordBoundaries | _ReferenceScan, data: bytes, pieces: list[int]) -> Boundaries | None:
    at = 0
    for size in pieces:
        scan.feed(data[at : at + size])
        at += size
    scan.feed(data[at:])
    return scan.result()


@settings(max_examples=400, deadline=None)
@given(
    head=st.sampled_from([b"", b'<?xml version="1.0"?><GIAMDINHHS><!-- dau --><DANHSACHHOSO>']),
    body=st.lists(_TOKENS, max_size=40),
    every=st.integers(1, 3),
    pieces=st.lists(st.integers(0, 40), max_size=30),
)
def test_the_scan_places_records_exactly_as_the_find_loops_did(head, body, every, pieces) -> None:
    data = head + b"".join(body) + b"</DANHSACHHOSO></GIAMDINHHS>"
    new, old = RecordBoundaries(every), _ReferenceScan(every)
    assert _feed(new, data, pieces) == _feed(old, data, pieces)
    assert new.clean == old.clean


def test_the_scan_of_a_generated_file_is_the_same_in_any_pieces() -> None:
    data = envelope([tables() for _ in range(5)])
    for size in (1, 2, 7, 9, 64, len(data)):
        pieces = [size] * (len(data) // size)
        new, old = _feed(RecordBoundaries(2), data, pieces), _feed(_ReferenceScan(2), data, pieces)
        assert new == old and new is not None and new.records == 5


# --- the decoder's typed fields ---------------------------------------------------------------------------


def _decode(data: bytes):
    reader = open_claim_file(io.BytesIO(data))
    [raw] = list(reader)
    return decode_record(raw, reader.header)


def _spaced(fields: dict[str, str]) -> dict[str, str]:
    return {k: f" \t{v}\n " if v else v for k, v in fields.items()}


def test_values_written_with_spaces_read_as_the_trimmed_ones_whether_seen_before_or_not() -> None:
    # Values the memo caches have never seen (so the converters run on trimmed text), then the same again.
    drug = {**DRUG, "SO_LUONG": "10.125", "DON_GIA": "293.5", "NGAY_YL": "202407150811", "T_BHTT": "2971.17"}
    exam = {**EXAM, "NGAY_YL": "202407150801", "MA_PTTT": "3", "PHAM_VI": "2"}
    spaced = _decode(envelope([tables(drugs=[_spaced(drug)], services=[_spaced(exam)], GIOI_TINH=" 2 ")]))
    plain = _decode(envelope([tables(drugs=[drug], services=[exam], GIOI_TINH="2")]))
    again = _decode(envelope([tables(drugs=[_spaced(drug)], services=[_spaced(exam)], GIOI_TINH=" 2 ")]))
    assert spaced[0] is not None and spaced[0] == plain[0] == again[0]
    assert spaced[1] == plain[1] == again[1]
    assert spaced[0].gioi_tinh == 2 and spaced[0].lines[1].ma_pttt == "3" and spaced[0].lines[1].pham_vi == "2"
    assert spaced[0].lines[0].fields["SO_LUONG"] == " \t10.125\n "  # the fields stay as written


def test_junk_and_closed_choices_are_still_refused_after_good_values_were_cached() -> None:
    _decode(envelope([tables()]))  # warm the caches with good values
    claim, issues = _decode(envelope([tables(
        drugs=[{**DRUG, "MA_PTTT": "4", "PHAM_VI": " 9", "SO_LUONG": "1,5"}], GIOI_TINH="0",
    )]))
    assert claim is not None
    found = {(i.table, i.field) for i in issues if i.code == "value_invalid"}
    assert {("XML1", "GIOI_TINH"), ("XML2", "MA_PTTT"), ("XML2", "PHAM_VI"), ("XML2", "SO_LUONG")} <= found
    assert claim.gioi_tinh is None and claim.lines[0].ma_pttt is None and claim.lines[0].quantity is None
    assert claim.is_invalid("XML2", 1, "PHAM_VI") and claim.is_invalid("XML1", 0, "GIOI_TINH")


def test_an_empty_rate_still_falls_back_to_the_qd_4210_spelling() -> None:
    drug = {**DRUG, "TYLE_TT_BH": "", "TY_LE_TT": " 50 "}
    claim, _ = _decode(envelope([tables(drugs=[drug])]))
    assert claim is not None and str(claim.lines[0].tyle_tt_bh) == "50"
