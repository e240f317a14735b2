"""Streaming reader of the GIAMDINHHS envelope: constant memory whatever the file size.

    GIAMDINHHS / THONGTINDONVI / MACSKCB
               / THONGTINHOSO / NGAYLAP, SOLUONGHOSO, DANHSACHHOSO / HOSO / FILEHOSO / LOAIHOSO, NOIDUNGFILE
               / CHUKYDONVI

``lxml.etree.iterparse`` delivers each HOSO when it ends; the reader base64-decodes its tables,
then clears the element and drops the HOSOs before it, so memory holds one record at a time.
Whole-file problems raise ``FileRejected`` at the point they are found: records yielded before a
late malformation stay yielded, and the caller decides what to do with them.
"""

from __future__ import annotations

import binascii
from dataclasses import dataclass, field
from typing import BinaryIO

from lxml import etree

from services.claims.parsing.safexml import SAFE_OPTIONS, has_doctype, prolog_has_dtd, short_error
from services.claims.records import Issue
from services.claims.validation.catalog import make_issue

_CHUNK = 1 << 16
_PROLOG_MAX = 1 << 20  # bytes allowed before the root element (declaration, comments)
_MAX_UNEXPECTED = 10_000  # elements outside the envelope's vocabulary; bounds memory on junk
# A HOSO has at most 15 tables; its FILEHOSO/LOAIHOSO/NOIDUNGFILE elements wait in memory until it
# ends, so their number is bounded (3 events per FILEHOSO), in a HOSO or stray outside one.
_MAX_INSIDE_EVENTS = 3 * 32

_HEADER = frozenset({"MACSKCB", "NGAYLAP", "SOLUONGHOSO"})
_INSIDE_HOSO = frozenset({"FILEHOSO", "LOAIHOSO", "NOIDUNGFILE"})
_STRUCTURE = frozenset({
    "GIAMDINHHS", "THONGTINDONVI", "THONGTINHOSO", "DANHSACHHOSO", "FILEHOSO", "LOAIHOSO", "NOIDUNGFILE",
    "CHUKYDONVI",
})


class FileRejected(Exception):
    """The whole file is refused: ``code`` is ``xml_malformed`` or ``envelope_invalid``."""

    def __init__(self, code: str, detail: str) -> None:
        self.issue = make_issue(code, detail=detail)
        self.code = code
        self.message = self.issue.message
        super().__init__(f"{code}: {self.message}")


@dataclass(slots=True, frozen=True)
class EnvelopeHeader:
    facility: str  # THONGTINDONVI/MACSKCB
    ngay_lap: str | None  # NGAYLAP as written
    so_luong_ho_so: int | None  # SOLUONGHOSO, None when absent or not a number


@dataclass(slots=True)
class RawRecord:
    index: int  # position of the HOSO in the file, from 0
    tables: dict[str, bytes]  # LOAIHOSO ('XML1'…) -> base64-decoded NOIDUNGFILE
    errors: dict[str, str] = field(default_factory=dict)  # LOAIHOSO -> why it could not be decoded


class _Replay:
    """File-like: the bytes already read for the prolog check, then the rest of the stream."""

    def __init__(self, head: bytes, fp: BinaryIO) -> None:
        self._head = head
        self._fp = fp

    def read(self, size: int = -1) -> bytes:
        if not self._head:
            return self._fp.read(size)
        if size is None or size < 0:
            data, self._head = self._head + self._fp.read(), b""
        else:
            data, self._head = self._head[:size], self._head[size:]
        return data


def _b64(text: str | None) -> bytes | None:
    if not text:
        return None
    try:
        return binascii.a2b_base64(text, strict_mode=True)
    except ValueError:  # binascii.Error, or non-ASCII text
        pass
    compact = "".join(text.split())  # line-wrapped or indented base64
    if compact == text:
        return None
    try:
        return binascii.a2b_base64(compact, strict_mode=True)
    except ValueError:
        return None


def open_claim_file(fp: BinaryIO, *, decode: bool = True) -> ClaimFileReader:
    """Check the prolog (any DTD is refused unread), then read up to the first record so that
    ``header`` is known. Raises FileRejected for whole-file problems found so far.
    ``decode=False`` (the intake's check pass, which only counts) skips the base64 decoding: records then
    carry no tables, and whole-file verdicts are the same, since base64 faults are per record."""
    head = b""
    verdict: bool | None = None
    while verdict is None:
        chunk = fp.read(_CHUNK)
        if not chunk:
            break
        head += chunk
        verdict = prolog_has_dtd(head)
        if verdict is None and len(head) > _PROLOG_MAX:
            raise FileRejected("xml_malformed", "phần mở đầu trước phần tử gốc quá dài")
    if verdict:
        raise FileRejected("xml_malformed", "tệp có khai báo DOCTYPE/DTD hoặc thực thể, không được phép")
    if not head.strip():
        raise FileRejected("xml_malformed", "tệp rỗng")
    return ClaimFileReader(_Replay(head, fp), decode=decode)


