"""Real exports as hospitals write them (issue 14, the format half): the three real samples give their verdicts,
and variants of a real record with each quirk, alone and all together, are read exactly as the clean record is,
every repair said as a format note; damage in content still rejects the record, named, never a namespace."""

from __future__ import annotations

import base64
import dataclasses
import io
import re
from datetime import date
from decimal import Decimal
from pathlib import Path
from xml.sax.saxutils import escape as xml_escape

import pytest

from services.claims.parsing import decode_record, open_claim_file
from services.claims.parsing.notes import FORMAT_NOTES, note_message
from services.claims.parsing.safexml import read_document
from services.claims.reading import RecordResult, check_record
from services.claims.validation import ValidationContext
from tests.unit.claims.builders import DRUG, EXAM, codes

DATA = Path(__file__).resolve().parents[2] / "data" / "claims"
BASE64 = DATA / "real_20003_inpatient_base64.xml"
PLAIN = DATA / "real_20003_inpatient_plain_tables.xml"
DAMAGED = DATA / "real_94170_emergency_damaged.xml"
BAD_NS = ' xmlns:xsi="http://www.w3.org/2001/XMLSchema instance"'
FORMAT_CODES = {"record_unreadable", "xml_malformed", "envelope_invalid"}


def read(data: bytes) -> tuple[list[RecordResult], list[tuple[str, str | None]], list]:
    """Results, the envelope's notes, and each record's notes (deduplicated as the intake counts them)."""
    reader = open_claim_file(io.BytesIO(data))
    ctx = ValidationContext(reader.header.facility)
    results, notes = [], []
    for raw in reader:
        results.append(check_record(raw, reader.header, ctx))
        notes.append(set(raw.notes))
    return results, reader.notes, notes


def real_tables(path: Path) -> tuple[str, list[tuple[str, bytes]]]:
    """The facility and the decoded tables of the file's one record, in their order."""
    reader = open_claim_file(path.open("rb"))
    [raw] = list(reader)
    assert not raw.errors
    return reader.header.facility, list(raw.tables.items())


# --- building real-format files -----------------------------------------------------------------------

def with_root_attr(table: bytes, attr: str) -> bytes:
    """Add an attribute (a namespace declaration) to the table's root element."""
    m = re.search(rb"<([A-Za-z_][\w.-]*)", table[table.find(b"?>") + 2 if table.startswith(b"<?xml") else 0 :])
    assert m is not None
    start = (table.find(b"?>") + 2 if table.startswith(b"<?xml") else 0) + m.end()
    return table[:start] + attr.encode() + table[start:]


def declared(table: bytes, encoding: str) -> bytes:
    body = table.split(b"?>", 1)[1].lstrip() if table.startswith(b"<?xml") else table
    return f'<?xml version="1.0" encoding="{encoding}"?>'.encode() + body


def wrapped_b64(table: bytes) -> str:
    text = base64.b64encode(table).decode()
    return "\n".join(text[i : i + 64] for i in range(0, len(text), 64))


def noidungfile(table: bytes | None, mode: str) -> str:
    if mode == "empty" or table is None:
        return "<NOIDUNGFILE/>"
    if mode == "b64":
        return f"<NOIDUNGFILE>{wrapped_b64(table)}</NOIDUNGFILE>"
    body = (table.split(b"?>", 1)[1] if table.startswith(b"<?xml") else table).decode("utf-8").strip()
    if mode == "plain":
        return f"<NOIDUNGFILE>\n  {body}\n</NOIDUNGFILE>"
    if mode == "cdata":
        return f"<NOIDUNGFILE><![CDATA[{body}]]></NOIDUNGFILE>"
    assert mode == "escaped"  # the table's markup as text: &lt;TONG_HOP&gt;…
    return f"<NOIDUNGFILE>{xml_escape(body)}</NOIDUNGFILE>"


