"""The prolog of untrusted XML (claim files), read the same way by every process that reads one.

The claims service parses whole files; the gateway reads only the head of an upload to learn whose file it is.
Both must refuse the same DTDs and forgive the same format quirks, so the rules live here once:

- any DOCTYPE or other markup declaration before the root is refused *before* libxml2 sees it (a prolog scan),
  so no entity is ever expanded or fetched;
- whitespace before `<?xml` (fatal to libxml2, meaningless to people) is dropped;
- the encoding comes from the bytes when the declaration lies (UTF-8 bytes declared `utf-16`, `windows-1258`…).
"""

from __future__ import annotations

import codecs
import re

PROLOG_MAX = 1 << 20  # bytes allowed before the root element (declaration, comments)

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


# Repairs of the prolog, by format-note kind (the claims service words and counts them per file).
ENCODING_WRONG = "encoding_declared_wrong"
PROLOG_WHITESPACE = "prolog_whitespace"

_DECLARED = re.compile(rb"""^<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]*)["']""")
_UTF8_NAMES = frozenset({b"utf-8", b"utf8"})
# Encodings libxml2 cannot read over ASCII-compatible bytes: declaring them over UTF-8 always fails.
_WIDE = (b"utf-16", b"utf16", b"ucs-2", b"ucs2", b"utf-32", b"utf32", b"ucs-4", b"ucs4", b"unicode")


def repair_encoding(data: bytes, *, partial: bool = False) -> tuple[bytes, bool]:
    """The encoding comes from the bytes when the declaration lies: UTF-8 bytes (BOM, or bytes that decode
    as UTF-8 and are not plain ASCII) under another declared encoding are read as UTF-8, the declaration
    rewritten. A UTF-16 BOM wins over any declaration (libxml2 already reads it so; the lie is still reported).
    Returns the bytes to parse and whether the declaration lied. ``partial``: ``data`` is only the head of a
    stream (the envelope), so a character cut at its end is no evidence against UTF-8."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        text = _prolog_text(data[:400])
        m = _DECLARED.match(text.lstrip("\ufeff").encode("ascii", "replace"))
        return data, bool(m and not m.group(1).lower().replace(b"-", b"").startswith((b"utf16", b"ucs2", b"unicode")))
    if b"\x00" in data[:4]:
        return data, False  # UTF-16/32 without a BOM: libxml2 detects it from '<'
    bom = data[:3] == b"\xef\xbb\xbf"
    body = data[3:] if bom else data
    m = _DECLARED.match(body)
    if m is None or m.group(1).lower() in _UTF8_NAMES:
        return data, False
    declared = m.group(1).lower()
    if not bom:
        try:
            codecs.getincrementaldecoder("utf-8")().decode(body, final=not partial)
        except UnicodeDecodeError:
            return data, False  # truly another encoding (windows-1258, latin-1…): the declaration tells
        if body.isascii() and not declared.startswith(_WIDE):
            return data, False  # plain ASCII reads the same under any ASCII-compatible encoding
    start, end = m.span(1)
    return body[:start] + b"utf-8" + body[end:], True


def repair_prolog(head: bytes) -> tuple[bytes, list[str]]:
    """The head of a stream (its first bytes, the prolog at least) made readable by libxml2: whitespace before
    `<?xml` dropped, a lying encoding declaration rewritten. Returns the bytes and the repairs made (kinds above).
    Call it after `prolog_has_dtd(head)` said False: it does not look for declarations."""
    repairs: list[str] = []
    start = 3 if head[:3] == b"\xef\xbb\xbf" else 0
    if head[start : start + 1].isspace() and head[start:].lstrip().startswith(b"<?xml"):
        head = head[start:].lstrip()
        repairs.append(PROLOG_WHITESPACE)
    head, lied = repair_encoding(head, partial=True)
    if lied:
        repairs.append(ENCODING_WRONG)
    return head, repairs
