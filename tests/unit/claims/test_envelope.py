"""The streaming envelope reader: header, records, whole-file refusals, and hostile XML."""

from __future__ import annotations

import base64
import io

import pytest

from services.claims.parsing import FileRejected, decode_record, open_claim_file
from tests.unit.claims.builders import FACILITY, codes, envelope, run, tables

BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
    + "".join(f' <!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n' for i in range(1, 10))
    + "]>\n"
)
XXE = '<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
DTD_ONLY = '<!DOCTYPE GIAMDINHHS SYSTEM "http://example.invalid/giamdinh.dtd">\n'
PARAMETER = '<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>\n'
HOSTILE = {"billion_laughs": (BILLION_LAUGHS, "&lol9;"), "xxe": (XXE, "&xxe;"), "dtd_only": (DTD_ONLY, ""),
           "parameter_entity": (PARAMETER, "")}


class Endless(io.RawIOBase):
    """A stream whose head is given and whose tail never ends: reading it all would never finish."""

    def __init__(self, head: bytes) -> None:
        self.head = head
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        n = len(buffer)
        chunk = (self.head[self.read_bytes : self.read_bytes + n] if self.read_bytes < len(self.head) else b"")
        chunk = chunk + b"<HOSO/>" * ((n - len(chunk)) // 7)
        buffer[: len(chunk)] = chunk
        self.read_bytes += len(chunk)
        return len(chunk)


def rejected(data: bytes) -> FileRejected:
    with pytest.raises(FileRejected) as info:
        list(open_claim_file(io.BytesIO(data)))
    return info.value


def test_header_known_before_iterating_and_records_stream():
    data = envelope([tables(), tables(MA_LK="LK0002")])
    reader = open_claim_file(io.BytesIO(data))
    assert reader.header.facility == FACILITY
    assert reader.header.ngay_lap == "20240801"
    assert reader.header.so_luong_ho_so == 2
    records = list(reader)
    assert [r.index for r in records] == [0, 1]
    assert set(records[0].tables) == {"XML1", "XML2", "XML3"}
    assert records[0].tables["XML1"].startswith(b"<?xml")
    assert reader.file_issues() == []


def test_declared_count_differs_is_a_file_warning():
    reader = open_claim_file(io.BytesIO(envelope([tables()], count=5)))
    list(reader)
    [issue] = reader.file_issues()
    assert issue.code == "record_count_mismatch" and issue.severity == "warning"


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_dtd_in_envelope_refused_before_reading_the_file(name):
    prolog, ref = HOSTILE[name]
    head = (prolog + f"<GIAMDINHHS>{ref}<THONGTINDONVI><MACSKCB>91060</MACSKCB></THONGTINDONVI>").encode()
    stream = Endless(head)
    with pytest.raises(FileRejected) as info:
        open_claim_file(io.BufferedReader(stream, 8192))
    assert info.value.code == "xml_malformed"
    assert stream.read_bytes <= 2 * 65536  # only the prolog was read, not the endless body
    assert "root:" not in info.value.message


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_dtd_inside_a_table_makes_only_that_record_unreadable(name):
    prolog, ref = HOSTILE[name]
    bomb = (prolog + f"<TONG_HOP><MA_LK>LK9</MA_LK><HO_TEN>{ref}</HO_TEN></TONG_HOP>").encode()
    data = envelope([tables(), [("XML1", bomb)], tables(MA_LK="LK0003")])
    results = run(data)
    assert [r.accepted for r in results] == [True, False, True]
    assert codes(results[1].issues) == {"record_unreadable"}
    assert "root:" not in results[1].issues[0].message


def test_doctype_after_a_comment_and_in_utf16_is_refused():
    assert rejected(b"<!-- hello --><!DOCTYPE x><GIAMDINHHS/>").code == "xml_malformed"
    utf16 = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE x [<!ENTITY a "b">]><GIAMDINHHS/>'.encode("utf-16")
    assert rejected(utf16).code == "xml_malformed"


def test_entity_reference_without_dtd_is_malformed():
    assert rejected(b"<GIAMDINHHS><THONGTINDONVI><MACSKCB>91060</MACSKCB></THONGTINDONVI>&foo;</GIAMDINHHS>").code \
        == "xml_malformed"


@pytest.mark.parametrize("data, code", [
    (b"", "xml_malformed"),
    (b"   \n", "xml_malformed"),
    (b"not xml at all", "xml_malformed"),
    (b"<ROOT><THONGTINDONVI><MACSKCB>91060</MACSKCB></THONGTINDONVI></ROOT>", "envelope_invalid"),
    (b"<GIAMDINHHS><THONGTINHOSO><DANHSACHHOSO></DANHSACHHOSO></THONGTINHOSO></GIAMDINHHS>", "envelope_invalid"),
    (b"<GIAMDINHHS><THONGTINDONVI><MACSKCB>91 06 0</MACSKCB></THONGTINDONVI></GIAMDINHHS>", "envelope_invalid"),
    (b"<GIAMDINHHS><THONGTINHOSO><DANHSACHHOSO><HOSO/></DANHSACHHOSO></THONGTINHOSO></GIAMDINHHS>",
     "envelope_invalid"),
])
def test_whole_file_problems(data, code):
    assert rejected(data).code == code


def test_late_malformation_keeps_records_already_yielded():
    data = envelope([tables(MA_LK=f"LK{i}") for i in range(5)])
    cut = data[: data.rindex(b"<HOSO>") + 40]  # truncated inside the last record
    reader = open_claim_file(io.BytesIO(cut))
    got = []
    with pytest.raises(FileRejected) as info:
        for raw in reader:
            got.append(raw.index)
    assert info.value.code == "xml_malformed"
    assert got == [0, 1, 2, 3]
    with pytest.raises(FileRejected):  # it stays refused
        next(reader)


def test_gigantic_attribute_deep_nesting_and_huge_text_are_refused_quickly():
    head = b"<GIAMDINHHS><THONGTINDONVI><MACSKCB>91060</MACSKCB></THONGTINDONVI>"
    assert rejected(b'<GIAMDINHHS a="' + b"x" * (12 << 20) + b'">' + head[12:] + b"</GIAMDINHHS>").code \
        == "xml_malformed"
    assert rejected(head + b"<a>" * 5000 + b"</a>" * 5000 + b"</GIAMDINHHS>").code == "xml_malformed"
    assert rejected(head + b"<X>" + b"y" * (11 << 20) + b"</X></GIAMDINHHS>").code == "xml_malformed"


def test_gigantic_attribute_inside_a_table():
    # Up to libxml2's 10 MB text limit the base64 is read and the attribute is simply ignored...
    x1 = tables()[0][1].replace(b"<TONG_HOP>", b'<TONG_HOP a="' + b"x" * (6 << 20) + b'">')
    [result] = run(envelope([[("XML1", x1)] + tables()[1:]]))
    assert result.accepted
    # ...beyond it the NOIDUNGFILE itself is too long: the file is refused, nothing is expanded.
    big = tables()[0][1].replace(b"<TONG_HOP>", b'<TONG_HOP a="' + b"x" * (8 << 20) + b'">')
    assert rejected(envelope([[("XML1", big)]])).code == "xml_malformed"


def test_wrong_encodings():
    bad_utf8 = b'<?xml version="1.0" encoding="UTF-8"?><GIAMDINHHS><THONGTINDONVI><MACSKCB>9106\xe9</MACSKCB>'
    assert rejected(bad_utf8 + b"</THONGTINDONVI></GIAMDINHHS>").code == "xml_malformed"
    latin1_table = "<TONG_HOP><MA_LK>LK1</MA_LK><HO_TEN>Lê Văn</HO_TEN></TONG_HOP>".encode("latin-1", "replace")
    [result] = run(envelope([[("XML1", b'<?xml version="1.0" encoding="UTF-8"?>' + latin1_table)]]))
    assert codes(result.issues) == {"record_unreadable"}
    assert "0x" not in result.issues[0].message  # libxml2 quotes raw bytes (maybe of a name): dropped


def test_utf16_envelope_and_table_are_read():
    def utf16(content: bytes) -> bytes:
        body = content.decode().split("?>", 1)[-1]
        return ('<?xml version="1.0" encoding="UTF-16"?>' + body).encode("utf-16")

    data = envelope([[(kind, utf16(content) if kind == "XML1" else content) for kind, content in tables()]])
    [result] = run(data.decode().replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16"))
    assert result.accepted and result.issues == []


@pytest.mark.parametrize("content, why", [
    ("@@@@ not base64 @@@@", "không phải base64 hợp lệ: có ký tự ngoài bảng mã base64"),
    (base64.b64encode(b"<TONG_HOP><MA_LK>LK1</MA_LK></TONG_HOP>").decode()[:-3], "không chia hết cho 4"),
    (base64.b64encode(b"<TONG_HOP><MA_LK>LK1</MA_LK>").decode(), "dữ liệu bị cắt cụt: thẻ <TONG_HOP> chưa được đóng"),
    (base64.b64encode(b"<TONG_HOP><MA_LK>LK1</MA_LKX></TONG_HOP>").decode(),
     "thẻ mở <MA_LK> và thẻ đóng </MA_LKX> không khớp nhau"),
    (base64.b64encode(b"\x00\x01 binary").decode(), ""),
])
def test_unreadable_content(content, why):
    [result] = run(envelope([[("XML1", content)] + tables()[1:]]))
    assert not result.accepted
    assert codes(result.issues) == {"record_unreadable"}
    assert why in result.issues[0].message


@pytest.mark.parametrize("content", ["", "  \n  "])
def test_empty_noidungfile_is_an_absent_table(content):
    # <NOIDUNGFILE/> is a table not sent (issue 14): an absent XML1 is a missing table, an absent XML2 nothing.
    [no_xml1] = run(envelope([[("XML1", content)] + tables()[1:]]))
    assert codes(no_xml1.issues) == {"missing_field"} and not no_xml1.accepted
    [no_drugs] = run(envelope([[tables()[0], ("XML2", content), ("XML3", content)]]))
    assert no_drugs.claim is not None and no_drugs.claim.lines == []
    assert "record_unreadable" not in codes(no_drugs.issues)


def test_hoso_structure_problems():
    x1, x2, x3 = tables()
    [dup] = run(envelope([[x1, x2, x2, x3]]))
    assert codes(dup.issues) == {"record_unreadable"} and dup.issues[0].table == "XML2"
    [no_xml1] = run(envelope([[x2, x3]]))
    assert codes(no_xml1.issues) == {"missing_field"} and no_xml1.claim is None
    [unknown] = run(envelope([[x1, x2, x3, ("XML42", b"<X/>")]]))
    assert unknown.accepted and codes(unknown.issues) == {"table_unknown"}
    reader = open_claim_file(io.BytesIO(envelope([[]])))
    claim, issues = decode_record(next(reader), reader.header)
    assert claim is None and codes(issues) == {"record_unreadable"}


def test_junk_elements_are_bounded():
    head = b"<GIAMDINHHS><THONGTINDONVI><MACSKCB>91060</MACSKCB></THONGTINDONVI>"
    assert rejected(head + b"<J/>" * 10_001 + b"</GIAMDINHHS>").code == "envelope_invalid"
    # FILEHOSO parts wait for their HOSO: a HOSO of hundreds of tables, or parts astray, are refused.
    assert rejected(head + b"<FILEHOSO/>" * 200 + b"</GIAMDINHHS>").code == "envelope_invalid"
    many = b"<FILEHOSO><LOAIHOSO>XML1</LOAIHOSO><NOIDUNGFILE>QQ==</NOIDUNGFILE></FILEHOSO>" * 40
    assert rejected(head + b"<HOSO>" + many + b"</HOSO></GIAMDINHHS>").code == "envelope_invalid"
    assert list(open_claim_file(io.BytesIO(head + b"<J/>" * 50 + b"</GIAMDINHHS>"))) == []


def test_envelope_formatting_variants():
    plain = envelope([tables()])
    variants = [
        b"\xef\xbb\xbf" + plain,
        plain.replace(b"<GIAMDINHHS>", b'<GIAMDINHHS xmlns="urn:x" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'),
        plain.replace(b"><", b">\r\n    <"),
        plain.replace(b"<LOAIHOSO>XML1</LOAIHOSO>", b"<LOAIHOSO> xml1 </LOAIHOSO>"),
        plain.replace(b"?>", b"?><!-- HIS export -->", 1),
        plain.replace(b"<GIAMDINHHS>", b"<g:GIAMDINHHS xmlns:g='urn:g'>").replace(b"</GIAMDINHHS>", b"</g:GIAMDINHHS>"),
    ]
    for data in variants:
        [result] = run(data)
        assert result.accepted, result.issues
        assert result.claim is not None and result.claim.ma_lk == "LK0001"


def test_base64_wrapped_and_padded_with_whitespace():
    x1 = tables()[0][1]
    text = base64.b64encode(x1).decode()
    wrapped = "\r\n".join(text[i : i + 76] for i in range(0, len(text), 76))
    [result] = run(envelope([[("XML1", "\n    " + wrapped + "\n  ")] + tables()[1:]]))
    assert result.accepted