def envelope(facility: str, entries: list[tuple[str, bytes | None, str]], *, root_attr: str = "",
             encoding: str = "utf-8", lead: str = "") -> bytes:
    files = "".join(f"<FILEHOSO><LOAIHOSO>{kind}</LOAIHOSO>{noidungfile(t, mode)}</FILEHOSO>"
                    for kind, t, mode in entries)
    return (
        f'{lead}<?xml version="1.0" encoding="{encoding}"?><GIAMDINHHS{root_attr}><THONGTINDONVI><MACSKCB>'
        f"{facility}</MACSKCB></THONGTINDONVI><THONGTINHOSO><NGAYLAP>20251230</NGAYLAP><SOLUONGHOSO>1</SOLUONGHOSO>"
        f"<DANHSACHHOSO><HOSO>{files}</HOSO></DANHSACHHOSO></THONGTINHOSO><CHUKYDONVI> </CHUKYDONVI></GIAMDINHHS>"
    ).encode()


def content_of(result: RecordResult) -> dict:
    """What the record says, whatever its format: every decoded value, and which other tables it carries."""
    assert result.claim is not None
    out = dataclasses.asdict(result.claim)
    out["other_tables"] = sorted(out["other_tables"])
    return out


@pytest.fixture(scope="module")
def real() -> tuple[str, list[tuple[str, bytes]], dict]:
    facility, tables = real_tables(BASE64)
    [clean], envelope_notes, [notes] = read(envelope(facility, [(k, t, "b64") for k, t in tables]))
    assert clean.accepted and envelope_notes == [] and notes == set()
    return facility, tables, content_of(clean)


# --- the three real files -----------------------------------------------------------------------------

def test_real_base64_file_is_accepted_with_nothing_to_repair():
    [result], envelope_notes, [notes] = read(BASE64.read_bytes())
    assert result.accepted, [(i.code, i.message) for i in result.issues if i.severity == "critical"]
    assert not codes(result.issues) & FORMAT_CODES
    assert envelope_notes == [] and notes == set()
    claim = result.claim
    assert claim is not None and claim.standard == "130" and claim.ma_lk == "1073660"
    assert {ln.table for ln in claim.lines} == {"XML2", "XML3"} and len(claim.lines) > 700
    assert sorted(claim.other_tables) == ["XML4", "XML5", "XML7"]


def test_real_plain_tables_file_is_accepted_and_its_format_said():
    [result], envelope_notes, [notes] = read(PLAIN.read_bytes())
    assert result.accepted, [(i.code, i.message) for i in result.issues if i.severity == "critical"]
    assert not codes(result.issues) & FORMAT_CODES
    assert envelope_notes == []
    plain = {"XML1", "XML2", "XML3", "XML4", "XML5", "XML6", "XML7", "XML9", "XML15"}
    empty = {"XML8", "XML10", "XML11", "XML13", "XML14"}  # <NOIDUNGFILE/>: tables not sent, no fault
    assert notes == {("table_plain_xml", t) for t in plain} | {("table_empty", t) for t in empty}
    claim = result.claim
    assert claim is not None and claim.ma_lk == "1136957" and claim.t_bhtt is not None
    assert sorted(claim.other_tables) == sorted(plain - {"XML1", "XML2", "XML3"}, key=lambda t: t)
    assert {ln.table for ln in claim.lines} == {"XML2", "XML3"}


def test_real_damaged_file_is_rejected_for_its_damage_never_for_the_namespace():
    [result], envelope_notes, _ = read(DAMAGED.read_bytes())
    assert not result.accepted and result.claim is None
    assert codes(result.issues) == {"record_unreadable"}
    by_table = {i.table: i.message for i in result.issues}
    assert set(by_table) == {"XML1", "XML2"}
    assert "base64" in by_table["XML2"] and "không chia hết cho 4" in by_table["XML2"]
    assert "thẻ mở <MATIX_CU_TRU> và thẻ đóng </MATIXH_CU_TRU> không khớp" in by_table["XML1"]
    for message in by_table.values():
        assert "xmlns" not in message and "namespace" not in message and "URI" not in message
    assert envelope_notes == []
    # XML1 cannot be read, but XML3 (the one table intact) names the visit: the hospital knows which to send again.
    assert {i.ma_lk for i in result.issues} == {"ER26000392"}


