"""Format notes: what the reader repaired or read leniently to take a file as hospitals really write it.

Liberal in format, and say so: a note never rejects anything, it tells BHXH what the hospital should fix
in its export. A record carries its notes as (kind, table) pairs (``RawRecord.notes``); the intake counts
them per file as "how many records" and stores them (``claim_format_notes``). ``table`` is None for the
envelope (GIAMDINHHS) itself. Texts are Vietnamese: they are shown to BHXH staff and hospitals.
"""

from __future__ import annotations

from services.claims.parsing.safexml import ENCODING_WRONG, NS_INVALID, PROLOG_WHITESPACE

TABLE_PLAIN_XML = "table_plain_xml"
TABLE_EMPTY = "table_empty"
TABLE_ROOT_UNWRAPPED = "table_root_unwrapped"
BIRTH_DATE_PARTIAL = "birth_date_partial"

Note = tuple[str, str | None]  # (kind, table or None for the envelope)

FORMAT_NOTES: dict[str, str] = {
    NS_INVALID: (
        "khai báo namespace (xmlns) không hợp lệ, ví dụ URI có dấu cách «http://www.w3.org/2001/XMLSchema "
        "instance»; đã bỏ qua vì namespace không mang ý nghĩa trong hồ sơ. Nên sửa thành "
        "«http://www.w3.org/2001/XMLSchema-instance» hoặc bỏ khai báo"
    ),
    ENCODING_WRONG: (
        "khai báo encoding trong <?xml …?> (ví dụ utf-16) khác với mã hóa thực của nội dung (UTF-8); "
        "đã đọc theo nội dung thực. Nên khai báo encoding=\"utf-8\""
    ),
    PROLOG_WHITESPACE: "có khoảng trắng hoặc dòng trống trước khai báo <?xml …?>; đã bỏ qua",
    TABLE_PLAIN_XML: (
        "bảng được viết trực tiếp dạng XML trong NOIDUNGFILE thay vì mã hóa base64 như QĐ 130 quy định; "
        "đã đọc được"
    ),
    TABLE_EMPTY: "NOIDUNGFILE trống: bảng được coi như không gửi",
    TABLE_ROOT_UNWRAPPED: (
        "phần tử gốc của bảng là DSACH_CHI_TIET_… không có phần tử bao CHITIEU_… (cách viết của QĐ 4210); "
        "đã đọc được"
    ),
    BIRTH_DATE_PARTIAL: (
        "NGAY_SINH chỉ ghi năm (yyyy) hoặc năm và tháng (yyyymm); ngày sinh được lưu nguyên dạng không đầy đủ"
    ),
}


_TABLES = frozenset(f"XML{i}" for i in range(1, 16))


def note_table(loaihoso: str) -> str:
    """The table a note names: LOAIHOSO as written may be anything, a stored or counted name may not."""
    return loaihoso if loaihoso in _TABLES else "other"


def note_message(kind: str, table: str | None, records: int) -> str:
    """'XML1: khai báo namespace … (12 hồ sơ)' — the note as shown on the file's page and in its CSV."""
    where = table or "Tệp (GIAMDINHHS)"
    text = FORMAT_NOTES.get(kind, kind)
    return f"{where}: {text} ({records} hồ sơ)"
