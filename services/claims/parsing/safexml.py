"""Safe XML for untrusted claim files: no DTD, no entities, no network, no huge trees.

Any DOCTYPE is refused *before* libxml2 sees it (a prolog scan), so a billion-laughs or an
external-entity file is never expanded nor fetched; the parsed tree's docinfo is checked again
afterwards in case a DOCTYPE slipped past the scan (e.g. in an encoding it does not decode).
"""

from __future__ import annotations

import re
import threading

from lxml import etree

from services.common.xmlsafe import (  # noqa: F401 - one home for the prolog rules; re-exported for the parser
    ENCODING_WRONG,
    PROLOG_WHITESPACE,
    SAFE_OPTIONS,
    local_name,
    prolog_has_dtd,
    repair_encoding,
    repair_prolog,
)

_local = threading.local()


def parser() -> etree.XMLParser:
    """One parser per thread: lxml parsers must not be shared between threads."""
    p = getattr(_local, "parser", None)
    if p is None:
        p = _local.parser = etree.XMLParser(**SAFE_OPTIONS)
    return p


def has_doctype(tree: etree._ElementTree) -> bool:
    info = tree.docinfo
    return bool(info.doctype) or info.internalDTD is not None or info.externalDTD is not None


class UnsafeXML(ValueError):
    """Not well-formed, or carrying a DTD."""


def _starts_plainly(data: bytes) -> bool:
    """The common prolog, checked without decoding: '<root', or '<?xml …?>' declaring no encoding or UTF-8,
    then '<root'. Anything else (a BOM, whitespace first, another declared encoding) takes the careful path."""
    i = 0
    if data.startswith(b"<?xml"):
        i = data.find(b"?>", 5, 200) + 2
        if i == 1:
            return False
        enc = data.find(b"encoding", 5, i)
        if enc > 0 and data[enc + 8 : i].lstrip(b" =\t\"'")[:5].lower() not in (b"utf-8", b"utf8\"", b"utf8'"):
            return False
        while data[i : i + 1] in (b" ", b"\n", b"\r", b"\t"):
            i += 1
    return data[i : i + 1] == b"<" and data[i + 1 : i + 2].isalpha()


# Repairs the reader may make, by format-note kind (services/claims/parsing/notes.py words them).
NS_INVALID = "namespace_invalid"

def _recovered(data: bytes, strict: etree.XMLSyntaxError) -> etree._Element:
    """Parse again keeping the tree despite namespace errors (an invalid URI such as 'XMLSchema instance',
    an undeclared prefix): namespaces carry no meaning in claim files, elements are read by local name.
    Any other error (mismatched tags, bad characters, truncation) still refuses the table, named in Vietnamese.
    A fresh parser each time: only the repair path comes here, and its error log must be this document's."""
    p = etree.XMLParser(recover=True, **SAFE_OPTIONS)
    try:
        root = etree.fromstring(data, p)
    except etree.XMLSyntaxError as exc:  # recover mode still gives up on some inputs
        raise UnsafeXML(vietnamese_error(exc)) from None
    errors = [e for e in p.error_log if e.level >= etree.ErrorLevels.ERROR]
    for entry in errors:
        if entry.domain != etree.ErrorDomains.NAMESPACE:
            raise UnsafeXML(vietnamese_error(entry))
    if root is None or not errors:
        raise UnsafeXML(vietnamese_error(strict))  # nothing to blame on namespaces: keep the strict verdict
    return root


def read_document(data: bytes) -> tuple[etree._Element, tuple[str, ...]]:
    """Parse one complete inner table, liberal in format: returns the root and the repairs made (kinds above),
    or raises UnsafeXML with a short Vietnamese reason. A clean table costs one strict parse, nothing more."""
    if _starts_plainly(data):
        try:
            return _checked(etree.fromstring(data, parser())), ()
        except etree.XMLSyntaxError:
            pass  # a namespace error, or real damage: the careful path tells which
    repairs: list[str] = []
    head = data[:4096]
    verdict = prolog_has_dtd(head)
    if verdict is None and len(data) > len(head):
        verdict = prolog_has_dtd(data)
    if verdict:
        raise UnsafeXML("có khai báo DOCTYPE/DTD, không được phép")
    start = 3 if data[:3] == b"\xef\xbb\xbf" else 0
    if data[start : start + 1].isspace():
        # Whitespace before '<?xml' is an error in strict XML; exporters write it, and it means nothing.
        data = data[start:].lstrip()
        if data.startswith(b"<?xml"):
            repairs.append(PROLOG_WHITESPACE)
    data, lied = repair_encoding(data)
    if lied:
        repairs.append(ENCODING_WRONG)
    try:
        root = etree.fromstring(data, parser())
    except etree.XMLSyntaxError as exc:
        root = _recovered(data, exc)
        repairs.append(NS_INVALID)
    return _checked(root), tuple(repairs)


