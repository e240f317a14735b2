"""The facility a claim file names, read from the head of its GIAMDINHHS envelope as the claims service reads it.

The gateway must know whose file it is receiving (a user bound to a district may send only its facilities'
files) before the file is stored, and it must read it the way the claims service will: a regex over the first
bytes is fooled by a comment or a CDATA copy of `<MACSKCB>` placed first, which the service's XML parser never
takes for an element. So this is the same parser (libxml2 through lxml, the service's safe options) fed the
bytes as they stream past, with the service's rules:

- the root element is GIAMDINHHS (any namespace; local names decide, as in the service);
- the facility is the text of the first element named MACSKCB to end (5 ASCII letters or digits), and it must
  come before the first HOSO;
- comments, processing instructions and CDATA sections are not elements;
- any DTD (`<!DOCTYPE`, `<!ENTITY` …) before the root is refused unread: no entity is ever expanded;
- at most `HEAD_LIMIT` bytes and `MAX_ELEMENTS` elements are read for it; a facility further on is not looked
  for (the caller decides).

The claims service remains the judge: the gateway passes the facility it authorised with the file, and the
service fails the file (`envelope_facility_mismatch`) if the envelope it parses names another.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from lxml import etree

from services.common import facility_code
from services.common.xmlsafe import PROLOG_MAX, SAFE_OPTIONS, local_name, prolog_has_dtd, repair_prolog

HEAD_LIMIT = 8 * 1024 * 1024  # real envelopes name their facility in the first few hundred bytes
# Elements allowed to end before the facility (a real envelope has two): bounds the work and memory a file of
# tiny junk elements could cost (8 MB of `<a/>` would be two million of them).
MAX_ELEMENTS = 10_000
_SLICE = 64 * 1024  # bytes handed to libxml2 at a time, so the events waiting to be read stay few

_WHY = {
    "dtd": "tệp có khai báo DOCTYPE/DTD hoặc thực thể",
    "malformed": "phần đầu tệp không phải XML hợp lệ",
    "root": "phần tử gốc không phải GIAMDINHHS",
    "invalid": "MACSKCB không phải mã cơ sở KCB gồm 5 ký tự",
    "missing": "không có THONGTINDONVI/MACSKCB trước danh sách hồ sơ",
    "too_far": f"không thấy MACSKCB trong {HEAD_LIMIT // (1024 * 1024)} MB đầu của tệp",
    "junk": f"hơn {MAX_ELEMENTS:,} phần tử trước MACSKCB".replace(",", "."),
}


@dataclass(frozen=True, slots=True)
class Head:
    """What the head of a file says: its facility, or why it names none that can be trusted."""

    facility: str | None
    problem: str | None = None  # a key of _WHY when facility is None

    @property
    def why(self) -> str:
        """The reason in Vietnamese, for the person who sent the file."""
        return _WHY.get(self.problem or "", "")


class HeadReader:
    """Feed it the file's bytes in order (`feed`, then `close` at the end); `head` is set once it knows."""

    def __init__(self, limit: int = HEAD_LIMIT) -> None:
        self.limit = limit
        self.head: Head | None = None
        self._parser = etree.XMLPullParser(events=("start", "end"), **SAFE_OPTIONS)
        self._seen = 0
        self._elements = 0
        self._in_prolog = True
        # The bytes before the root, held until the prolog is judged as the service judges it: a DTD refused
        # unread, whitespace before '<?xml' and a lying encoding declaration repaired (services/common/xmlsafe.py).
        self._prolog: bytes | None = b""

    def feed(self, data: bytes) -> Head | None:
        if self.head is not None or not data:
            return self.head
        data = data[: self.limit - self._seen]
        self._seen += len(data)
        if self._prolog is not None:
            self._prolog += data
            verdict = prolog_has_dtd(self._prolog)
            if verdict:
                return self._decide(None, "dtd")  # never handed to libxml2
            if verdict is None:
                return self._decide(None, "malformed") if len(self._prolog) > PROLOG_MAX else self._too_far()
            data, self._prolog = repair_prolog(self._prolog)[0], None
        for start in range(0, len(data), _SLICE):
            try:
                self._parser.feed(data[start : start + _SLICE])
                self._events()
            except etree.XMLSyntaxError:
                return self._decide(None, "malformed")
            if self.head is not None:
                return self.head
        return self._too_far()

    def close(self) -> Head:
        """The stream ended: whatever was not found is missing."""
        if self.head is None and self._prolog is not None:
            if prolog_has_dtd(self._prolog):
                return self._decide(None, "dtd")
            prolog, self._prolog = repair_prolog(self._prolog)[0], None
            if not prolog.strip():
                return self._decide(None, "malformed")
            try:
                self._parser.feed(prolog)
            except etree.XMLSyntaxError:
                return self._decide(None, "malformed")
        if self.head is None:
            try:
                self._parser.close()
                self._events()
            except etree.XMLSyntaxError:
                return self._decide(None, "malformed")
        return self.head or self._decide(None, "missing")

    def _too_far(self) -> Head | None:
        if self.head is None and self._seen >= self.limit:
            self._decide(None, "too_far")
        return self.head

    def _events(self) -> None:
        for event, el in self._parser.read_events():
            if self.head is not None:
                return
            tag = el.tag
            if type(tag) is not str:
                continue
            name = local_name(tag)
            if event == "start":
                if self._in_prolog:
                    self._in_prolog = False
                    info = el.getroottree().docinfo
                    if info.doctype or info.internalDTD is not None or info.externalDTD is not None:
                        self._decide(None, "dtd")
                    elif name != "GIAMDINHHS":
                        self._decide(None, "root")
                continue
            if name == "MACSKCB":
                code = facility_code.normalise(el.text or "")  # the claims service reads it the same way
                if code is not None:
                    self._decide(code, None)
                else:
                    self._decide(None, "invalid")
            elif name == "HOSO":
                self._decide(None, "missing")
            else:
                self._elements += 1
                if self._elements > MAX_ELEMENTS:
                    self._decide(None, "junk")
                elif (parent := el.getparent()) is not None:
                    parent.remove(el)  # what ended before the facility is not needed: memory stays small

    def _decide(self, facility: str | None, problem: str | None) -> Head:
        self.head = Head(facility, problem)
        self._parser = None  # type: ignore[assignment]  # nothing more is parsed
        return self.head


def read_head(data: bytes, limit: int = HEAD_LIMIT) -> Head:
    """The head of a whole file held in memory (tests, small files)."""
    reader = HeadReader(limit)
    return reader.feed(data) or reader.close()


class Readable(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...


class WatchedStream:
    """A stream that shows its bytes to a HeadReader as they pass (to the blob store), and calls `on_head`
    once the head is known: the callback may raise to stop the upload before the file is stored."""

    def __init__(
        self,
        stream: Readable,
        on_head: Callable[[Head], None],
        limit: int = HEAD_LIMIT,
        expected_size: int | None = None,
    ) -> None:
        self.stream = stream
        self.on_head = on_head
        self.reader = HeadReader(limit)
        self.head: Head | None = None
        self.expected_size = expected_size
        self.size = 0

    def read(self, size: int = -1, /) -> bytes:
        data = self.stream.read(size)
        self.size += len(data)
        if self.head is None:
            head = self.reader.feed(data) if data else self.reader.close()
            if head is not None:
                self.head = head
                cut = not data and self.expected_size is not None and self.size != self.expected_size
                if not cut:  # a body cut short is the store's to refuse (upload_incomplete), not the head's
                    self.on_head(head)
        return data
