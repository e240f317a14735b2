"""The compiled reader (`parsing/flatxml.pyx`) reads every record element exactly as lxml's own API does:
on the real samples, on generated files of both standards (tidy and sloppy), and on random flat documents with
the quirks real exports and hostile files carry (namespaces, CDATA, comments, processing instructions,
nested children, empty and repeated fields, non-ASCII names and text)."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from services.claims.parsing import flatxml as flat
from services.claims.parsing import open_claim_file
from services.claims.parsing.safexml import read_document
from services.claims.parsing.tables import ROW_TAGS
from services.devtools.claims_generator import generate

DATA = Path(__file__).resolve().parents[2] / "data" / "claims"
REAL = sorted(DATA.glob("real_*.xml"))


def local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def fields_by_lxml(el: etree._Element) -> dict[str, str | None]:
    """What the reader must give: each child *element* by local name -> its `.text`."""
    return {local(child.tag): child.text for child in el if isinstance(child.tag, str)}


def rows_by_lxml(root: etree._Element, tag: str) -> list[dict[str, str | None]]:
    out = []
    for child in root:
        if isinstance(child.tag, str) and local(child.tag) == tag:
            out.append(fields_by_lxml(child))
            continue
        out.extend(fields_by_lxml(el) for el in child if isinstance(el.tag, str) and local(el.tag) == tag)
    return out


def assert_same(root: etree._Element) -> None:
    assert flat.fields(root) == fields_by_lxml(root)
    for tag in (*ROW_TAGS.values(), local(root[0].tag) if len(root) and isinstance(root[0].tag, str) else "X"):
        assert flat.rows(root, tag) == rows_by_lxml(root, tag)


def tables_of(data: bytes) -> list[bytes]:
    return [t for raw in open_claim_file(io.BytesIO(data)) for t in raw.tables.values()]


@pytest.mark.parametrize("path", REAL, ids=lambda p: p.name)
def test_every_table_of_the_real_samples_reads_as_lxml_reads_it(path: Path) -> None:
    tables = tables_of(path.read_bytes())
    assert tables
    for data in tables:
        try:
            root = read_document(data)[0]
        except ValueError:
            continue  # the damaged sample's unreadable table: never reaches the reader
        assert_same(root)


@pytest.mark.parametrize(("standard", "sloppy"), [("130", False), ("130", True), ("4210", False)])
def test_generated_files_read_as_lxml_reads_them(standard: str, sloppy: bool) -> None:
    out = io.BytesIO()
    generate(out, records=40, year=2024, months=[1, 2], seed=3, standard=standard, sloppy=sloppy)
    tables = tables_of(out.getvalue())
    assert len(tables) >= 40
    for data in tables:
        assert_same(read_document(data)[0])


def test_text_is_lxml_text() -> None:
    root = etree.fromstring(
        b"<R xmlns:a='urn:a'><A/><B></B><C>  x  </C><a:D>y</a:D><E>p<![CDATA[<q>]]>r</E><F><G>z</G>tail</F>"
        b"<H>h<!-- c -->i</H><I><![CDATA[]]></I><!-- note --><?pi x?><J>\xe1\xba\xa0</J><C>last</C></R>"
    )
    got = flat.fields(root)
    assert got == {"A": None, "B": None, "C": "last", "D": "y", "E": "p<q>r", "F": None, "H": "h", "I": "",
                   "J": "\u1ea0"}
    assert got == fields_by_lxml(root)


def test_names_are_interned_and_right_whatever_shares_their_slot() -> None:
    """Names are kept by the address libxml2 gives them (flatxml._name): thousands of names from parsers of their
    own, many sharing a slot, each read as written, and interned (a dict of fields is looked up by identity)."""
    for i in range(3000):
        parser = etree.XMLParser(remove_comments=bool(i % 2))
        a, b = f"F{i % 997}", f"TÊN_{i % 389}"
        root = etree.fromstring(f"<R><{a}>1</{a}><n:{b} xmlns:n='urn:n'>2</n:{b}></R>".encode(), parser)
        got = flat.fields(root)
        assert got == {a: "1", b: "2"}
        assert all(sys.intern(k) is k for k in got)


def test_rows_are_found_under_the_root_and_one_level_down_in_document_order() -> None:
    root = etree.fromstring(
        b"<R><L><K>1</K></L><DS><L><K>2</K></L><X><L><K>too deep</K></L></X><L><K>3</K></L></DS><L><K>4</K></L></R>"
    )
    assert [r["K"] for r in flat.rows(root, "L")] == ["1", "2", "3", "4"]


_NAME = st.sampled_from(["MA_LK", "STT", "T_BHTT", "HO_TEN", "TÊN", "x", "CHI_TIET_THUOC", "DSACH"])
# Characters XML allows in text (no controls but tab and newline).
_TEXT = st.text(alphabet=st.one_of(st.characters(categories=("L", "N", "P", "Zs")), st.sampled_from(" \t\n")),
                max_size=6)


@st.composite
def _piece(draw: st.DrawFn, depth: int) -> str:
    kind = draw(st.sampled_from(["el", "el", "el", "text", "cdata", "comment", "pi"] if depth else ["text", "cdata"]))
    if kind == "text":
        return draw(_TEXT).replace("&", "&amp;").replace("<", "&lt;")
    if kind == "cdata":
        return "<![CDATA[" + draw(_TEXT).replace("]]>", "") + "]]>"
    if kind == "comment":
        return "<!--" + draw(_TEXT).replace("-", "") + "-->"
    if kind == "pi":
        return "<?p " + draw(_TEXT).replace("?>", "") + "?>"
    name = draw(_NAME)
    prefix = draw(st.sampled_from(["", "", "n:"]))
    body = "".join(draw(st.lists(_piece(depth - 1), max_size=4)))
    return f"<{prefix}{name}>{body}</{prefix}{name}>" if body or draw(st.booleans()) else f"<{prefix}{name}/>"


@settings(max_examples=300, deadline=None)
@given(st.lists(_piece(3), max_size=8))
def test_random_flat_documents_read_as_lxml_reads_them(pieces: list[str]) -> None:
    doc = "<R xmlns:n='urn:n'>" + "".join(pieces) + "</R>"
    root = etree.fromstring(doc.encode("utf-8"))
    assert_same(root)
    for child in root:
        if isinstance(child.tag, str):
            assert_same(child)
