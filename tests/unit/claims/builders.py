"""Hand-written claim files for the unit tests: a valid minimal record, changed one field at a time."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterable

from services.claims.domain.records import Issue
from services.claims.parsing import open_claim_file
from services.claims.reading import RecordResult, check_record
from services.claims.validation import ValidationContext

FACILITY = "91060"

# A commune-station visit: one exam (capitation) and one drug (fee for service), consistent money.
XML1 = {
    "MA_LK": "LK0001", "STT": "1", "MA_BN": "BN0001", "HO_TEN": "Nguyễn Văn An", "SO_CCCD": "091080000001",
    "NGAY_SINH": "198005050000", "GIOI_TINH": "1", "DIA_CHI": "Ấp Kinh Tư, Xã Vĩnh Thuận", "DIEN_THOAI": "0912345678",
    "MA_THE_BHYT": "GD4919100000001", "MA_DKBD": "91060", "GT_THE_TU": "20240101", "GT_THE_DEN": "20241231",
    "CHAN_DOAN_RV": "Nhiễm trùng đường hô hấp trên cấp", "MA_BENH_CHINH": "J06.9", "MA_BENH_KT": "",
    "NGAY_VAO": "202407150800", "NGAY_RA": "202407150845", "SO_NGAY_DTRI": "0",
    "T_THUOC": "2940.00", "T_VTYT": "0.00", "T_TONGCHI_BV": "37440.00", "T_TONGCHI_BH": "37440.00",
    "T_BNTT": "0.00", "T_BNCCT": "0.00", "T_BHTT": "37440.00", "T_NGUONKHAC": "0.00", "T_BHTT_GDV": "2940.00",
    "NAM_QT": "2024", "THANG_QT": "07", "MA_LOAI_KCB": "01", "MA_CSKCB": FACILITY,
    # Descriptive fields QĐ 4750 requires (missing_descriptive_field when empty)
    "MA_QUOCTICH": "000", "MA_DANTOC": "01", "MA_NGHE_NGHIEP": "00000", "MATINH_CU_TRU": "91",
    "MAHUYEN_CU_TRU": "910", "MAXA_CU_TRU": "31069", "LY_DO_VV": "Ho, sốt", "CHAN_DOAN_VAO": "Viêm họng",
    "MA_DOITUONG_KCB": "1", "KET_QUA_DTRI": "1", "MA_LOAI_RV": "1", "MA_KHOA": "K01", "CAN_NANG": "60.00",
    "MA_HSBA": "HS0001",
}
_LINE_DESCRIPTIVE = {
    "DON_VI_TINH": "Viên", "T_NGUONKHAC_NSNN": "0.00", "T_NGUONKHAC_VTNN": "0.00", "T_NGUONKHAC_VTTN": "0.00",
    "T_NGUONKHAC_CL": "0.00", "MA_KHOA": "K01", "MA_BAC_SI": "000123/KG-CCHN",
}
DRUG = {
    "MA_LK": "LK0001", "STT": "1", "MA_THUOC": "40.102", "MA_NHOM": "4", "TEN_THUOC": "Paracetamol 500mg",
    "PHAM_VI": "1", "TYLE_TT_BH": "100", "SO_LUONG": "10", "DON_GIA": "294", "THANH_TIEN_BV": "2940.00",
    "THANH_TIEN_BH": "2940.00", "T_NGUONKHAC": "0.00", "MUC_HUONG": "100", "T_BNTT": "0.00", "T_BNCCT": "0.00",
    "T_BHTT": "2940.00", "NGAY_YL": "202407150810", "MA_PTTT": "1",
    **_LINE_DESCRIPTIVE, "HAM_LUONG": "500mg", "DUONG_DUNG": "1.01", "LIEU_DUNG": "1 viên/lần * 2 lần/ngày",
    "NGUON_CTRA": "1", "SO_DANG_KY": "VD-12345-20", "TT_THAU": "123/QĐ-SYT;G1;N4;2023",
}
EXAM = {
    "MA_LK": "LK0001", "STT": "1", "MA_DICH_VU": "02.1896", "MA_NHOM": "13", "TEN_DICH_VU": "Khám Nội",
    "PHAM_VI": "1", "SO_LUONG": "1", "DON_GIA_BV": "34500", "DON_GIA_BH": "34500", "TYLE_TT_DV": "100",
    "TYLE_TT_BH": "100", "THANH_TIEN_BV": "34500.00", "THANH_TIEN_BH": "34500.00", "T_NGUONKHAC": "0.00",
    "MUC_HUONG": "100", "T_BNTT": "0.00", "T_BNCCT": "0.00", "T_BHTT": "34500.00", "NGAY_YL": "202407150800",
    "MA_PTTT": "2", **_LINE_DESCRIPTIVE, "DON_VI_TINH": "Lần",
}


def element(name: str, value: str | None) -> str:
    return "" if value is None else f"<{name}>{value}</{name}>"


def xml1(fields: dict[str, str | None]) -> bytes:
    body = "".join(element(k, v) for k, v in fields.items())
    return f'<?xml version="1.0" encoding="utf-8"?><TONG_HOP>{body}</TONG_HOP>'.encode()


def xml2(lines: Iterable[dict[str, str | None]]) -> bytes:
    body = "".join("<CHI_TIET_THUOC>" + "".join(element(k, v) for k, v in ln.items()) + "</CHI_TIET_THUOC>"
                   for ln in lines)
    return (f"<CHITIEU_CHITIET_THUOC><DSACH_CHI_TIET_THUOC>{body}</DSACH_CHI_TIET_THUOC>"
            f"</CHITIEU_CHITIET_THUOC>").encode()


def xml3(lines: Iterable[dict[str, str | None]]) -> bytes:
    body = "".join("<CHI_TIET_DVKT>" + "".join(element(k, v) for k, v in ln.items()) + "</CHI_TIET_DVKT>"
                   for ln in lines)
    return (f"<CHITIEU_CHITIET_DVKT_VTYT><DSACH_CHI_TIET_DVKT>{body}</DSACH_CHI_TIET_DVKT>"
            f"</CHITIEU_CHITIET_DVKT_VTYT>").encode()


def tables(x1: dict | None = None, drugs: list[dict] | None = None, services: list[dict] | None = None,
           **changes: str | None) -> list[tuple[str, bytes | str]]:
    """The minimal record's tables; ``changes`` override XML1 fields (None removes one)."""
    fields = {**(x1 or XML1), **changes}
    return [
        ("XML1", xml1(fields)),
        ("XML2", xml2(drugs if drugs is not None else [DRUG])),
        ("XML3", xml3(services if services is not None else [EXAM])),
    ]


