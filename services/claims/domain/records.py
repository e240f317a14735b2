"""The typed claim (one HOSO of a QĐ 130/4750 or QĐ 4210 file) and the issues found in it.

Plain dataclasses: no framework. Money is always ``Decimal`` quantized to 0.01, never float.
A typed field is ``None`` when the file left it empty *or* when its value was junk; in the
second case the decoder has already raised ``value_invalid`` and recorded the field in
``Claim.invalid`` so that the validators do not also call it missing.

Personal data (NĐ 13/2023/NĐ-CP) is kept out of ``repr`` so that a logged claim does not leak it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

Severity = Literal["critical", "warning"]
Standard = Literal["130", "4210"]

# Fields whose values are personal data: never echoed in issue messages nor in repr().
PERSONAL_FIELDS = frozenset(
    {"HO_TEN", "SO_CCCD", "MA_THE_BHYT", "MA_THE", "MA_BN", "NGAY_SINH", "DIA_CHI", "DIEN_THOAI"}
)

# QĐ 4210 names of the fields whose QĐ 130 names differ; the Claim is the same for both.
NAMES_4210 = {
    "MA_THE_BHYT": "MA_THE",
    "MA_BENH_CHINH": "MA_BENH",
    "MA_BENH_KT": "MA_BENHKHAC",
    "T_TONGCHI_BV": "T_TONGCHI",
    "T_TONGCHI_BH": "T_TONGCHI",
    "TYLE_TT_BH": "TYLE_TT",
    "THANH_TIEN_BV": "THANH_TIEN",
    "THANH_TIEN_BH": "THANH_TIEN",
    "DON_GIA_BV": "DON_GIA",
    "DON_GIA_BH": "DON_GIA",
    "NGAY_MIEN_CCT": "MIEN_CUNG_CT",  # the co-payment exemption date
    "T_BHTT_GDV": "T_NGOAIDS",  # 4210's XML1 total outside capitation, in place of T_BHTT_GDV
}


def field_name(standard: str, name: str) -> str:
    """The name a field has in a file of the given standard (issues name what the file says)."""
    return NAMES_4210.get(name, name) if standard == "4210" else name


@dataclass(slots=True, frozen=True)
class Issue:
    code: str
    severity: Severity
    table: str | None
    field: str | None
    message: str  # Vietnamese, never containing a personal value
    ma_lk: str | None


@dataclass(slots=True)
class ClaimLine:
    """One line of XML2 (drugs) or XML3 (services and supplies)."""

    table: Literal["XML2", "XML3"]
    index: int  # 1-based position in its table: names the line when STT is missing or repeated
    stt: int | None
    ma_lk: str | None
    item_code: str | None  # MA_THUOC (XML2); MA_VAT_TU, else MA_DICH_VU (XML3)
    name: str | None  # TEN_THUOC; TEN_VAT_TU, else TEN_DICH_VU
    quantity: Decimal | None  # SO_LUONG (up to 3 decimals, not quantized)
    unit_price: Decimal | None  # DON_GIA (XML2) / DON_GIA_BV (XML3)
    tyle_tt_bh: Decimal | None  # percent
    thanh_tien_bv: Decimal | None
    thanh_tien_bh: Decimal | None
    muc_huong: Decimal | None  # percent
    t_nguonkhac: Decimal | None
    t_bntt: Decimal | None
    t_bncct: Decimal | None
    t_bhtt: Decimal | None
    ma_pttt: str | None  # 1 fee for service, 2 capitation, 3 DRG
    unit_price_bh: Decimal | None = None  # DON_GIA_BH (XML3); DON_GIA again for XML2
    tyle_tt_dv: Decimal | None = None  # XML3 TYLE_TT_DV, percent (QĐ 4750)
    ma_dich_vu: str | None = None
    ma_vat_tu: str | None = None
    ma_nhom: str | None = None
    pham_vi: str | None = None
    ma_khoa: str | None = None
    ngay_yl: datetime | None = None
    # Every field of the line as written (local name -> text), for the rules on fields not typed above.
    fields: dict[str, str | None] = field(default_factory=dict, repr=False, compare=False)


@dataclass(slots=True)
class Claim:
    record_index: int  # position of the HOSO in its file, from 0
    standard: Standard
    ma_lk: str | None
    stt: int | None
    ma_bn: str | None = field(repr=False)
    ho_ten: str | None = field(repr=False)
    so_cccd: str | None = field(repr=False)
    ngay_sinh: date | None = field(repr=False)
    gioi_tinh: int | None
    dia_chi: str | None = field(repr=False)
    dien_thoai: str | None = field(repr=False)
    ma_the_bhyt: str | None = field(repr=False)  # raw: several cards joined by ';'
    ma_dkbd: str | None
    gt_the_tu: str | None  # raw yyyymmdd[;yyyymmdd…]
    gt_the_den: str | None
    ma_benh_chinh: str | None  # normalised ICD-10 (upper case, dotted: "J06.9", "I10")
    ma_benh_kt: list[str]
    ma_loai_kcb: str | None  # two digits: "01" … "10"
    ma_cskcb: str | None
    ngay_vao: datetime | None
    ngay_ra: datetime | None
    nam_qt: int | None
    thang_qt: int | None
    t_tongchi_bv: Decimal | None
    t_tongchi_bh: Decimal | None
    t_bntt: Decimal | None
    t_bncct: Decimal | None
    t_bhtt: Decimal | None
    t_nguonkhac: Decimal | None
    t_bhtt_gdv: Decimal | None
    lines: list[ClaimLine]
    other_tables: dict[str, bytes] = field(repr=False)  # XML4..XML15, decoded bytes, verbatim
    t_thuoc: Decimal | None = None
    t_vtyt: Decimal | None = None
    so_ngay_dtri: int | None = None
    ngay_mien_cct: str | None = None  # raw; non-empty means exempt from co-payment
    ngay_sinh_partial: bool = False  # day or month written as 00 (allowed by QĐ 130), or yyyy / yyyymm (QĐ 4210)
    ngay_sinh_raw: str | None = field(default=None, repr=False)  # NGAY_SINH as written, when partial
    ma_doituong_kcb: str | None = None
    ma_khoa: str | None = None
    # "TABLE:index:FIELD" of values present but unreadable (index 0 for XML1).
    invalid: set[str] = field(default_factory=set, repr=False)
    # Every XML1 field as written (local name -> text), and the rows of XML4 (paraclinical results) and
    # XML5 (clinical course) as such dicts: the rules on fields not typed above read them (validation/).
    fields: dict[str, str | None] = field(default_factory=dict, repr=False, compare=False)
    details: dict[str, list[dict[str, str | None]]] = field(default_factory=dict, repr=False, compare=False)

    def is_invalid(self, table: str, index: int, name: str) -> bool:
        return f"{table}:{index}:{name}" in self.invalid

    @property
    def period_month(self) -> tuple[int, int] | None:
        """(NAM_QT, THANG_QT): the settlement month the claim belongs to."""
        if self.nam_qt is None or self.thang_qt is None:
            return None
        return self.nam_qt, self.thang_qt