def _checked(root: etree._Element) -> etree._Element:
    if has_doctype(root.getroottree()):
        raise UnsafeXML("có khai báo DOCTYPE/DTD, không được phép")
    return root


def parse_document(data: bytes) -> etree._Element:
    """Parse one complete inner table; raise UnsafeXML with a short reason (``read_document`` without the notes)."""
    return read_document(data)[0]


_CONTENT_BYTES = re.compile(r"\s*Bytes:(\s*0x[0-9A-Fa-f]{2})+")
_NO_SOURCE = re.compile(r"\s*\(<string>, line \d+\)")
_POSITION = re.compile(r",\s*line (\d+), column (\d+)\s*$")
_NAME = r"([A-Za-z_][\w.:-]{0,60})"
# libxml2's commonest messages, said in Vietnamese for the hospital; anything else keeps libxml2's words.
_VIETNAMESE: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(p), v) for p, v in (
    (rf"Opening and ending tag mismatch: {_NAME} line \d+ and {_NAME}",
     "thẻ mở <{0}> và thẻ đóng </{1}> không khớp nhau"),
    (rf"Premature end of data in tag {_NAME}", "dữ liệu bị cắt cụt: thẻ <{0}> chưa được đóng"),
    (r"EndTag: '</' not found", "dữ liệu bị cắt cụt: thiếu thẻ đóng"),
    (r"Document is empty", "không có nội dung XML"),
    (r"Start tag expected, '<' not found", "không bắt đầu bằng một thẻ XML"),
    (r"Extra content at the end of the document", "có nội dung thừa sau phần tử gốc"),
    (r"Input is not proper UTF-8", "có byte không phải UTF-8 hợp lệ (kiểm tra khai báo encoding)"),
    (r"Document labelled UTF-16 but has UTF-8 content", "khai báo UTF-16 nhưng nội dung là UTF-8"),
    (r"(PCDATA invalid Char value|invalid character|Char 0x[0-9A-Fa-f]+ out of allowed range)",
     "có ký tự không được phép trong XML"),
    (r"(xmlParseEntityRef: no name|EntityRef: expecting ';')", "ký tự '&' chưa được viết thành &amp;"),
    (rf"Entity '{_NAME}' not defined", "thực thể &{0}; không được định nghĩa"),
    (rf"Couldn't find end of Start Tag {_NAME}", "thẻ mở <{0}> không được kết thúc đúng"),
    (r"(AttValue: \" or ' expected|attributes construct error|Specification mandates value)",
     "thuộc tính viết sai"),
    (r"StartTag: invalid element name", "tên thẻ không hợp lệ"),
    (r"(Excessive depth|xmlSAX2Characters: huge text node|Huge input lookup|[Rr]esource limit|too large|"
     r"AttValue length too long)", "vượt giới hạn kích thước hoặc độ sâu của XML"),
    (rf"{_NAME}: '[^']*' is not a valid URI", "khai báo namespace {0} có URI không hợp lệ"),
))


def vietnamese_error(exc: Exception | etree._LogEntry) -> str:
    """A libxml2 error (exception or log entry) in Vietnamese, with its line and column, without the raw
    content bytes libxml2 sometimes quotes (they may be personal data)."""
    if isinstance(exc, etree._LogEntry):
        text, position = exc.message or "", (exc.line, exc.column)
    else:
        text = _NO_SOURCE.sub("", str(exc)).strip()
        m = _POSITION.search(text)
        position = (int(m.group(1)), int(m.group(2))) if m else None
        text = text[: m.start()] if m else text
    text = _CONTENT_BYTES.sub("", text).strip() or type(exc).__name__
    for pattern, words in _VIETNAMESE:
        m = pattern.search(text)
        if m:
            text = words.format(*m.groups())
            break
    else:
        text = f"XML không hợp lệ: {text}"
    if position and position[0]:
        text += f" (dòng {position[0]}, cột {position[1]})"
    return text if len(text) <= 200 else text[:200] + "…"


def short_error(exc: Exception | etree._LogEntry, limit: int = 200) -> str:
    """libxml2's message for a whole-file refusal, in Vietnamese where known (see ``vietnamese_error``)."""
    text = vietnamese_error(exc)
    return text if len(text) <= limit else text[:limit] + "…"