def _xml1_broken(tables: list[tuple[str, bytes]]) -> dict[str, bytes]:
    broken = dict(tables)
    broken["XML1"] = broken["XML1"].replace(b"</MA_LK>", b"</MA_LKX>", 1)
    return broken


def test_a_record_whose_xml1_is_damaged_is_named_by_the_visit_its_other_tables_agree_on(real):
    facility, tables, _ = real
    broken = _xml1_broken(tables)
    [result], _, _ = read(envelope(facility, [(k, broken[k], "b64") for k, _ in tables]))
    assert not result.accepted and [(i.code, i.table) for i in result.issues] == [("record_unreadable", "XML1")]
    assert result.issues[0].ma_lk == "1073660"  # every line of XML2…XML7 carries it

    # XML1 not sent at all: the missing table is named with the visit too.
    [result], _, _ = read(envelope(facility, [(k, t, "b64") for k, t in tables if k != "XML1"]))
    assert [(i.code, i.table, i.ma_lk) for i in result.issues] == [("missing_field", "XML1", "1073660")]


def test_tables_naming_different_visits_name_none_for_a_damaged_record(real):
    facility, tables, _ = real
    broken = _xml1_broken(tables)
    broken["XML3"] = broken["XML3"].replace(b"1073660", b"9999999", 1)  # one line of another visit
    [result], _, _ = read(envelope(facility, [(k, broken[k], "b64") for k, _ in tables]))
    assert not result.accepted and [i.ma_lk for i in result.issues] == [None]


# --- variants of a real record: each quirk alone -------------------------------------------------------

def test_invalid_namespace_on_every_inner_table_is_a_note(real):
    facility, tables, clean = real
    [result], envelope_notes, [notes] = read(
        envelope(facility, [(k, with_root_attr(t, BAD_NS), "b64") for k, t in tables]))
    assert result.accepted and content_of(result) == clean
    assert notes == {("namespace_invalid", k) for k, _ in tables} and envelope_notes == []


def test_invalid_namespace_on_the_envelope_is_a_note(real):
    facility, tables, clean = real
    [result], envelope_notes, [notes] = read(envelope(facility, [(k, t, "b64") for k, t in tables], root_attr=BAD_NS))
    assert result.accepted and content_of(result) == clean
    assert envelope_notes == [("namespace_invalid", None)] and notes == set()


def test_undeclared_prefix_and_empty_namespace_are_notes_too(real):
    facility, tables, clean = real
    odd = {"XML1": ' xsi:nil="false"', "XML2": ' xmlns:p=""'}
    [result], _, [notes] = read(envelope(
        facility, [(k, with_root_attr(t, odd[k]) if k in odd else t, "b64") for k, t in tables]))
    assert result.accepted and content_of(result) == clean
    assert notes == {("namespace_invalid", "XML1"), ("namespace_invalid", "XML2")}


@pytest.mark.parametrize("encoding", ["utf-16", "UTF-16", "windows-1258", "ISO-8859-1"])
def test_declared_encoding_that_lies_over_utf8_is_a_note(real, encoding):
    facility, tables, clean = real
    [result], _, [notes] = read(envelope(facility, [(k, declared(t, encoding), "b64") for k, t in tables]))
    assert result.accepted and content_of(result) == clean  # Vietnamese text intact, not mojibake
    # Plain ASCII reads the same in any single-byte encoding: only UTF-16 over it is a lie that matters.
    lied = {k for k, t in tables if not t.isascii() or "16" in encoding}
    assert lied >= {"XML2", "XML3"}  # drug and service names in Vietnamese
    assert notes == {("encoding_declared_wrong", k) for k in lied}


def test_envelope_declared_utf16_over_utf8_is_a_note(real):
    facility, tables, clean = real
    [result], envelope_notes, [notes] = read(envelope(facility, [(k, t, "b64") for k, t in tables], encoding="utf-16"))
    assert result.accepted and content_of(result) == clean
    assert envelope_notes == [("encoding_declared_wrong", None)] and notes == set()


