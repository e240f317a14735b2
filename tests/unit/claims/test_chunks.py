"""Cutting a file into chunks (domain/chunks.py) and placing its records in the bytes (parsing/boundaries.py)."""

from __future__ import annotations

import io

import pytest

from services.claims.domain.chunks import Boundaries, ChunkPlan, plan
from services.claims.parsing import open_claim_file
from services.claims.parsing.boundaries import RecordBoundaries
from services.devtools import claims_generator


def test_a_file_is_cut_into_runs_of_consecutive_records() -> None:
    assert [(c.first, c.end) for c in plan(12, 5)] == [(0, 5), (5, 10), (10, 12)]
    assert [(c.first, c.end) for c in plan(10, 5)] == [(0, 5), (5, 10)]
    assert [c.chunk_no for c in plan(12, 5)] == [0, 1, 2]
    assert sum(c.records for c in plan(4999, 1000)) == 4999


def test_a_small_file_is_one_chunk_and_an_empty_one_too() -> None:
    assert plan(3, 5000) == [ChunkPlan(0, 0, 3)]
    assert plan(0, 5000) == [ChunkPlan(0, 0, 0)]


def test_placed_records_give_each_chunk_its_bytes() -> None:
    where = Boundaries(records=12, starts=(100, 600, 1100), head_end=100, tail_start=1400)
    chunks = plan(12, 5, where)
    assert [(c.byte_start, c.byte_end) for c in chunks] == [(100, 600), (600, 1100), (1100, None)]
    assert {(c.head_end, c.tail_start) for c in chunks} == {(100, 1400)}


@pytest.mark.parametrize(
    "where",
    [
        Boundaries(records=11, starts=(100, 600, 1100), head_end=100, tail_start=1400),  # another count
        Boundaries(records=12, starts=(100, 600), head_end=100, tail_start=1400),  # a start missing
    ],
)
def test_positions_that_do_not_fit_the_count_are_not_used(where: Boundaries) -> None:
    assert all(c.byte_start is None and c.byte_end is None for c in plan(12, 5, where))


def test_sizes_must_make_sense() -> None:
    with pytest.raises(ValueError):
        plan(10, 0)
    with pytest.raises(ValueError):
        plan(-1, 10)


def _file(records: int) -> bytes:
    buf = io.BytesIO()
    claims_generator.generate(buf, facility="91060", records=records, year=2024, months=[7], seed=3)
    return buf.getvalue()


def _scan(data: bytes, every: int, piece: int) -> Boundaries | None:
    scan = RecordBoundaries(every)
    for i in range(0, len(data), piece):
        scan.feed(data[i : i + piece])
    return scan.result()


@pytest.mark.parametrize("piece", [1, 7, 4096, 10**9])
def test_the_scan_finds_every_record_start_whatever_the_read_sizes(piece: int) -> None:
    data = _file(7)
    found = _scan(data, 3, piece)
    assert found is not None and found.records == 7
    assert found.head_end == data.index(b"<HOSO>")
    assert data[found.tail_start - len(b"</HOSO>") : found.tail_start] == b"</HOSO>"
    assert all(data[s : s + 6] == b"<HOSO>" for s in found.starts) and len(found.starts) == 3


def test_a_chunk_s_bytes_read_as_a_file_of_its_own() -> None:
    data = _file(7)
    found = _scan(data, 3, 4096)
    assert found is not None
    middle = plan(7, 3, found)[1]
    assert middle.byte_start is not None and middle.byte_end is not None
    piece = data[: found.head_end] + data[middle.byte_start : middle.byte_end] + data[found.tail_start :]
    whole = [r.tables["XML1"] for r in open_claim_file(io.BytesIO(data))]
    assert [r.tables["XML1"] for r in open_claim_file(io.BytesIO(piece))] == whole[3:6]


@pytest.mark.parametrize(
    "mangle",
    [
        lambda d: d.replace(b"</DANHSACHHOSO>", b"<!-- ghi chu --></DANHSACHHOSO>"),  # a comment among records
        lambda d: d + b"<!-- gui lai -->\n",  # a comment after the envelope
        lambda d: d.replace(b"<NOIDUNGFILE>", b"<NOIDUNGFILE><![CDATA[", 1),  # CDATA could hide "<HOSO>"
        lambda d: d.replace(b"</HOSO>", b"", 1),  # an unclosed record: starts and ends must alternate
        lambda d: d.replace(b"</DANHSACHHOSO>", b"<?pi x?></DANHSACHHOSO>"),  # a processing instruction
    ],
)
def test_bytes_that_cannot_be_placed_for_certain_are_not(mangle) -> None:
    assert _scan(mangle(_file(4)), 2, 4096) is None


def test_a_comment_in_the_envelope_head_is_harmless() -> None:
    data = _file(4).replace(b"<DANHSACHHOSO>", b"<!-- dau --><DANHSACHHOSO>", 1)
    found = _scan(data, 2, 5)
    assert found is not None and found.records == 4
