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

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from lxml import etree

HEAD_LIMIT = 8 * 1024 * 1024  # real envelopes name their facility in the first few hundred bytes
# Elements allowed to end before the facility (a real envelope has two): bounds the work and memory a file of
# tiny junk elements could cost (8 MB of `<a/>` would be two million of them).
MAX_ELEMENTS = 10_000
_SLICE = 64 * 1024  # bytes handed to libxml2 at a time, so the events waiting to be read stay few

# The claims service's parser options (services/claims/parsing/safexml.py), repeated: the gateway must not import it.
_SAFE = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "dtd_validation": False,
    "huge_tree": False,
    "remove_comments": True,
    "remove_pis": True,
    "collect_ids": False,
}
# A markup declaration (`<!DOCTYPE`, `<!ENTITY`, `<!ELEMENT` …; not `<!--` or `<![CDATA[`), also in UTF-16.
_DECLARATION = re.compile(rb"<\x00?!\x00?[A-Za-z]")
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


def _local(tag: str) -> str:
    return tag[tag.index("}") + 1 :] if tag[:1] == "{" else tag


class HeadReader:
    """Feed it the file's bytes in order (`feed`, then `close` at the end); `head` is set once it knows."""

    def __init__(self, limit: int = HEAD_LIMIT) -> None:
        self.limit = limit
        self.head: Head | None = None
        self._parser = etree.XMLPullParser(events=("start", "end"), **_SAFE)
        self._fed = 0
        self._elements = 0
        self._in_prolog = True
        self._tail = b""  # the last bytes of the previous chunk, so a declaration cut in two is still seen

    def feed(self, data: bytes) -> Head | None:
        if self.head is not None or not data:
            return self.head
        data = data[: self.limit - self._fed]
        for start in range(0, len(data), _SLICE):
            piece = data[start : start + _SLICE]
            if self._in_prolog and _DECLARATION.search(self._tail + piece):
                return self._decide(None, "dtd")  # never handed to libxml2
            self._tail = piece[-8:]
            self._fed += len(piece)
            try:
                self._parser.feed(piece)
                self._events()
            except etree.XMLSyntaxError:
                return self._decide(None, "malformed")
            if self.head is not None:
                return self.head
        if self._fed >= self.limit:
            self._decide(None, "too_far")
        return self.head

    def close(self) -> Head:
        """The stream ended: whatever was not found is missing."""
        if self.head is None:
            try:
                self._parser.close()
                self._events()
            except etree.XMLSyntaxError:
                return self._decide(None, "malformed")
        return self.head or self._decide(None, "missing")

    def _events(self) -> None:
        for event, el in self._parser.read_events():
            if self.head is not None:
                return
            tag = el.tag
            if type(tag) is not str:
                continue
            name = _local(tag)
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
                text = (el.text or "").strip()
                if len(text) == 5 and text.isascii() and text.isalnum():
                    self._decide(text, None)
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