def test_true_other_encodings_and_boms_are_no_lie():
    table = "<TONG_HOP><MA_LK>LK1</MA_LK><HO_TEN>Lê Văn</HO_TEN></TONG_HOP>"
    latin = b'<?xml version="1.0" encoding="ISO-8859-1"?>' + "<T><HO_TEN>Lê</HO_TEN></T>".encode("latin-1")
    root, repairs = read_document(latin)
    assert root[0].text == "Lê" and repairs == ()  # not UTF-8: the declaration tells the truth
    root, repairs = read_document(('<?xml version="1.0" encoding="utf-16"?>' + table).encode("utf-16"))
    assert root[1].text == "Lê Văn" and repairs == ()
    root, repairs = read_document(b"\xef\xbb\xbf" + declared(table.encode(), "utf-16"))
    assert root[1].text == "Lê Văn" and repairs == ("encoding_declared_wrong",)  # the BOM decides
    root, repairs = read_document(('<?xml version="1.0" encoding="utf-8"?>' + table).encode("utf-16"))
    assert root[1].text == "Lê Văn" and repairs == ("encoding_declared_wrong",)
    assert read_document(declared(b"<A>ascii</A>", "us-ascii"))[1] == ()


@pytest.mark.parametrize("mode", ["plain", "escaped"])
def test_tables_as_plain_xml_inside_noidungfile(real, mode):
    facility, tables, clean = real
    [result], _, [notes] = read(envelope(facility, [(k, t, mode) for k, t in tables]))
    assert result.accepted and content_of(result) == clean
    assert notes == {("table_plain_xml", k) for k, _ in tables}


def test_empty_optional_tables_are_absent_tables(real):
    facility, tables, clean = real
    empties = [(f"XML{i}", None, "empty") for i in (6, 8, 9, 10, 11, 12, 13, 14, 15)]
    [result], _, [notes] = read(envelope(facility, [(k, t, "b64") for k, t in tables] + empties))
    assert result.accepted and content_of(result) == clean
    assert notes == {("table_empty", k) for k, _, _ in empties}
    no_xml4 = [(k, t if k != "XML4" else None, "b64" if k != "XML4" else "empty") for k, t in tables]
    [result], _, [notes] = read(envelope(facility, no_xml4))
    assert result.accepted and sorted(result.claim.other_tables) == ["XML5", "XML7"]  # type: ignore[union-attr]
    assert notes == {("table_empty", "XML4")}


def test_an_empty_xml1_is_a_missing_summary_not_an_unreadable_one(real):
    facility, tables, _ = real
    [result], _, _ = read(envelope(facility, [(k, None if k == "XML1" else t, "b64") for k, t in tables]))
    assert not result.accepted and codes(result.issues) == {"missing_field"}


def test_whitespace_before_the_declarations(real):
    facility, tables, clean = real
    [result], envelope_notes, [notes] = read(envelope(
        facility, [(k, b"\r\n  " + declared(t, "utf-8"), "b64") for k, t in tables], lead="\r\n"))
    assert result.accepted and content_of(result) == clean
    assert envelope_notes == [("prolog_whitespace", None)]
    assert notes == {("prolog_whitespace", k) for k, _ in tables}


# --- all the quirks together -----------------------------------------------------------------------------

def test_every_quirk_at_once_reads_the_same_record(real):
    facility, tables, clean = real
    modes = {"XML1": "plain", "XML2": "b64", "XML3": "escaped", "XML4": "b64", "XML5": "plain", "XML7": "b64"}
    entries = []
    for kind, table in tables:
        table = with_root_attr(table, BAD_NS)
        if modes[kind] == "b64":
            table = declared(table, "utf-16")
        entries.append((kind, table, modes[kind]))
    entries += [("XML8", None, "empty"), ("XML9", None, "empty")]
    data = envelope(facility, entries, root_attr=BAD_NS, encoding="utf-16", lead="\n")
    [result], envelope_notes, [notes] = read(data)
    assert result.accepted and content_of(result) == clean
    assert set(envelope_notes) == {("prolog_whitespace", None), ("encoding_declared_wrong", None),
                                   ("namespace_invalid", None)}
    # A plain table's unused declaration is dropped with the envelope's reading (noted there).
    assert notes == (
        {("namespace_invalid", k) for k, m in modes.items() if m != "plain"}
        | {("encoding_declared_wrong", k) for k, m in modes.items() if m == "b64"}
        | {("table_plain_xml", k) for k, m in modes.items() if m != "b64"}
        | {("table_empty", "XML8"), ("table_empty", "XML9")}
    )
    for kind, table in notes:
        assert kind in FORMAT_NOTES and note_message(kind, table, 3).endswith("(3 hồ sơ)")


