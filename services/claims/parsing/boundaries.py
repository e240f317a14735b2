"""Where each HOSO of a claim file starts, found in the raw bytes while the check pass reads them.

    scan = RecordBoundaries(every=5000)
    scan.feed(data)  # the bytes as read, in order, any piece sizes
    scan.result()    # Boundaries, or None when the bytes cannot be placed with certainty

The positions are only claimed when they cannot be wrong: after the first record, the file holds no comment,
CDATA section or processing instruction (the only places where a literal `<HOSO` could be text rather than a
tag), the start tags `<HOSO>` and end tags `</HOSO>` strictly alternate (no nesting), and the number of records
found equals the count of the XML reader (the caller checks that, `Boundaries.records`). A file written with
namespace prefixes, CDATA tables or anything unusual simply gets no positions: its chunks are then read from
the start of the file (services/claims/intake.py), slower and just as exact.
"""

from __future__ import annotations

import re

from services.claims.domain.chunks import Boundaries

_END = b"</HOSO>"
# One pass in C over each piece: a HOSO start tag (with the byte after its name), an end tag, or a `<!` / `<?`
# (comment, CDATA, DOCTYPE, processing instruction). Each alternative starts with the only `<` it holds, so
# the matches never overlap and every occurrence is found, in file order.
_MARKS = re.compile(rb"<(?:HOSO[ \t\r\n>/]|/HOSO>|[!?])")
_KEEP = 8  # bytes kept between pieces: longer than any pattern with the byte after it


class RecordBoundaries:
    def __init__(self, every: int) -> None:
        self.every = every
        self.records = 0
        self.starts: list[int] = []
        self.head_end: int | None = None
        self.tail_start: int | None = None
        self.clean = True
        self._open = False  # inside a HOSO
        self._carry = b""
        self._base = 0  # offset of _carry's first byte in the file

    def feed(self, data: bytes, final: bool = False) -> None:
        if not self.clean or not (data or final):
            return
        buf = self._carry + data
        # Only matches that begin before `limit` are certain to be whole (with the byte after them).
        limit = len(buf) if final else max(0, len(buf) - _KEEP)
        self._scan(buf, limit)
        self._base += limit
        self._carry = buf[limit:]

    def result(self) -> Boundaries | None:
        self.feed(b"", final=True)
        if not self.clean or self._open or self.head_end is None or self.tail_start is None:
            return None
        return Boundaries(self.records, tuple(self.starts), self.head_end, self.tail_start)

    def _scan(self, buf: bytes, limit: int) -> None:
        # Before the first record, `<!` / `<?` belong to the prolog and header: only those after it count.
        seen = self.head_end is not None
        for m in _MARKS.finditer(buf):
            pos = m.start()
            if pos >= limit:  # read again with the next piece, whole
                return
            kind = buf[pos + 1]
            if kind == 0x21 or kind == 0x3F:  # `<!`, `<?`
                if seen:
                    self.clean = False
                    return
                continue
            seen = True
            is_start = kind != 0x2F  # not `</`
            if is_start == self._open:  # two starts or two ends in a row: nested or broken
                self.clean = False
                return
            self._open = is_start
            at = self._base + pos
            if is_start:
                if self.head_end is None:
                    self.head_end = at
                if self.records % self.every == 0:
                    self.starts.append(at)
                self.records += 1
            else:
                self.tail_start = at + len(_END)
