"""Safe XML for untrusted claim files: no DTD, no entities, no network, no huge trees.

Any DOCTYPE is refused *before* libxml2 sees it (a prolog scan), so a billion-laughs or an
external-entity file is never expanded nor fetched; the parsed tree's docinfo is checked again
afterwards in case a DOCTYPE slipped past the scan (e.g. in an encoding it does not decode).
"""

from __future__ import annotations

import re
import threading

from lxml import etree

# Options shared by the envelope's iterparse and the inner tables' parser.
SAFE_OPTIONS: dict[str, bool] = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "dtd_validation": False,
    "huge_tree": False,  # keep libxml2's 10 MB text/attribute and depth limits
    "remove_comments": True,
    "remove_pis": True,
    "collect_ids": False,
}

_local = threading.local()


def parser() -> etree.XMLParser:
    """One parser per thread: lxml parsers must not be shared between threads."""
    p = getattr(_local, "parser", None)
    if p is None:
        p = _local.parser = etree.XMLParser(**SAFE_OPTIONS)
    return p


def local_name(tag: str) -> str:
    """'{urn:x}HOSO' -> 'HOSO': namespaces in claim files carry no meaning, only their local names do."""
    return tag[tag.index("}") + 1 :] if tag[:1] == "{" else tag


_BOMS_16 = ((b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))


def _prolog_text(buf: bytes) -> str:
    """The bytes as text good enough to read markup: UTF-16 decoded, anything ASCII-compatible as latin-1."""
    for bom, enc in _BOMS_16:
        if buf.startswith(bom):
            return buf[2 : len(buf) & ~1].decode(enc, "ignore")
    if buf[:2] == b"<\x00":
        return buf[: len(buf) & ~1].decode("utf-16-le", "ignore")
    if buf[:2] == b"\x00<":
        return buf[: len(buf) & ~1].decode("utf-16-be", "ignore")
    return buf.decode("latin-1")


def prolog_has_dtd(buf: bytes) -> bool | None:
    """True if a DOCTYPE (or any other '<!' declaration) comes before the root element,
    False if the root element (or junk the parser will refuse) comes first, None if ``buf`` ends first."""
    text = _prolog_text(buf)
    i = 0
    n = len(text)
    while True:
        while i < n and text[i] in " \t\r\n\ufeff\xef\xbb\xbf":
            i += 1
        if i >= n:
            return None
        if text[i] != "<":
            return False
        if text.startswith("<?", i):
            j = text.find("?>", i + 2)
            if j < 0:
                return None
            i = j + 2
        elif text.startswith("<!--", i):
            j = text.find("-->", i + 4)
            if j < 0:
                return None
            i = j + 3
        elif i + 1 >= n or (text[i + 1] == "!" and i + 4 > n):
            return None  # '<' or '<!-' cut at the end of the buffer
        else:
            return text[i + 1] == "!"


def has_doctype(tree: etree._ElementTree) -> bool:
    info = tree.docinfo
    return bool(info.doctype) or info.internalDTD is not None or info.externalDTD is not None


class UnsafeXML(ValueError):
    """Not well-formed, or carrying a DTD."""


def _starts_plainly(data: bytes) -> bool:
    """The common prolog, checked without decoding: '<root' or '<?xml …?>' then '<root'."""
    i = 0
    if data.startswith(b"<?xml"):
        i = data.find(b"?>", 5, 200) + 2
        if i == 1:
            return False
        while data[i : i + 1] in (b" ", b"\n", b"\r", b"\t"):
            i += 1
    return data[i : i + 1] == b"<" and data[i + 1 : i + 2].isalpha()


def parse_document(data: bytes) -> etree._Element:
    """Parse one complete inner table; raise UnsafeXML with a short reason."""
    if not _starts_plainly(data):
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
    try:
        root = etree.fromstring(data, parser())
    except etree.XMLSyntaxError as exc:
        raise UnsafeXML(short_error(exc)) from None
    if has_doctype(root.getroottree()):
        raise UnsafeXML("có khai báo DOCTYPE/DTD, không được phép")
    return root


_CONTENT_BYTES = re.compile(r"\s*Bytes:(\s*0x[0-9A-Fa-f]{2})+")
_NO_SOURCE = re.compile(r"\s*\(<string>, line \d+\)")


def short_error(exc: Exception, limit: int = 160) -> str:
    """libxml2's message, without the raw content bytes it sometimes quotes (they may be personal data)."""
    text = _NO_SOURCE.sub("", _CONTENT_BYTES.sub("", str(exc))).strip() or type(exc).__name__
    return text if len(text) <= limit else text[:limit] + "…"