def test_damage_next_to_a_namespace_quirk_is_named_for_the_damage(real):
    facility, tables, _ = real
    broken = {k: with_root_attr(t, BAD_NS) for k, t in tables}
    broken["XML3"] = broken["XML3"].replace(b"</MA_VAT_TU>", b"</MA_VAT_TUX>", 1)
    b64 = wrapped_b64(broken["XML2"])
    cut = b64[:200] + b64[201:]  # one character lost mid-stream, as in the real damaged file
    data = envelope(facility, [(k, broken[k], "b64") for k, _ in tables]).replace(b64.encode(), cut.encode())
    [result], _, _ = read(data)
    assert not result.accepted and codes(result.issues) == {"record_unreadable"}
    messages = {i.table: i.message for i in result.issues}
    assert set(messages) == {"XML2", "XML3"}
    assert "base64" in messages["XML2"]
    assert "<MA_VAT_TU>" in messages["XML3"] and "</MA_VAT_TUX>" in messages["XML3"]
    assert not any("namespace" in m or "URI" in m for m in messages.values())


def test_mismatched_tags_in_the_envelope_still_refuse_the_file(real):
    from services.claims.parsing import FileRejected

    facility, tables, _ = real
    data = envelope(facility, [(k, t, "b64") for k, t in tables], root_attr=BAD_NS)
    data = data.replace(b"</SOLUONGHOSO>", b"</SOLUONG_HOSO>")
    with pytest.raises(FileRejected) as info:
        read(data)
    assert info.value.code == "xml_malformed"
    assert "SOLUONGHOSO" in info.value.message and "URI" not in info.value.message


# --- QĐ 4210 as real exporters write it --------------------------------------------------------------------

XML1_4210 = {
    "MA_LK": "LK4210", "STT": "1", "MA_BN": "BN1", "HO_TEN": "Trần Thị Bình", "NGAY_SINH": "1956",
    "GIOI_TINH": "2", "DIA_CHI": "Xã Vĩnh Thuận", "MA_THE": "GD4919100000001", "MA_DKBD": "91060",
    "GT_THE_TU": "20170101", "GT_THE_DEN": "20171231", "MIEN_CUNG_CT": "20170301", "TEN_BENH": "Viêm họng",
    "MA_BENH": "J02.9", "MA_BENHKHAC": "", "MA_LYDO_VVIEN": "1", "NGAY_VAO": "201707150800",
    "NGAY_RA": "201707150845", "SO_NGAY_DTRI": "0", "KET_QUA_DTRI": "1", "TINH_TRANG_RV": "1",
    "NGAY_TTOAN": "201707150900", "MUC_HUONG": "100", "T_THUOC": "2940", "T_VTYT": "0", "T_TONGCHI": "37440",
    "T_BNTT": "0", "T_BHTT": "37440", "T_NGUONKHAC": "0", "T_NGOAIDS": "2940", "NAM_QT": "2017", "THANG_QT": "7",
    "MA_LOAI_KCB": "1", "MA_KHOA": "K01", "MA_CSKCB": "91060", "MA_KHUVUC": "", "MA_PTTT_QT": "", "CAN_NANG": "",
}
DRUG_4210 = {"MA_LK": "LK4210", "STT": "1", "MA_THUOC": DRUG["MA_THUOC"], "MA_NHOM": "4",
             "TEN_THUOC": DRUG["TEN_THUOC"], "SO_LUONG": "10", "DON_GIA": "294", "TYLE_TT": "100",
             "THANH_TIEN": "2940", "MUC_HUONG": "100", "T_BHTT": "2940", "MA_KHOA": "K01",
             "NGAY_YL": "201707150810", "MA_PTTT": "1"}
