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
import copy
from dataclasses import dataclass, field
from typing import BinaryIO

from lxml import etree

from services.claims.domain.records import Issue
from services.claims.parsing.notes import TABLE_EMPTY, TABLE_PLAIN_XML, Note, note_table
from services.claims.parsing.safexml import (
    NS_INVALID,
    SAFE_OPTIONS,
    has_doctype,
    prolog_has_dtd,
    repair_prolog,
    short_error,
)
from services.claims.validation.catalog import make_issue
from services.common import facility_code
from services.common.xmlsafe import PROLOG_MAX

_CHUNK = 1 << 16
_MAX_UNEXPECTED = 10_000  # elements outside the envelope's vocabulary; bounds memory on junk
# A HOSO has at most 15 tables; its FILEHOSO/LOAIHOSO/NOIDUNGFILE elements wait in memory until it
# ends, so their number is bounded (3 events per FILEHOSO), in a HOSO or stray outside one.
_MAX_INSIDE_EVENTS = 3 * 32
# Tables written as plain XML inside NOIDUNGFILE wait in memory until their HOSO ends, like base64 text
# does (libxml2 bounds that to 10 MB a table): their elements are bounded per HOSO for the same reason.
_MAX_PLAIN_ELEMENTS = 250_000
_ENVELOPE_OUTSIDE = frozenset({"HOSO", "FILEHOSO", "DANHSACHHOSO", "THONGTINHOSO", "GIAMDINHHS"})
_B64_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")

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
    tables: dict[str, bytes]  # LOAIHOSO ('XML1'…) -> base64-decoded NOIDUNGFILE (or its plain XML)
    errors: dict[str, str] = field(default_factory=dict)  # LOAIHOSO -> why it could not be decoded
    notes: list[Note] = field(default_factory=list)  # format repairs made to read it (parsing/notes.py)


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


def _b64_damage(text: str) -> str:
    """Why base64 text does not decode, in Vietnamese, without quoting it."""
    compact = "".join(text.split())
    if not compact.isascii() or not set(compact) <= _B64_ALPHABET:
        return "không phải base64 hợp lệ: có ký tự ngoài bảng mã base64"
    if len(compact) % 4:
        return (f"không phải base64 hợp lệ: độ dài {len(compact)} ký tự không chia hết cho 4, "
                "có ký tự bị mất hoặc thừa giữa chừng")
    return "không phải base64 hợp lệ: dấu '=' đệm sai chỗ"


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
        if verdict is None and len(head) > PROLOG_MAX:
            raise FileRejected("xml_malformed", "phần mở đầu trước phần tử gốc quá dài")
    if verdict:
        raise FileRejected("xml_malformed", "tệp có khai báo DOCTYPE/DTD hoặc thực thể, không được phép")
    if not head.strip():
        raise FileRejected("xml_malformed", "tệp rỗng")
    head, repairs = repair_prolog(head)
    notes: list[Note] = [(kind, None) for kind in repairs]
    return ClaimFileReader(_Replay(head, fp), decode=decode, notes=notes)