def hoso(entries: list[tuple[str, bytes | str]]) -> str:
    """A HOSO; bytes are base64-encoded, str is written as NOIDUNGFILE as it is."""
    files = "".join(
        f"<FILEHOSO><LOAIHOSO>{kind}</LOAIHOSO><NOIDUNGFILE>"
        f"{data if isinstance(data, str) else base64.b64encode(data).decode()}</NOIDUNGFILE></FILEHOSO>"
        for kind, data in entries
    )
    return f"<HOSO>{files}</HOSO>"


def envelope(records: list[list[tuple[str, bytes | str]]], facility: str = FACILITY, count: int | None = None) -> bytes:
    body = "".join(hoso(r) for r in records)
    n = len(records) if count is None else count
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><GIAMDINHHS><THONGTINDONVI><MACSKCB>{facility}</MACSKCB>'
        f"</THONGTINDONVI><THONGTINHOSO><NGAYLAP>20240801</NGAYLAP><SOLUONGHOSO>{n}</SOLUONGHOSO>"
        f"<DANHSACHHOSO>{body}</DANHSACHHOSO></THONGTINHOSO><CHUKYDONVI/></GIAMDINHHS>"
    ).encode()


def run(data: bytes, **ctx_options: object) -> list[RecordResult]:
    reader = open_claim_file(io.BytesIO(data))
    ctx = ValidationContext(reader.header.facility, **ctx_options)  # type: ignore[arg-type]
    return [check_record(raw, reader.header, ctx) for raw in reader]


def issues_of(**changes: str | None) -> list[Issue]:
    """Issues of the minimal record with some XML1 fields changed."""
    return run(envelope([tables(**changes)]))[0].issues


def codes(issues: Iterable[Issue]) -> set[str]:
    return {i.code for i in issues}