EXAM_4210 = {"MA_LK": "LK4210", "STT": "1", "MA_DICH_VU": EXAM["MA_DICH_VU"], "MA_NHOM": "13",
             "TEN_DICH_VU": EXAM["TEN_DICH_VU"], "SO_LUONG": "1", "DON_GIA": "34500", "TYLE_TT": "100",
             "THANH_TIEN": "34500", "MUC_HUONG": "100", "T_BHTT": "34500", "MA_KHOA": "K01",
             "NGAY_YL": "201707150800", "MA_PTTT": "2"}


def xml_of(root: str, fields: dict[str, str], item: str | None = None) -> bytes:
    body = "".join(f"<{k}>{v}</{k}>" if v else f"<{k}/>" for k, v in fields.items())
    return (f"<{root}><{item}>{body}</{item}></{root}>" if item else f"<{root}>{body}</{root}>").encode()


def record_4210(**changes: str) -> bytes:
    x1 = xml_of("TONG_HOP", {**XML1_4210, **changes})
    x2 = xml_of("DSACH_CHI_TIET_THUOC", DRUG_4210, "CHI_TIET_THUOC")  # no CHITIEU_* wrapper (qd4210-xsd)
    x3 = xml_of("DSACH_CHI_TIET_DVKT", EXAM_4210, "CHI_TIET_DVKT")
    x4 = xml_of("DSACH_CHI_TIET_CLS", {"MA_LK": "LK4210", "STT": "1", "MA_DICH_VU": "22.0001"}, "CHI_TIET_CLS")
    return envelope("91060", [("XML1", x1, "b64"), ("XML2", x2, "b64"), ("XML3", x3, "b64"), ("XML4", x4, "b64")])


@pytest.mark.parametrize("born, day, raw", [("1956", date(1956, 1, 1), "1956"),
                                            ("195603", date(1956, 3, 1), "195603"),
                                            ("19560317", date(1956, 3, 17), None)])
def test_qd4210_as_exporters_write_it(born, day, raw):
    [result], envelope_notes, [notes] = read(record_4210(NGAY_SINH=born))
    assert not codes(result.issues) & FORMAT_CODES
    claim = result.claim
    assert claim is not None and claim.standard == "4210"
    assert (claim.ngay_sinh, claim.ngay_sinh_raw, claim.ngay_sinh_partial) == (day, raw, raw is not None)
    assert claim.ngay_mien_cct == "20170301"  # MIEN_CUNG_CT
    assert claim.t_bhtt_gdv == Decimal("2940.00")  # T_NGOAIDS, read in place of T_BHTT_GDV
    assert [(ln.table, ln.item_code, ln.t_bhtt, ln.ma_pttt) for ln in claim.lines] == [
        ("XML2", DRUG["MA_THUOC"], Decimal("2940.00"), "1"), ("XML3", EXAM["MA_DICH_VU"], Decimal("34500.00"), "2")]
    assert sorted(claim.other_tables) == ["XML4"]
    # QĐ 4210's own layout is no repair; a birth date known only in part is said.
    assert envelope_notes == [] and notes == ({("birth_date_partial", "XML1")} if raw else set())


def test_qd4210_without_t_ngoaids_derives_it_from_the_lines():
    [result], _, _ = read(record_4210(T_NGOAIDS=""))
    assert result.claim is not None and result.claim.t_bhtt_gdv == Decimal("2940.00")


def test_qd4210_junk_birth_date_is_still_named():
    [result], _, _ = read(record_4210(NGAY_SINH="19561"))
    assert not result.accepted and "value_invalid" in codes(result.issues)
    assert any(i.field == "NGAY_SINH" for i in result.issues)