class ClaimFileReader:
    """Iterate to get one ``RawRecord`` per HOSO. Use ``open_claim_file`` to make one."""

    def __init__(self, source: _Replay, *, decode: bool = True, notes: list[Note] | None = None) -> None:
        self._events = etree.iterparse(source, events=("end",), **SAFE_OPTIONS)
        self._decode = decode
        # Repairs to the envelope itself (table None); the records' own are on each RawRecord.
        self.notes: list[Note] = notes if notes is not None else []
        self._root_ended = False
        self._plain_elements = 0  # elements of plain-XML tables since the last HOSO
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

    def skip(self, count: int) -> int:
        """Read past the next `count` records without decoding their tables (a chunk that starts mid-file);
        returns how many there were."""
        decode, self._decode = self._decode, False
        skipped = 0
        try:
            for _ in range(count):
                next(self)
                skipped += 1
        except StopIteration:
            pass
        finally:
            self._decode = decode
        return skipped

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
                    self._plain_elements = 0
                    return self._record(el)
                if name in _HEADER:
                    self._header_field(name, el)
                elif name == "GIAMDINHHS":
                    self._root_ended = True
                elif name not in _STRUCTURE:
                    if _in_noidungfile(el):  # a table written as plain XML: read when its HOSO ends
                        self._plain_elements += 1
                        if self._plain_elements > _MAX_PLAIN_ELEMENTS:
                            raise self._fail("envelope_invalid", "bảng XML trong một HOSO có quá nhiều phần tử")
                        continue
                    self._unexpected += 1
                    if self._unexpected > _MAX_UNEXPECTED:
                        raise self._fail("envelope_invalid", "quá nhiều phần tử lạ ngoài cấu trúc GIAMDINHHS")
                    el.clear()
        except etree.XMLSyntaxError as exc:
            # libxml2 reports a namespace error (an invalid URI such as '…/XMLSchema instance') only when the
            # document is complete, every record already read: namespaces mean nothing here, so it is a note.
            log = self._events.error_log
            if not (self._root_ended and _namespace_errors_only(log)):
                # Name the damage, not a namespace error that came before it.
                damage = next((e for e in log if e.level >= etree.ErrorLevels.ERROR
                               and e.domain != etree.ErrorDomains.NAMESPACE), None)
                raise self._fail("xml_malformed", short_error(damage or exc)) from None
            self.notes.append((NS_INVALID, None))
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
                code = facility_code.normalise(text)
                if code is None:
                    raise self._fail("envelope_invalid", "MACSKCB phải là mã cơ sở KCB gồm 5 ký tự")
                self._facility = code
        elif name == "NGAYLAP":
            self._ngay_lap = text or None
        elif text.isascii() and text.isdigit():
            self._so_luong = int(text)

    def _record(self, el: etree._Element) -> RawRecord:
        if self._facility is None:
            raise self._fail("envelope_invalid", "thiếu THONGTINDONVI/MACSKCB trước danh sách hồ sơ")
        tables: dict[str, bytes] = {}
        errors: dict[str, str] = {}
        notes: list[Note] = []
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
                    content = child
            if not kind:
                errors[f"FILEHOSO {files}"] = "thiếu LOAIHOSO"
                continue
            if kind in tables or kind in errors:
                tables.pop(kind, None)
                errors[kind] = "bảng xuất hiện nhiều lần trong một HOSO"
                continue
            if not self._decode:
                continue
            text = content.text if content is not None else None
            if content is not None and len(content):
                data, why = _plain_table(content)
                if data is None:
                    errors[kind] = why
                else:
                    tables[kind] = data
                    notes.append((TABLE_PLAIN_XML, note_table(kind)))
            elif not text or text.isspace():
                notes.append((TABLE_EMPTY, note_table(kind)))  # <NOIDUNGFILE/>: the table was not sent
            elif (data := _b64(text)) is not None:
                tables[kind] = data
            elif text.lstrip()[:1] == "<":  # plain XML as CDATA or escaped text
                tables[kind] = text.strip().encode("utf-8")
                notes.append((TABLE_PLAIN_XML, note_table(kind)))
            else:
                errors[kind] = _b64_damage(text)
        if files == 0:
            errors["HOSO"] = "HOSO không có FILEHOSO nào"
        record = RawRecord(self._count, tables, errors, notes)
        self._count += 1
        # Constant memory: empty this HOSO and drop the ones before it.
        el.clear()
        parent = el.getparent()
        if parent is not None:
            while el.getprevious() is not None:
                del parent[0]
        return record


def _in_noidungfile(el: etree._Element) -> bool:
    """Whether an element outside the envelope's vocabulary belongs to a table written as plain XML."""
    parent = el.getparent()
    while parent is not None:
        tag = parent.tag
        if type(tag) is str:
            name = tag[tag.index("}") + 1 :] if tag[0] == "{" else tag
            if name == "NOIDUNGFILE":
                return True
            if name in _ENVELOPE_OUTSIDE:
                return False
        parent = parent.getparent()
    return False


def _plain_table(content: etree._Element) -> tuple[bytes | None, str]:
    """The one element a NOIDUNGFILE holds as plain XML, serialized as UTF-8 for the table parser."""
    kids = [child for child in content if type(child.tag) is str]
    stray = (content.text or "").strip() or any((child.tail or "").strip() for child in content)
    if len(kids) != 1 or stray:
        return None, "NOIDUNGFILE chứa nhiều phần tử hoặc lẫn văn bản với XML, không phải một bảng"
    table = copy.deepcopy(kids[0])
    # Serialized alone, the table would carry every namespace declared on the envelope above it (an invalid
    # one there would be blamed on the table): keep only those the table uses.
    etree.cleanup_namespaces(table)
    return etree.tostring(table, encoding="utf-8", with_tail=False), ""


def _namespace_errors_only(log: etree._ListErrorLog) -> bool:
    """The parser's own log (an exception's log also holds earlier parses' errors of the same thread)."""
    errors = [e for e in log if e.level >= etree.ErrorLevels.ERROR]
    return bool(errors) and all(e.domain == etree.ErrorDomains.NAMESPACE for e in errors)
