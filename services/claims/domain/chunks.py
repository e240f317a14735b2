"""How a file's records are cut into chunks, the work items that claims replicas share (services/claims/intake.py).

A chunk is a run of consecutive records, `first` ≤ record_index < `end`, `size` of them (the last one fewer).
Every file has at least one chunk, so a small file and a large one take the same path. When the check pass could
place the records in the blob (`Boundaries`), each chunk also knows its bytes: the envelope before the first
record (`head_end`), its own records, and the envelope after the last record (`tail_start`) make a small claim
file of their own that the ordinary reader parses; otherwise a chunk is read from the start of the file.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_SIZE = 5000  # records per chunk (YTCS_CLAIMS_CHUNK_RECORDS)


@dataclass(frozen=True, slots=True)
class Boundaries:
    """Where the records of a file are: `starts[k]` is the offset of record k·size's start tag, `head_end` of the
    first record's, `tail_start` just after the last record's end tag; `records` of them."""

    records: int
    starts: tuple[int, ...]
    head_end: int
    tail_start: int


@dataclass(frozen=True, slots=True)
class ChunkPlan:
    chunk_no: int
    first: int
    end: int
    byte_start: int | None = None
    byte_end: int | None = None  # None with byte_start set: to the end of the blob (the last chunk)
    head_end: int | None = None
    tail_start: int | None = None

    @property
    def records(self) -> int:
        return self.end - self.first


def plan(total: int, size: int, boundaries: Boundaries | None = None) -> list[ChunkPlan]:
    """The chunks of a file of `total` records, `size` records each; byte ranges when `boundaries` places
    exactly those records (the same count, one start per chunk), else none."""
    if size < 1:
        raise ValueError("chunk size must be at least 1")
    if total < 0:
        raise ValueError("a file has no negative number of records")
    firsts = list(range(0, total, size)) or [0]
    placed = (
        boundaries is not None and boundaries.records == total and total > 0 and len(boundaries.starts) == len(firsts)
    )
    chunks = []
    for no, first in enumerate(firsts):
        end = min(first + size, total)
        if not placed:
            chunks.append(ChunkPlan(no, first, end))
            continue
        assert boundaries is not None
        last = no == len(firsts) - 1
        chunks.append(
            ChunkPlan(
                no,
                first,
                end,
                byte_start=boundaries.starts[no],
                byte_end=None if last else boundaries.starts[no + 1],
                head_end=boundaries.head_end,
                tail_start=boundaries.tail_start,
            )
        )
    return chunks