def test_unwrapped_roots_in_a_qd130_record_are_a_note(real):
    facility, tables, clean = real
    unwrap = {"XML2": b"CHITIEU_CHITIET_THUOC", "XML3": b"CHITIEU_CHITIET_DVKT_VTYT"}

    def strip(kind: str, table: bytes) -> bytes:
        if kind not in unwrap:
            return table
        return table.replace(b"<" + unwrap[kind] + b">", b"").replace(b"</" + unwrap[kind] + b">", b"")

    [result], _, [notes] = read(envelope(facility, [(k, strip(k, t), "b64") for k, t in tables]))
    assert result.accepted and content_of(result) == clean
    assert notes == {("table_root_unwrapped", "XML2"), ("table_root_unwrapped", "XML3")}


def test_a_wrong_root_is_still_refused(real):
    facility, tables, _ = real
    odd = [(k, t.replace(b"CHITIEU_CHITIET_THUOC", b"DANH_SACH") if k == "XML2" else t, "b64") for k, t in tables]
    [result], _, _ = read(envelope(facility, odd))
    assert not result.accepted and codes(result.issues) == {"record_unreadable"}
    assert "CHITIEU_CHITIET_THUOC" in result.issues[0].message


def test_decode_record_puts_the_notes_on_the_record(real):
    facility, tables, _ = real
    plain = envelope(facility, [(k, with_root_attr(t, BAD_NS), "plain") for k, t in tables])
    reader = open_claim_file(io.BytesIO(plain))
    raw = next(reader)
    assert set(raw.notes) == {("table_plain_xml", k) for k, _ in tables}  # the envelope's own reading
    claim, _ = decode_record(raw, reader.header)
    assert claim is not None
    assert set(raw.notes) == {("table_plain_xml", k) for k, _ in tables}  # the unused xmlns was dropped
    list(reader)
    assert reader.notes == [("namespace_invalid", None)]  # ...and is said on the file

    escaped = envelope(facility, [(k, with_root_attr(t, BAD_NS), "escaped") for k, t in tables])
    reader = open_claim_file(io.BytesIO(escaped))
    raw = next(reader)
    claim, _ = decode_record(raw, reader.header)
    assert claim is not None
    assert set(raw.notes) == {("table_plain_xml", k) for k, _ in tables} | {("namespace_invalid", k) for k, _ in tables}


def test_qd4210_tables_as_cdata_and_plain_xml():
    x1 = xml_of("TONG_HOP", XML1_4210)
    x2 = xml_of("DSACH_CHI_TIET_THUOC", DRUG_4210, "CHI_TIET_THUOC")
    x3 = xml_of("DSACH_CHI_TIET_DVKT", EXAM_4210, "CHI_TIET_DVKT")
    data = envelope("91060", [("XML1", x1, "plain"), ("XML2", x2, "cdata"), ("XML3", x3, "escaped")])
    [result], _, [notes] = read(data)
    assert result.claim is not None and len(result.claim.lines) == 2 and not codes(result.issues) & FORMAT_CODES
    assert notes == {("table_plain_xml", t) for t in ("XML1", "XML2", "XML3")} | {("birth_date_partial", "XML1")}


def test_plain_tables_are_bounded_like_base64_ones():
    from services.claims.parsing import FileRejected
    from services.claims.parsing.envelope import _MAX_PLAIN_ELEMENTS

    huge = xml_of("DSACH_CHI_TIET_THUOC", {"MA_LK": "LK4210"}, "CHI_TIET_THUOC").replace(
        b"<CHI_TIET_THUOC>", b"<CHI_TIET_THUOC>" + b"<X/>" * _MAX_PLAIN_ELEMENTS, 1)
    data = envelope("91060", [("XML1", xml_of("TONG_HOP", XML1_4210), "b64"), ("XML2", huge, "plain")])
    with pytest.raises(FileRejected) as info:
        read(data)
    assert info.value.code == "envelope_invalid"
    fits = huge.replace(b"<X/>", b"", 10)
    [result], _, _ = read(envelope("91060", [("XML1", xml_of("TONG_HOP", XML1_4210), "b64"), ("XML2", fits, "plain")]))
    assert result.claim is not None
