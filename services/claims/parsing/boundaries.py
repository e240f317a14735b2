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

from services.claims.domain.chunks import Boundaries

_START = b"<HOSO"
_END = b"</HOSO>"
_AFTER_NAME = frozenset(b" \t\r\n>/")
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
        found: list[tuple[int, bool]] = []
        i = buf.find(_START, 0)
        while 0 <= i < limit:
            nxt = i + len(_START)
            if nxt < len(buf) and buf[nxt] in _AFTER_NAME:
                found.append((i, True))
            i = buf.find(_START, i + 1)
        i = buf.find(_END, 0)
        while 0 <= i < limit:
            found.append((i, False))
            i = buf.find(_END, i + 1)
        if self.head_end is not None or found:
            # After the first record: no comment, CDATA or processing instruction anywhere (`<!`, `<?`).
            first = 0 if self.head_end is not None else min(p for p, _ in found)
            for marker in (b"<!", b"<?"):
                j = buf.find(marker, first)
                if 0 <= j < limit:
                    self.clean = False
                    return
        for pos, is_start in sorted(found):
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