class ClaimFileReader:
    """Iterate to get one ``RawRecord`` per HOSO. Use ``open_claim_file`` to make one."""

    def __init__(self, source: _Replay, *, decode: bool = True) -> None:
        self._events = etree.iterparse(source, events=("end",), **SAFE_OPTIONS)
        self._decode = decode
        self._facility: str | None = None
        self._ngay_lap: str | None = None
        self._so_luong: int | None = None
        self._root_checked = False
        self._unexpected = 0
        self._inside = 0  # FILEHOSO/LOAIHOSO/NOIDUNGFILE ends since the last HOSO
        self._count = 0
        self._done = False
        self._error: FileRejected | None = None
        self._pending = self._pull()  # reads the header; the first record waits here

    @property
    def header(self) -> EnvelopeHeader:
        assert self._facility is not None  # _pull() refuses a file without one
        return EnvelopeHeader(self._facility, self._ngay_lap, self._so_luong)

    @property
    def records_read(self) -> int:
        return self._count

    def __iter__(self) -> ClaimFileReader:
        return self

    def __next__(self) -> RawRecord:
        if self._pending is not None:
            record, self._pending = self._pending, None
            return record
        if self._error is not None:
            raise self._error
        if self._done:
            raise StopIteration
        record = self._pull()
        if record is None:
            raise StopIteration
        return record

    def file_issues(self) -> list[Issue]:
        """Warnings about the file as a whole, once it has been read to the end."""
        if self._done and self._so_luong is not None and self._so_luong != self._count:
            return [make_issue("record_count_mismatch", declared=self._so_luong, actual=self._count)]
        return []

    def _fail(self, code: str, detail: str) -> FileRejected:
        self._error = FileRejected(code, detail)
        self._done = True
        return self._error

    def _pull(self) -> RawRecord | None:
        try:
            for _, el in self._events:
                tag = el.tag
                if tag in _INSIDE_HOSO:  # the common case, read when its HOSO ends
                    self._inside += 1
                    if self._inside > _MAX_INSIDE_EVENTS:
                        raise self._fail("envelope_invalid", "quá nhiều FILEHOSO trong một HOSO hoặc ngoài HOSO")
                    continue
                if type(tag) is not str:
                    continue
                name = tag[tag.index("}") + 1 :] if tag[0] == "{" else tag
                if not self._root_checked:
                    self._check_root(el)
                if name == "HOSO":
                    self._inside = 0
                    return self._record(el)
                if name in _HEADER:
                    self._header_field(name, el)
                elif name not in _STRUCTURE:
                    self._unexpected += 1
                    if self._unexpected > _MAX_UNEXPECTED:
                        raise self._fail("envelope_invalid", "quá nhiều phần tử lạ ngoài cấu trúc GIAMDINHHS")
                    el.clear()
        except etree.XMLSyntaxError as exc:
            raise self._fail("xml_malformed", short_error(exc)) from None
        self._done = True
        if self._facility is None:
            raise self._fail("envelope_invalid", "thiếu THONGTINDONVI/MACSKCB")
        return None

    def _check_root(self, el: etree._Element) -> None:
        self._root_checked = True
        root = el
        while (parent := root.getparent()) is not None:
            root = parent
        if has_doctype(root.getroottree()):
            raise self._fail("xml_malformed", "tệp có khai báo DOCTYPE/DTD, không được phép")
        tag = root.tag
        if (tag[tag.index("}") + 1 :] if tag[0] == "{" else tag) != "GIAMDINHHS":
            raise self._fail("envelope_invalid", "phần tử gốc phải là GIAMDINHHS")

    def _header_field(self, name: str, el: etree._Element) -> None:
        text = (el.text or "").strip()
        if name == "MACSKCB":
            if self._facility is None:
                if not (len(text) == 5 and text.isascii() and text.isalnum()):
                    raise self._fail("envelope_invalid", "MACSKCB phải là mã cơ sở KCB gồm 5 ký tự")
                self._facility = text
        elif name == "NGAYLAP":
            self._ngay_lap = text or None
        elif text.isascii() and text.isdigit():
            self._so_luong = int(text)

    def _record(self, el: etree._Element) -> RawRecord:
        if self._facility is None:
            raise self._fail("envelope_invalid", "thiếu THONGTINDONVI/MACSKCB trước danh sách hồ sơ")
        tables: dict[str, bytes] = {}
        errors: dict[str, str] = {}
        files = 0
        for fh in el:
            tag = fh.tag
            if type(tag) is not str or (tag != "FILEHOSO" and not tag.endswith("}FILEHOSO")):
                continue
            files += 1
            kind = content = None
            for child in fh:
                tag = child.tag
                if type(tag) is not str:
                    continue
                name = tag[tag.index("}") + 1 :] if tag[0] == "{" else tag
                if name == "LOAIHOSO":
                    kind = (child.text or "").strip().upper()
                elif name == "NOIDUNGFILE":
                    content = child.text
            if not kind:
                errors[f"FILEHOSO {files}"] = "thiếu LOAIHOSO"
                continue
            if kind in tables or kind in errors:
                tables.pop(kind, None)
                errors[kind] = "bảng xuất hiện nhiều lần trong một HOSO"
                continue
            if not self._decode:
                continue
            data = _b64(content)
            if data is None:
                errors[kind] = "NOIDUNGFILE trống" if not (content or "").strip() else "không phải base64 hợp lệ"
            else:
                tables[kind] = data
        if files == 0:
            errors["HOSO"] = "HOSO không có FILEHOSO nào"
        record = RawRecord(self._count, tables, errors)
        self._count += 1
        # Constant memory: empty this HOSO and drop the ones before it.
        el.clear()
        parent = el.getparent()
        if parent is not None:
            while el.getprevious() is not None:
                del parent[0]
        return record
