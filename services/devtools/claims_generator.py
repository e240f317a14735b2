"""A realistic QĐ 130/4750 (or QĐ 4210) claim file generator, with chosen faults.

Writes a GIAMDINHHS envelope as a stream (constant memory for a million records): patients drawn
from a large deterministic pool (card groups and benefit digits, Vietnamese names, Vĩnh Thuận
addresses), commune-level visits with exam, drugs, tests and supplies at realistic prices, capitation
lines (MA_PTTT = 2) beside fee-for-service ones (so T_BHTT_GDV > 0 on some claims), ICD-10 codes from
the QĐ 4469 list respecting its age/sex restrictions, and money computed by the standard's formulas.

``faults`` maps an issue code to how many records carry exactly that fault; the summary lists them
and gives totals of the records that should be accepted, computed independently of the parser, so
tests can compare. ``sloppy=True`` writes the same claims in the loose formats real exports use.

    ytcs claims generate --records 1000 --year 2024 --months 7,8,9 --seed 1 --fault amount_mismatch=3 -o f.xml
"""

from __future__ import annotations

import argparse
import base64
import random
import sys
from calendar import monthrange
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import BinaryIO

from services.claims.reference import IcdCatalogue, base_salary, load_icd_catalogue
from services.common import clock, facility_code
from services.common.money import CENT
from services.common.periods import Quarter

# ---------------------------------------------------------------- reference lists (realistic, illustrative)

_FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Huỳnh", "Võ", "Phan", "Trương", "Bùi", "Đặng", "Đỗ", "Ngô",
           "Hồ", "Dương", "Lâm", "Danh", "Thạch", "Lý", "Quách", "Châu")
_MIDDLE = {1: ("Văn", "Minh", "Hữu", "Thanh", "Quốc", "Công", "Hoàng"),
           2: ("Thị", "Ngọc", "Thị Kim", "Thị Mỹ", "Thanh", "Thị Bích")}
_GIVEN = {1: ("An", "Bình", "Cường", "Dũng", "Hải", "Hùng", "Khánh", "Long", "Nam", "Phúc", "Quang", "Sơn",
              "Tâm", "Thành", "Tuấn", "Vinh", "Hiếu", "Tài", "Lộc", "Sang"),
          2: ("Anh", "Diễm", "Giang", "Hạnh", "Hoa", "Hương", "Lan", "Linh", "Mai", "Ngân", "Nhung", "Phương",
              "Thảo", "Trang", "Tuyết", "Vy", "Yến", "Xuân", "Loan", "Kiều")}
# Vĩnh Thuận's communes (GSO codes, reference/kien_giang_units_2024-06-11.csv).
_COMMUNES = (("31051", "Thị trấn Vĩnh Thuận"), ("31060", "Xã Vĩnh Bình Bắc"), ("31063", "Xã Vĩnh Bình Nam"),
             ("31064", "Xã Bình Minh"), ("31069", "Xã Vĩnh Thuận"), ("31072", "Xã Tân Thuận"),
             ("31074", "Xã Phong Đông"), ("31075", "Xã Vĩnh Phong"))
_HAMLETS = ("Ấp Vĩnh Thạnh", "Ấp Kinh Tư", "Ấp Bình Lợi", "Ấp Cạnh Đền", "Ấp Xẻo Nhàu", "Ấp Đông Thành",
            "Ấp Kinh Năm", "Ấp Tân Phước", "Ấp Vĩnh Đông", "Ấp Phong Thạnh")

# Card group, benefit digit (1..5), weight, age range (years).
_GROUPS = (
    ("GD", "4", 30, (1, 85)), ("HS", "4", 9, (6, 18)), ("TE", "1", 9, (1, 5)), ("HN", "2", 8, (1, 85)),
    ("CN", "3", 5, (1, 85)), ("DN", "4", 9, (18, 60)), ("HC", "4", 5, (22, 60)), ("HT", "3", 9, (60, 90)),
    ("BT", "2", 4, (60, 90)), ("DT", "2", 5, (1, 85)), ("CC", "1", 1, (60, 90)), ("CK", "2", 2, (55, 90)),
    ("XN", "4", 2, (18, 60)), ("QN", "5", 1, (18, 45)), ("SV", "4", 1, (18, 24)),
)
_GROUP_CUM: list[int] = []
for _g in _GROUPS:
    _GROUP_CUM.append((_GROUP_CUM[-1] if _GROUP_CUM else 0) + _g[2])

_RATE = {"1": 100, "2": 100, "3": 95, "4": 80, "5": 100}


@dataclass(frozen=True, slots=True)
class _Item:
    code: str
    name: str
    unit: str
    price: Decimal
    group: str  # MA_NHOM (QĐ 5937/QĐ-BYT phụ lục 3)
    strength: str = ""
    tyle: int = 100  # TYLE_TT_BH
    pham_vi: str = "1"


def _d(text: str) -> Decimal:
    return Decimal(text)


# Drugs: active-ingredient codes in the DMDC style, commune-level prices (đồng, incl. VAT).
_DRUGS = (
    _Item("40.102", "Paracetamol 500mg", "Viên", _d("294"), "4", "500mg"),
    _Item("40.159", "Amoxicilin 500mg", "Viên", _d("1050"), "4", "500mg"),
    _Item("40.191", "Cefuroxim 500mg", "Viên", _d("4200"), "4", "500mg"),
    _Item("40.677", "Omeprazol 20mg", "Viên", _d("340"), "4", "20mg"),
    _Item("40.443", "Amlodipin 5mg", "Viên", _d("168"), "4", "5mg"),
    _Item("40.466", "Losartan 50mg", "Viên", _d("735"), "4", "50mg"),
    _Item("40.804", "Metformin 500mg", "Viên", _d("390"), "4", "500mg"),
    _Item("40.796", "Gliclazid 30mg", "Viên", _d("1290"), "4", "30mg"),
    _Item("40.524", "Atorvastatin 10mg", "Viên", _d("480"), "4", "10mg"),
    _Item("40.80", "Loratadin 10mg", "Viên", _d("195"), "4", "10mg"),
    _Item("40.64", "Clorpheniramin 4mg", "Viên", _d("63"), "4", "4mg"),
    _Item("40.982", "Salbutamol 2mg", "Viên", _d("120"), "4", "2mg"),
    _Item("40.869", "Prednisolon 5mg", "Viên", _d("145"), "4", "5mg"),
    _Item("40.719", "Alpha chymotrypsin 4,2mg", "Viên", _d("420"), "4", "4,2mg"),
    _Item("40.1045", "Oresol 4,1g", "Gói", _d("1680"), "4", "4,1g"),
    _Item("40.438", "Captopril 25mg", "Viên", _d("275"), "4", "25mg"),
    _Item("40.453", "Enalapril 5mg", "Viên", _d("350"), "4", "5mg"),
    _Item("40.38", "Ibuprofen 400mg", "Viên", _d("480"), "4", "400mg"),
    _Item("40.850", "Dexamethason 0,5mg", "Viên", _d("88.5"), "4", "0,5mg"),
    _Item("40.198", "Berberin 100mg", "Viên", _d("180"), "4", "100mg"),
    _Item("40.991", "Acetylcystein 200mg", "Gói", _d("690"), "4", "200mg"),
    _Item("40.30", "Diclofenac 50mg", "Viên", _d("150"), "4", "50mg"),
    _Item("40.66", "Glucosamin 500mg", "Viên", _d("1680"), "4", "500mg", tyle=50),
    _Item("40.1061", "Vitamin B1 + B6 + B12", "Viên", _d("650"), "4", "125mg + 125mg + 0,125mg", tyle=0,
          pham_vi="2"),
)
_EXAM = _Item("02.1896", "Khám Nội", "Lần", _d("34500"), "13")
_BED = _Item("K42.1905", "Ngày giường lưu tại trạm y tế xã", "Ngày", _d("52000"), "14")
_SERVICES = (
    _Item("22.0120.1370", "Tổng phân tích tế bào máu ngoại vi (bằng máy đếm tổng trở)", "Lần", _d("40400"), "1"),
    _Item("23.0075.1494", "Định lượng Glucose [Máu]", "Lần", _d("21500"), "1"),
    _Item("02.0085.1778", "Điện tim thường", "Lần", _d("32800"), "3"),
    _Item("18.0001.0001", "Siêu âm ổ bụng (gan mật, tụy, lách, thận, bàng quang)", "Lần", _d("43900"), "2"),
    _Item("03.3911.0209", "Thay băng vết thương chiều dài dưới 15cm", "Lần", _d("57600"), "8"),
    _Item("11.0006.0202", "Tiêm bắp thịt", "Lần", _d("11400"), "8"),
)
_SUPPLIES = (
    _Item("N03.01.070", "Bơm tiêm nhựa 5ml", "Cái", _d("1150"), "10"),
    _Item("N02.01.010", "Gạc y tế 10cm x 10cm", "Miếng", _d("980"), "10"),
    _Item("N04.01.020", "Kim luồn tĩnh mạch 22G", "Cái", _d("9800"), "10"),
)

# Common commune-level diagnoses (QĐ 4469 codes and names), main first.
_DIAGNOSES = (
    ("J06.9", "Nhiễm trùng đường hô hấp trên cấp, không phân loại"), ("J00", "Viêm mũi họng cấp [cảm thường]"),
    ("J02.9", "Viêm họng cấp, không đặc hiệu"), ("J03.9", "Viêm amydan cấp, không phân loại"),
    ("J20.9", "Viêm phế quản cấp, không phân loại"), ("I10", "Bệnh lý tăng huyết áp"),
    ("E11.9", "Bệnh đái tháo đường không phụ thuộc insuline (Chưa có biến chứng)"),
    ("K29.7", "Viêm dạ dày, không đặc hiệu"), ("K30", "Khó tiêu chức năng"),
    ("A09", "Viêm dạ dày - ruột và đại tràng do nguyên nhân nhiễm trùng"), ("M54.5", "Đau cột sống thắt lưng"),
    ("M79.1", "Đau cơ"), ("R50.9", "Sốt, không đặc hiệu"), ("R51", "Đau đầu"),
    ("L30.9", "Viêm da, không đặc hiệu"), ("H10.9", "Viêm kết mạc, không đặc hiệu"),
    ("E78.5", "Tăng lipid máu, không đặc hiệu"), ("J45.9", "Hen, không phân loại"),
    ("K21.9", "Bệnh trào ngược dạ dày - thực quản không có viêm thực quản"), ("B86", "Bệnh ghẻ"),
    ("M17.9", "Thoái hóa khớp gối không đặc hiệu"), ("K02.9", "Sâu răng, không đặc hiệu"),
    ("J06", "Nhiễm trùng đường hô hấp trên cấp ở nhiều nơi và vị trí không phân loại"),
    ("K29", "Viêm dạ dày và tá tràng"), ("N39.0", "Nhiễm khuẩn hệ tiết niệu, vị trí không xác định"),
    ("G44.2", "Đau đầu do căng thẳng"), ("A90", "Sốt Dengue (Dengue cổ điển)"), ("M13.9", "Viêm khớp không đặc hiệu"),
)
_REASONS = ("Sốt, ho, sổ mũi", "Đau họng", "Đau đầu, chóng mặt", "Tái khám tăng huyết áp", "Đau bụng, đầy hơi",
            "Tiêu chảy", "Đau lưng", "Ngứa, nổi mẩn", "Khám định kỳ đái tháo đường", "Đau nhức khớp")

# ---------------------------------------------------------------- field orders of the tables

XML1_FIELDS = (
    "MA_LK", "STT", "MA_BN", "HO_TEN", "SO_CCCD", "NGAY_SINH", "GIOI_TINH", "NHOM_MAU", "MA_QUOCTICH", "MA_DANTOC",
    "MA_NGHE_NGHIEP", "DIA_CHI", "MATINH_CU_TRU", "MAHUYEN_CU_TRU", "MAXA_CU_TRU", "DIEN_THOAI", "MA_THE_BHYT",
    "MA_DKBD", "GT_THE_TU", "GT_THE_DEN", "NGAY_MIEN_CCT", "LY_DO_VV", "LY_DO_VNT", "MA_LY_DO_VNT",
    "CHAN_DOAN_VAO", "CHAN_DOAN_RV", "MA_BENH_CHINH", "MA_BENH_KT", "MA_BENH_YHCT", "MA_PTTT_QT",
    "MA_DOITUONG_KCB", "MA_NOI_DI", "MA_NOI_DEN", "MA_TAI_NAN", "NGAY_VAO", "NGAY_VAO_NOI_TRU", "NGAY_RA",
    "GIAY_CHUYEN_TUYEN", "SO_NGAY_DTRI", "PP_DIEU_TRI", "KET_QUA_DTRI", "MA_LOAI_RV", "GHI_CHU", "NGAY_TTOAN",
    "T_THUOC", "T_VTYT", "T_TONGCHI_BV", "T_TONGCHI_BH", "T_BNTT", "T_BNCCT", "T_BHTT", "T_NGUONKHAC",
    "T_BHTT_GDV", "NAM_QT", "THANG_QT", "MA_LOAI_KCB", "MA_KHOA", "MA_CSKCB", "MA_KHUVUC", "CAN_NANG",
    "CAN_NANG_CON", "NAM_NAM_LIEN_TUC", "NGAY_TAI_KHAM", "MA_HSBA", "MA_TTDV", "DU_PHONG",
)
XML2_FIELDS = (
    "MA_LK", "STT", "MA_THUOC", "MA_PP_CHEBIEN", "MA_CSKCB_THUOC", "MA_NHOM", "TEN_THUOC", "DON_VI_TINH",
    "HAM_LUONG", "DUONG_DUNG", "DANG_BAO_CHE", "LIEU_DUNG", "CACH_DUNG", "SO_DANG_KY", "TT_THAU", "PHAM_VI",
    "TYLE_TT_BH", "SO_LUONG", "DON_GIA", "THANH_TIEN_BV", "THANH_TIEN_BH", "T_NGUONKHAC_NSNN",
    "T_NGUONKHAC_VTNN", "T_NGUONKHAC_VTTN", "T_NGUONKHAC_CL", "T_NGUONKHAC", "MUC_HUONG", "T_BNTT", "T_BNCCT",
    "T_BHTT", "MA_KHOA", "MA_BAC_SI", "MA_DICH_VU", "NGAY_YL", "NGAY_TH_YL", "MA_PTTT", "NGUON_CTRA",
    "VET_THUONG_TP", "DU_PHONG",
)
XML3_FIELDS = (
    "MA_LK", "STT", "MA_DICH_VU", "MA_PTTT_QT", "MA_VAT_TU", "MA_NHOM", "GOI_VTYT", "TEN_VAT_TU", "TEN_DICH_VU",
    "MA_XANG_DAU", "DON_VI_TINH", "PHAM_VI", "SO_LUONG", "DON_GIA_BV", "DON_GIA_BH", "TT_THAU", "TYLE_TT_DV",
    "TYLE_TT_BH", "THANH_TIEN_BV", "THANH_TIEN_BH", "T_TRANTT", "MUC_HUONG", "T_NGUONKHAC_NSNN",
    "T_NGUONKHAC_VTNN", "T_NGUONKHAC_VTTN", "T_NGUONKHAC_CL", "T_NGUONKHAC", "T_BNTT", "T_BNCCT", "T_BHTT",
    "MA_KHOA", "MA_GIUONG", "MA_BAC_SI", "NGUOI_THUC_HIEN", "MA_BENH", "MA_BENH_YHCT", "NGAY_YL", "NGAY_TH_YL",
    "NGAY_KQ", "MA_PTTT", "VET_THUONG_TP", "PP_VO_CAM", "VI_TRI_TH_DVKT", "MA_MAY", "MA_HIEU_SP", "TAI_SU_DUNG",
    "DU_PHONG",
)
# QĐ 4210: (its name, the QĐ 130 field it is written from)
XML1_4210 = tuple((n, {"MA_THE": "MA_THE_BHYT", "MA_BENH": "MA_BENH_CHINH", "MA_BENHKHAC": "MA_BENH_KT",
                       "T_TONGCHI": "T_TONGCHI_BV", "TEN_BENH": "CHAN_DOAN_RV"}.get(n, n)) for n in (
    "MA_LK", "STT", "MA_BN", "HO_TEN", "NGAY_SINH", "GIOI_TINH", "DIA_CHI", "MA_THE", "MA_DKBD", "GT_THE_TU",
    "GT_THE_DEN", "MIEN_CUNG_CT", "TEN_BENH", "MA_BENH", "MA_BENHKHAC", "MA_LYDO_VVIEN", "MA_NOI_CHUYEN",
    "MA_TAI_NAN", "NGAY_VAO", "NGAY_RA", "SO_NGAY_DTRI", "KET_QUA_DTRI", "TINH_TRANG_RV", "NGAY_TTOAN", "T_THUOC",
    "T_VTYT", "T_TONGCHI", "T_BNTT", "T_BNCCT", "T_BHTT", "T_NGUONKHAC", "T_NGOAIDS", "NAM_QT", "THANG_QT",
    "MA_LOAI_KCB", "MA_KHOA", "MA_CSKCB", "MA_KHUVUC", "MA_PTTT_QT", "CAN_NANG"))
_LINE_4210 = {"TYLE_TT": "TYLE_TT_BH", "THANH_TIEN": "THANH_TIEN_BV", "DON_GIA": "DON_GIA"}
XML2_4210 = tuple((n, _LINE_4210.get(n, n)) for n in (
    "MA_LK", "STT", "MA_THUOC", "MA_NHOM", "TEN_THUOC", "DON_VI_TINH", "HAM_LUONG", "DUONG_DUNG", "LIEU_DUNG",
    "SO_DANG_KY", "TT_THAU", "PHAM_VI", "TYLE_TT", "SO_LUONG", "DON_GIA", "THANH_TIEN", "MUC_HUONG", "T_NGUONKHAC",
    "T_BNTT", "T_BHTT", "T_BNCCT", "T_NGOAIDS", "MA_KHOA", "MA_BAC_SI", "MA_BENH", "NGAY_YL", "MA_PTTT"))
XML3_4210 = tuple((n, {**_LINE_4210, "DON_GIA": "DON_GIA_BV"}.get(n, n)) for n in (
    "MA_LK", "STT", "MA_DICH_VU", "MA_VAT_TU", "MA_NHOM", "GOI_VTYT", "TEN_VAT_TU", "TEN_DICH_VU", "DON_VI_TINH",
    "PHAM_VI", "SO_LUONG", "DON_GIA", "TT_THAU", "TYLE_TT", "THANH_TIEN", "T_TRANTT", "MUC_HUONG", "T_NGUONKHAC",
    "T_BNTT", "T_BHTT", "T_BNCCT", "T_NGOAIDS", "MA_KHOA", "MA_GIUONG", "MA_BAC_SI", "MA_BENH", "NGAY_YL",
    "NGAY_KQ", "MA_PTTT"))

# Text fields a sloppy export wraps in CDATA; amounts it leaves empty when zero (read back as 0).
_TEXT_FIELDS = frozenset({"HO_TEN", "DIA_CHI", "LY_DO_VV", "CHAN_DOAN_VAO", "CHAN_DOAN_RV", "TEN_THUOC",
                          "TEN_DICH_VU", "TEN_VAT_TU", "LIEU_DUNG", "CACH_DUNG", "GHI_CHU", "PP_DIEU_TRI"})
_ZERO_OPTIONAL = frozenset({"T_NGUONKHAC", "T_BNTT", "T_BNCCT", "T_BHTT_GDV", "T_VTYT", "T_THUOC"})

# ---------------------------------------------------------------- faults

CRITICAL_FAULTS = ("record_unreadable", "missing_field", "card_format", "card_not_valid_on_date", "date_order",
                   "icd10_invalid", "amount_mismatch", "amount_negative", "value_invalid", "facility_mismatch",
                   "duplicate_claim")
WARNING_FAULTS = ("ma_lk_mismatch", "icd10_secondary_invalid", "icd_secondary_too_many", "icd_not_main_diagnosis",
                  "icd_sex_restricted", "icd_age_restricted", "muc_huong_inconsistent", "settlement_before_visit",
                  "line_date_outside_visit", "treatment_days_mismatch", "subtotal_mismatch", "table_unknown")
FILE_FAULTS = ("record_count_mismatch",)
RECORD_FAULTS = CRITICAL_FAULTS + WARNING_FAULTS

_NOT_ICD = ("A00.5", "U99.9", "Z99.99")  # ICD-shaped, absent from QĐ 4469


@dataclass(slots=True)
class PeriodTotals:
    count: int = 0
    t_bhtt: Decimal = Decimal("0.00")
    t_bhtt_gdv: Decimal = Decimal("0.00")
    capitation: Decimal = Decimal("0.00")  # Σ line T_BHTT with MA_PTTT = 2: the capitation spend


@dataclass(slots=True)
class GeneratedSummary:
    records: int = 0  # HOSO written
    accepted: int = 0  # records the intake should accept (no critical fault)
    # (facility, "YYYY-Qn" of NAM_QT/THANG_QT) -> totals of the accepted records
    totals: dict[tuple[str, str], PeriodTotals] = field(default_factory=dict)
    faults: list[tuple[str, str]] = field(default_factory=list)  # (ma_lk, expected code)
    fault_index: dict[int, str] = field(default_factory=dict)  # record index -> expected code
    file_faults: list[str] = field(default_factory=list)

    @property
    def t_bhtt(self) -> Decimal:
        return sum((t.t_bhtt for t in self.totals.values()), Decimal("0.00"))

    @property
    def t_bhtt_gdv(self) -> Decimal:
        return sum((t.t_bhtt_gdv for t in self.totals.values()), Decimal("0.00"))

    @property
    def capitation(self) -> Decimal:
        return sum((t.capitation for t in self.totals.values()), Decimal("0.00"))


# ---------------------------------------------------------------- patients (derived, not stored)

_M64 = (1 << 64) - 1


class _Mix:
    """splitmix64: a patient's attributes follow from its number, so a million patients need no memory."""

    __slots__ = ("state",)

    def __init__(self, key: int) -> None:
        self.state = key & _M64

    def below(self, n: int) -> int:
        self.state = (self.state + 0x9E3779B97F4A7C15) & _M64
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
        return (z ^ (z >> 31)) % n

    def pick(self, seq: tuple) -> object:  # type: ignore[type-arg]
        return seq[self.below(len(seq))]


@dataclass(slots=True)
class _Patient:
    pid: int
    sex: int
    born: date
    partial_birth: bool
    group: str
    digit: str
    card: str
    name: str
    cccd: str
    phone: str
    address: str
    commune: str
    card_month: int  # the month the yearly card starts
    registered_here: bool


def _patient(pid: int, seed: int, year: int) -> _Patient:
    mix = _Mix(seed * 1_000_003 + pid * 7919 + 17)
    roll = mix.below(_GROUP_CUM[-1])
    group = next(g for g, cum in zip(_GROUPS, _GROUP_CUM, strict=True) if roll < cum)
    code, digit, _, (lo, hi) = group
    sex = 1 + mix.below(2)
    age = lo + mix.below(hi - lo + 1)
    born = date(year - age - 1, 1 + mix.below(12), 1 + mix.below(28))
    partial = mix.below(100) == 0  # some cards carry the birth year only
    if partial:
        born = date(born.year, 1, 1)
    name = f"{mix.pick(_FAMILY)} {mix.pick(_MIDDLE[sex])} {mix.pick(_GIVEN[sex])}"
    commune = mix.below(len(_COMMUNES))
    cccd = f"091{(2 if born.year < 2000 else 4) + sex - 1}{born.year % 100:02d}{pid % 1_000_000:06d}"
    phone = f"09{mix.below(10**8):08d}" if mix.below(2) else ""
    address = f"{mix.pick(_HAMLETS)}, {_COMMUNES[commune][1]}, huyện Vĩnh Thuận, tỉnh Kiên Giang"
    return _Patient(
        pid, sex, born, partial, code, digit, f"{code}{digit}91{91_00000000 + pid:010d}", name, cccd, phone,
        address, _COMMUNES[commune][0], 1 + mix.below(12), mix.below(10) != 0,
    )


def _age(born: date, on: date) -> tuple[int, int]:
    return (on - born).days, on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _fits(icd: IcdCatalogue, code: str, sex: int, born: date, on: date) -> bool:
    """Whether a code respects QĐ 4469's sex and age sheets for this patient (clean records must)."""
    key = icd.key(code)
    if key in icd.not_main or key in icd.asterisk:
        return False
    allowed_sex = icd.restriction(icd.sex, code)
    if allowed_sex is not None and {"F": 2, "M": 1}[str(allowed_sex)] != sex:
        return False
    days, years = _age(born, on)
    rules = icd.restriction(icd.age, code) or ()
    return all(r.allows(days if r.unit == "days" else years) for r in rules)  # type: ignore[union-attr]


def _fault_codes(icd: IcdCatalogue) -> dict[str, str]:
    """Codes that trigger exactly one restriction warning, chosen from the catalogue itself."""

    def first(pred, preferred: str) -> str:  # type: ignore[no-untyped-def]
        if pred(icd.key(preferred)):
            return preferred
        key = next(k for k in sorted(icd.codes) if pred(k))
        return key if len(key) == 3 else f"{key[:3]}.{key[3:]}"

    def plain(k: str) -> bool:
        return k in icd.codes and k not in icd.not_main and k not in icd.asterisk

    return {
        "F": first(lambda k: plain(k) and icd.sex.get(k) == "F" and icd.restriction(icd.age, k) is None, "N76.0"),
        "M": first(lambda k: plain(k) and icd.sex.get(k) == "M" and all(
            r.low in (None, 0, 1) and r.high is None and r.unit == "years" for r in icd.age.get(k, ())), "N41.0"),
        "newborn": first(lambda k: plain(k) and k not in icd.sex and k in icd.age and all(
            r.unit == "days" and r.high == 365 for r in icd.age[k]), "P59.9"),
        "not_main": first(lambda k: k in icd.not_main and k not in icd.asterisk and k not in icd.sex
                          and k not in icd.age, "B95.0"),
    }


# ---------------------------------------------------------------- money


def _r2(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(slots=True)
class _Line:
    table: str
    item: _Item
    quantity: Decimal
    ma_pttt: str
    other_share: Decimal  # fraction of THANH_TIEN_BV paid by other sources
    ordered: datetime
    bv: Decimal = Decimal(0)
    bh: Decimal = Decimal(0)
    other: Decimal = Decimal(0)
    bntt: Decimal = Decimal(0)
    bncct: Decimal = Decimal(0)
    bhtt: Decimal = Decimal(0)
    muc_huong: int = 100

    def price_money(self) -> None:
        self.bv = _r2(self.quantity * self.item.price)
        self.bh = _r2(self.quantity * self.item.price * self.item.tyle / 100)

    def split(self, muc_huong: int) -> None:
        """T_BHTT/T_BNCCT/T_BNTT; other sources come off T_BNTT, then T_BNCCT, then T_BHTT (QĐ 130)."""
        self.muc_huong = muc_huong
        bhtt = _r2(self.bh * muc_huong / 100)
        parts = [self.bv - self.bh, self.bh - bhtt, bhtt]  # T_BNTT, T_BNCCT, T_BHTT before other sources
        self.other = rest = _r2(self.bv * self.other_share)
        for i, value in enumerate(parts):
            take = min(rest, value) if value > 0 else Decimal(0)
            parts[i] -= take
            rest -= take
        self.bntt, self.bncct, self.bhtt = parts


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def _num(value: Decimal) -> str:
    """Quantities and unit prices: as short as exact (1, 0.5, 88.5)."""
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y%m%d%H%M")


# ---------------------------------------------------------------- the generator


class _Generator:
    def __init__(self, facility: str, year: int, months: list[int], seed: int, standard: str, sloppy: bool) -> None:
        self.facility = facility
        self.year = year
        self.months = months
        self.seed = seed
        self.standard = standard
        self.rng = random.Random(seed)
        self.sloppy = random.Random(seed + 7777) if sloppy else None  # formatting only: same claims
        self.icd = load_icd_catalogue()
        self.special = _fault_codes(self.icd)
        self.diagnoses = tuple(d for d in _DIAGNOSES if d[0] in self.icd)
        # QĐ 4210 has one THANH_TIEN: keep to drugs paid in full so its reading is unambiguous.
        self.drugs = _DRUGS if standard == "130" else tuple(d for d in _DRUGS if d.tyle == 100)
        self.pool = 0
        self.ordinal: dict[str, int] = {}

    # ---- one record as a model: XML1 fields and lines (QĐ 130 names), then money

    def record(self, index: int, fault: str | None) -> tuple[dict[str, str], list[_Line], tuple[datetime, datetime]]:
        """One visit: XML1 fields (QĐ 130 names, as written), its lines with their money, (NGAY_VAO, NGAY_RA)."""
        rng = self.rng
        p = _patient(rng.randrange(self.pool), self.seed, self.year)
        month = rng.choice(self.months)
        kind = rng.choices(("01", "07", "06"), (88, 8, 4))[0]
        last_day = monthrange(self.year, month)[1] - (3 if kind == "06" else 0)
        vao = datetime(self.year, month, rng.randint(1, last_day), rng.randint(7, 16), rng.choice((0, 10, 20, 30, 45)))
        if kind == "06":
            ra = vao + timedelta(days=rng.randint(1, 3), hours=rng.randint(0, 5))
        else:
            ra = vao + timedelta(minutes=rng.randint(20, 90))
        days = (ra.date() - vao.date()).days + 1 if kind == "06" else 0
        ma_lk = f"{self.facility}{vao:%y%m%d}{index:07d}"

        def when() -> datetime:
            span = int((ra - vao).total_seconds() // 60)
            return vao + timedelta(minutes=rng.randint(0, max(span - 1, 0)))

        lines: list[_Line] = []
        fee_share = rng.random() < 0.12  # some visits carry lines paid outside capitation
        if kind != "07":
            lines.append(_Line("XML3", _EXAM, Decimal(1), "2", Decimal(0), vao))
        if kind == "06":
            lines.append(_Line("XML3", _BED, Decimal(days), "2", Decimal(0), when()))
        if rng.random() < 0.2:
            for item in rng.sample(_SERVICES, rng.randint(1, 2)):
                lines.append(_Line("XML3", item, Decimal(1), "1" if fee_share else "2", Decimal(0), when()))
        if rng.random() < 0.06:
            lines.append(_Line("XML3", rng.choice(_SUPPLIES), Decimal(rng.randint(1, 3)), "2", Decimal(0), when()))
        if kind == "07" or rng.random() < 0.85:
            for item in rng.sample(self.drugs, rng.randint(1, 4)):
                qty = Decimal(rng.choice((5, 6, 10, 10, 14, 15, 20, 21, 28, 30, 60)))
                if rng.random() < 0.05:
                    qty += Decimal("0.5")
                lines.append(_Line("XML2", item, qty, "2", Decimal(0), when()))
        for line in lines:
            if rng.random() < 0.01 and line.item.tyle > 0:
                line.other_share = Decimal(rng.choice(("0.1", "0.3", "0.5")))
        if fee_share and not any(ln.ma_pttt == "1" for ln in lines):
            lines[-1].ma_pttt = "1"

        main, main_name = rng.choice(self.diagnoses)
        while not _fits(self.icd, main, p.sex, p.born, vao.date()):
            main, main_name = rng.choice(self.diagnoses)
        others = [c for c, _ in rng.sample(self.diagnoses, rng.choice((0, 0, 1, 1, 2)))
                  if c != main and _fits(self.icd, c, p.sex, p.born, vao.date())]
        cards = [p.card]
        start = date(self.year - (1 if month < p.card_month else 0), p.card_month, 1)
        periods = [(start, date(start.year + 1, start.month, 1) - timedelta(days=1))]
        if rng.random() < 0.02 and vao.day > 2:  # a new card during the visit month: two cards
            cut = vao.date() - timedelta(days=1)
            periods = [(periods[0][0], cut), (cut + timedelta(days=1), periods[0][1])]
            new_digit = rng.choice(("4", p.digit))
            cards = [p.card[:2] + new_digit + p.card[3:], p.card]
        x: dict[str, str] = {}
        force_muc: int | None = None

        # ---- faults that change the visit before its money is computed
        if fault == "muc_huong_inconsistent":
            cards = [p.card[:2] + "4" + p.card[3:]]  # 80 % card, an expensive visit, paid at 100 %
            force_muc = 100
            lines.append(_Line("XML2", _DRUGS[2], Decimal(120), "2", Decimal(0), when()))  # Cefuroxim
        elif fault == "amount_negative":
            lines[0].quantity = -lines[0].quantity
        elif fault == "icd_sex_restricted":
            main = self.special["M" if p.sex == 2 else "F"]
            main_name = "Bệnh theo mã " + main
            others = []
        elif fault == "icd_age_restricted":
            main, main_name, others = self.special["newborn"], "Bệnh sơ sinh", []
        elif fault == "icd_not_main_diagnosis":
            main, main_name = self.special["not_main"], "Tác nhân gây bệnh"
        elif fault == "icd_secondary_too_many":
            pool = [c for c, _ in self.diagnoses if c != main and _fits(self.icd, c, p.sex, p.born, vao.date())]
            others = pool[:13]
        elif fault == "icd10_secondary_invalid":
            others = others + [_NOT_ICD[0]]
        elif fault == "icd10_invalid":
            main = _NOT_ICD[self._next(fault) % len(_NOT_ICD)]

        # ---- money (QĐ 130 formulas)
        for line in lines:
            line.price_money()
        total_bh = sum((ln.bh for ln in lines), Decimal(0))
        rate = max(_RATE[c[2]] for c in cards)
        salary = base_salary(vao.date())
        if rate < 100 and salary is not None and total_bh < salary * Decimal("0.15"):
            rate = 100  # Luật BHYT Điều 22 k1 đ: a low-cost visit is paid in full
        rate = force_muc or rate
        for line in lines:
            line.split(rate)

        # ---- XML1 fields
        visit_period = (ra.year, ra.month)
        t = {k: sum((getattr(ln, k) for ln in lines), Decimal(0))
             for k in ("bv", "bh", "bntt", "bncct", "bhtt", "other")}
        gdv = sum((ln.bhtt for ln in lines if ln.ma_pttt == "1"), Decimal(0))
        x.update({
            "MA_LK": ma_lk, "STT": str(index + 1), "MA_BN": f"BN{p.pid:08d}", "HO_TEN": p.name, "SO_CCCD": p.cccd,
            "NGAY_SINH": f"{p.born.year}0000" + "0000" if p.partial_birth else f"{p.born:%Y%m%d}0000",
            "GIOI_TINH": str(p.sex), "MA_QUOCTICH": "000", "MA_DANTOC": "01" if p.group != "DT" else "04",
            "MA_NGHE_NGHIEP": "00000", "DIA_CHI": p.address, "MATINH_CU_TRU": "91", "MAHUYEN_CU_TRU": "910",
            "MAXA_CU_TRU": p.commune, "DIEN_THOAI": p.phone, "MA_THE_BHYT": ";".join(cards),
            "MA_DKBD": ";".join([self.facility if p.registered_here else "91001"] * len(cards)),
            "GT_THE_TU": ";".join(f"{s:%Y%m%d}" for s, _ in periods),
            "GT_THE_DEN": ";".join(f"{e:%Y%m%d}" for _, e in periods),
            "LY_DO_VV": rng.choice(_REASONS), "CHAN_DOAN_VAO": main_name,
            "CHAN_DOAN_RV": "; ".join([main_name] + [dict(self.diagnoses).get(c, c) for c in others]),
            "MA_BENH_CHINH": main, "MA_BENH_KT": ";".join(others), "MA_DOITUONG_KCB": "1",
            "NGAY_VAO": _stamp(vao), "NGAY_RA": _stamp(ra), "SO_NGAY_DTRI": str(days),
            "PP_DIEU_TRI": "Điều trị nội khoa", "KET_QUA_DTRI": "1", "MA_LOAI_RV": "1", "NGAY_TTOAN": _stamp(ra),
            "T_THUOC": _money(sum((ln.bv for ln in lines if ln.table == "XML2"), Decimal(0))),
            "T_VTYT": _money(sum((ln.bv for ln in lines if ln.item.group == "10"), Decimal(0))),
            "T_TONGCHI_BV": _money(t["bv"]), "T_TONGCHI_BH": _money(t["bh"]), "T_BNTT": _money(t["bntt"]),
            "T_BNCCT": _money(t["bncct"]), "T_BHTT": _money(t["bhtt"]), "T_NGUONKHAC": _money(t["other"]),
            "T_BHTT_GDV": _money(gdv), "NAM_QT": str(visit_period[0]), "THANG_QT": f"{visit_period[1]:02d}",
            "MA_LOAI_KCB": kind, "MA_KHOA": "K01", "MA_CSKCB": self.facility, "MA_KHUVUC": "",
            "CAN_NANG": f"{rng.randint(12, 80)}.00", "MA_HSBA": f"HS{index:08d}", "MA_TTDV": "9100012345",
        })
        return x, lines, (vao, ra)

    def _next(self, fault: str) -> int:
        n = self.ordinal.get(fault, 0)
        self.ordinal[fault] = n + 1
        return n

    # ---- faults that change written values

    def damage(self, fault: str, x: dict[str, str], rows: dict[str, list[dict[str, str]]],
               visit: tuple[datetime, datetime], last_good: str | None) -> None:
        n = self._next(fault) if fault not in ("icd10_invalid",) else 0
        vao, ra = visit
        first_rows = rows["XML2"] or rows["XML3"]
        if fault == "missing_field":
            name = ("MA_THE_BHYT", "NGAY_VAO", "MA_BENH_CHINH", "T_BHTT", "SO_LUONG")[n % 5]
            if name == "SO_LUONG":
                first_rows[0][name] = ""
            else:
                x[name] = ""
        elif fault == "card_format":
            card = x["MA_THE_BHYT"].split(";")[0]
            x["MA_THE_BHYT"] = (card[:2] + "7" + card[3:], card[:14], card.lower())[n % 3]
        elif fault == "card_not_valid_on_date":
            end = vao.date() - timedelta(days=1 + n % 30)
            x["GT_THE_TU"], x["GT_THE_DEN"] = f"{end - timedelta(days=364):%Y%m%d}", f"{end:%Y%m%d}"
        elif fault == "date_order":
            x["NGAY_RA"] = _stamp(vao - timedelta(hours=1 + n % 48))
        elif fault == "amount_mismatch":
            x["T_BHTT"] = _money(Decimal(x["T_BHTT"]) + Decimal(1000 + n))
        elif fault == "value_invalid":
            variant = n % 4
            if variant == 0:
                x["T_TONGCHI_BV"] = "NaN"
            elif variant == 1:
                x["NGAY_RA"] = f"{ra.year}0231{ra:%H%M}"
            elif variant == 2:
                first_rows[0]["THANH_TIEN_BV"] = first_rows[0]["THANH_TIEN_BV"].replace(".", ",")
            else:
                first_rows[0]["SO_LUONG"] = "undefined"
        elif fault == "facility_mismatch":
            x["MA_CSKCB"] = "91001" if self.facility != "91001" else "91002"
        elif fault == "duplicate_claim" and last_good is not None:
            x["MA_LK"] = last_good
        elif fault == "ma_lk_mismatch":
            first_rows[0]["MA_LK"] = x["MA_LK"] + "X"
        elif fault == "settlement_before_visit":
            month = vao.month - 1 or 12
            x["NAM_QT"], x["THANG_QT"] = str(vao.year - (vao.month == 1)), f"{month:02d}"
        elif fault == "line_date_outside_visit":
            first_rows[0]["NGAY_YL"] = first_rows[0]["NGAY_TH_YL"] = _stamp(ra + timedelta(days=1))
        elif fault == "treatment_days_mismatch":
            x["SO_NGAY_DTRI"] = str(int(x["SO_NGAY_DTRI"]) + 2)
        elif fault == "subtotal_mismatch":
            x["T_THUOC"] = _money(Decimal(x["T_THUOC"]) + Decimal(500))

    # ---- rows of XML2/XML3 (QĐ 130 names)

    def rows(self, x: dict[str, str], lines: list[_Line]) -> dict[str, list[dict[str, str]]]:
        out: dict[str, list[dict[str, str]]] = {"XML2": [], "XML3": []}
        for line in lines:
            it = line.item
            rows = out[line.table]
            row = {
                "MA_LK": x["MA_LK"], "STT": str(len(rows) + 1), "MA_NHOM": it.group, "PHAM_VI": it.pham_vi,
                "DON_VI_TINH": it.unit, "SO_LUONG": _num(line.quantity), "TYLE_TT_BH": str(it.tyle),
                "THANH_TIEN_BV": _money(line.bv), "THANH_TIEN_BH": _money(line.bh),
                "T_NGUONKHAC_NSNN": _money(line.other), "T_NGUONKHAC_VTNN": "0.00", "T_NGUONKHAC_VTTN": "0.00",
                "T_NGUONKHAC_CL": "0.00", "T_NGUONKHAC": _money(line.other), "MUC_HUONG": str(line.muc_huong),
                "T_BNTT": _money(line.bntt), "T_BNCCT": _money(line.bncct), "T_BHTT": _money(line.bhtt),
                "MA_KHOA": "K01", "MA_BAC_SI": "000123/KG-CCHN", "NGAY_YL": _stamp(line.ordered),
                "NGAY_TH_YL": _stamp(line.ordered), "MA_PTTT": line.ma_pttt,
            }
            if line.table == "XML2":
                row.update({
                    "MA_THUOC": it.code, "TEN_THUOC": it.name, "HAM_LUONG": it.strength, "DUONG_DUNG": "1.01",
                    "DANG_BAO_CHE": "Viên nén" if it.unit == "Viên" else "Thuốc bột", "DON_GIA": _num(it.price),
                    "LIEU_DUNG": "1 viên/lần * 2 lần/ngày", "SO_DANG_KY": "VD-12345-20",
                    "TT_THAU": "123/QĐ-SYT;G1;N4;2023", "NGUON_CTRA": "1",
                })
            else:
                supply = it.group == "10"
                row.update({
                    "MA_DICH_VU": "" if supply else it.code, "MA_VAT_TU": it.code if supply else "",
                    "TEN_DICH_VU": "" if supply else it.name, "TEN_VAT_TU": it.name if supply else "",
                    "DON_GIA_BV": _num(it.price), "DON_GIA_BH": _num(it.price), "TYLE_TT_DV": "100",
                    "NGUOI_THUC_HIEN": "000123/KG-CCHN", "NGAY_KQ": _stamp(line.ordered) if it.group in "123" else "",
                    "TT_THAU": "45/QĐ-SYT;G2;N1;2023" if supply else "",
                })
            rows.append(row)
        return out

    # ---- serialisation

    def table(self, root: str, item: str | None, fields: tuple, rows: list[dict[str, str]],
              list_tag: str = "") -> bytes:
        """One inner table as bytes. ``fields`` is a tuple of names, or of (file name, QĐ 130 name) pairs."""
        s = self.sloppy
        nl = ""
        ind = ""
        ns = ""
        if s is not None:
            nl = s.choice(("", "\n", "\r\n"))
            ind = "  " if nl else ""
            ns = s.choice(("", "", ' xmlns="urn:bhyt:qd130"', ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'))
        parts = [f"<{root}{ns}>{nl}"]
        if item is not None:
            parts.append(f"{ind}<{list_tag}>{nl}")
        for row in rows:
            pad = ind * 2 if item is not None else ind
            if item is not None:
                parts.append(f"{pad}<{item}>{nl}")
                pad += ind
            for spec in fields:
                name, src = spec if isinstance(spec, tuple) else (spec, spec)
                value = row.get(src, "")
                if src == "NGAY_SINH" and self.standard == "4210":
                    value = value[:8]
                parts.append(self._element(name, value, pad, nl))
            if item is not None:
                parts.append(f"{ind * 2}</{item}>{nl}")
        if item is not None:
            parts.append(f"{ind}</{list_tag}>{nl}")
        parts.append(f"</{root}>")
        body = "".join(parts)
        if s is None:
            return ('<?xml version="1.0" encoding="utf-8"?>' + body).encode()
        style = s.randrange(6)
        if style == 0:
            return body.encode()
        if style == 1:
            return b"\xef\xbb\xbf" + ('<?xml version="1.0" encoding="UTF-8"?>' + nl + body).encode()
        if style == 2:
            return ("\r\n" + '<?xml version="1.0" encoding="utf-8" standalone="yes"?>' + nl + body).encode()
        if style == 3:
            return ('<?xml version="1.0" encoding="UTF-16"?>' + nl + body).encode("utf-16")
        return ('<?xml version="1.0"?>' + nl + body).encode()

    def _element(self, name: str, value: str, pad: str, nl: str) -> str:
        s = self.sloppy
        if s is None:
            return f"<{name}>{_escape(value)}</{name}>" if value else f"<{name}/>"
        if not value or (name in _ZERO_OPTIONAL and value == "0.00" and s.random() < 0.5):
            return s.choice(("", f"{pad}<{name}/>{nl}", f"{pad}<{name}></{name}>{nl}", f"{pad}<{name}>  </{name}>{nl}"))
        if name in _TEXT_FIELDS and s.random() < 0.5:
            return f"{pad}<{name}><![CDATA[{value}]]></{name}>{nl}"
        value = _loosen(name, value, s)
        around = s.choice(("", "", " ", "\r\n    "))
        return f"{pad}<{name}>{around}{_escape(value)}{around}</{name}>{nl}"


def _escape(text: str) -> str:
    if "&" in text or "<" in text or ">" in text:
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text


def _loosen(name: str, value: str, s: random.Random) -> str:
    """The same value as a careless export writes it."""
    if name in ("THANG_QT", "MA_LOAI_KCB") and value.startswith("0") and s.random() < 0.6:
        return value[1:]
    if name == "MA_BENH_CHINH" and s.random() < 0.5:
        return s.choice((value.replace(".", ""), value + "*", value.lower()))
    if name == "MA_BENH_KT" and value and s.random() < 0.5:
        return value.replace(".", "").replace(";", "; ")
    if value.endswith(".00") and s.random() < 0.4:
        return s.choice((value[:-3], value[:-1]))
    return value


def _b64(data: bytes, s: random.Random | None) -> str:
    text = base64.b64encode(data).decode("ascii")
    if s is None:
        return text
    style = s.randrange(4)
    if style == 1:  # MIME-style wrapping
        return "\r\n".join(text[i : i + 76] for i in range(0, len(text), 76))
    if style == 2:
        return "\n        " + text + "\n      "
    return text


def generate(
    out: BinaryIO,
    *,
    facility: str = "91060",
    records: int,
    year: int,
    months: list[int],
    seed: int,
    faults: dict[str, int] | None = None,
    standard: str = "130",
    sloppy: bool = False,
) -> GeneratedSummary:
    """Write a GIAMDINHHS file to ``out`` (streamed) and return what the intake should find."""
    if not facility_code.is_code(facility):
        raise ValueError(f"facility: {facility_code.MESSAGE}")
    if not months or any(not 1 <= m <= 12 for m in months):
        raise ValueError("months: các tháng từ 1 đến 12")
    if standard not in ("130", "4210"):
        raise ValueError("standard: 130 hoặc 4210")
    faults = {k: v for k, v in (faults or {}).items() if v > 0}
    unknown = set(faults) - set(RECORD_FAULTS) - set(FILE_FAULTS)
    if unknown:
        raise ValueError(f"không sinh được lỗi: {', '.join(sorted(unknown))}")
    per_record = {k: v for k, v in faults.items() if k in RECORD_FAULTS}
    first = 1 if "duplicate_claim" in per_record else 0  # a duplicate needs an accepted record before it
    wanted = sum(per_record.values())
    if wanted > records - first:
        raise ValueError("nhiều lỗi hơn số hồ sơ")
    picker = random.Random(seed ^ 0x5EED)
    chosen = picker.sample(range(first, records), wanted)
    plan: dict[int, str] = {}
    at = 0
    for code in sorted(per_record):
        for index in chosen[at : at + per_record[code]]:
            plan[index] = code
        at += per_record[code]

    gen = _Generator(facility, year, months, seed, standard, sloppy)
    gen.pool = max(50, records // 3)
    summary = GeneratedSummary(records=records, fault_index=dict(plan))
    s = gen.sloppy
    nl = "\r\n" if s is not None else "\n"
    declared = records + (1 if "record_count_mismatch" in faults else 0)
    if "record_count_mismatch" in faults:
        summary.file_faults.append("record_count_mismatch")
    head = (
        f'<?xml version="1.0" encoding="UTF-8"?>{nl}'
        + ("<!-- xuất từ phần mềm HIS -->" + nl if s is not None else "")
        + ('<GIAMDINHHS xmlns="http://ns.bhxh.gov.vn/giamdinh" '
           'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">' if s is not None else "<GIAMDINHHS>")
        + f"{nl}<THONGTINDONVI><MACSKCB>{facility}</MACSKCB></THONGTINDONVI>{nl}"
        + f"<THONGTINHOSO>{nl}<NGAYLAP>{year}{months[-1]:02d}{monthrange(year, months[-1])[1]:02d}</NGAYLAP>{nl}"
        + f"<SOLUONGHOSO>{declared}</SOLUONGHOSO>{nl}<DANHSACHHOSO>{nl}"
    )
    out.write((b"\xef\xbb\xbf" if s is not None else b"") + head.encode())
    last_good: str | None = None
    x1_fields = XML1_4210 if standard == "4210" else XML1_FIELDS
    x2_fields = XML2_4210 if standard == "4210" else XML2_FIELDS
    x3_fields = XML3_4210 if standard == "4210" else XML3_FIELDS
    for index in range(records):
        fault = plan.get(index)
        x, lines, visit = gen.record(index, fault)
        rows = gen.rows(x, lines)
        if fault is not None:
            gen.damage(fault, x, rows, visit, last_good)
            for table_rows in rows.values():  # lines follow the (possibly changed) MA_LK
                for row in table_rows:
                    if fault != "ma_lk_mismatch":
                        row["MA_LK"] = x["MA_LK"]
        tables: list[tuple[str, bytes | str]] = [("XML1", gen.table("TONG_HOP", None, x1_fields, [x]))]
        if rows["XML2"]:
            tables.append(("XML2", gen.table("CHITIEU_CHITIET_THUOC", "CHI_TIET_THUOC", x2_fields, rows["XML2"],
                                             "DSACH_CHI_TIET_THUOC")))
        if rows["XML3"]:
            tables.append(("XML3", gen.table("CHITIEU_CHITIET_DVKT_VTYT", "CHI_TIET_DVKT", x3_fields, rows["XML3"],
                                             "DSACH_CHI_TIET_DVKT")))
        if gen.rng.random() < 0.03:  # a clinical-progress table now and then, kept verbatim by the intake
            note = {"MA_LK": x["MA_LK"], "STT": "1", "DIEN_BIEN_LS": "Người bệnh tỉnh, tiếp xúc tốt",
                    "THOI_DIEM_DBLS": x["NGAY_VAO"], "NGUOI_THUC_HIEN": "000123/KG-CCHN"}
            tables.append(("XML5", gen.table("CHITIEU_CHITIET_DIENBIENLAMSANG", "CHI_TIET_DIEN_BIEN_BENH",
                                             ("MA_LK", "STT", "DIEN_BIEN_LS", "THOI_DIEM_DBLS", "NGUOI_THUC_HIEN"),
                                             [note],
                                             "DSACH_CHI_TIET_DIEN_BIEN_BENH")))
        if fault == "record_unreadable":
            variant = gen._next("record_unreadable_variant") % 3
            victim = 1 if len(tables) > 1 else 0
            broken: bytes | str = ("@@ not base64 @@",
                                   tables[victim][1][:-20],  # type: ignore[index]
                                   b'<!DOCTYPE x [<!ENTITY e "x">]><x>&e;</x>')[variant]
            tables[victim] = (tables[victim][0], broken)
        elif fault == "table_unknown":
            tables.append(("XML99", b"<KHAC><MA_LK>" + x["MA_LK"].encode() + b"</MA_LK></KHAC>"))
        out.write(_hoso(tables, s, nl).encode("ascii"))

        if fault is not None:
            summary.faults.append((x["MA_LK"], fault))
        if fault in CRITICAL_FAULTS:
            continue
        last_good = x["MA_LK"]
        summary.accepted += 1
        key = (facility, str(Quarter.of_month(int(x["NAM_QT"]), int(x["THANG_QT"]))))
        totals = summary.totals.setdefault(key, PeriodTotals())
        totals.count += 1
        totals.t_bhtt += Decimal(x["T_BHTT"])
        totals.t_bhtt_gdv += (
            Decimal(x["T_BHTT_GDV"]) if standard == "130"
            else sum((ln.bhtt for ln in lines if ln.ma_pttt == "1"), Decimal("0.00"))
        )
        totals.capitation += sum((ln.bhtt for ln in lines if ln.ma_pttt == "2"), Decimal("0.00"))
    tail = f"</DANHSACHHOSO>{nl}</THONGTINHOSO>{nl}<CHUKYDONVI/>{nl}</GIAMDINHHS>{nl}"
    out.write(tail.encode())
    return summary


def _hoso(tables: list[tuple[str, bytes | str]], s: random.Random | None, nl: str) -> str:
    parts = [f"<HOSO>{nl}"]
    for kind, data in tables:
        content = data if isinstance(data, str) else _b64(data, s)
        label = kind
        if s is not None and s.random() < 0.2:
            label = s.choice((kind.lower(), f" {kind} "))
        parts.append(f"<FILEHOSO><LOAIHOSO>{label}</LOAIHOSO><NOIDUNGFILE>{content}</NOIDUNGFILE></FILEHOSO>{nl}")
    parts.append(f"</HOSO>{nl}")
    return "".join(parts)


# ---------------------------------------------------------------- command line


def _fault_arg(text: str) -> tuple[str, int]:
    code, _, count = text.partition("=")
    if not count.isdigit():
        raise argparse.ArgumentTypeError("dạng CODE=N, ví dụ amount_mismatch=3")
    return code.strip(), int(count)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="ytcs claims generate", description="Sinh tệp hồ sơ BHYT (QĐ 130/4750) mẫu")
    parser.add_argument("--records", type=int, required=True)
    parser.add_argument("--facility", default="91060")
    parser.add_argument("--year", type=int, default=clock.today().year)
    parser.add_argument("--months", default="1,2,3", help="ví dụ 7,8,9")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--fault", action="append", type=_fault_arg, default=[], metavar="CODE=N",
                        help="các mã: " + ", ".join(RECORD_FAULTS + FILE_FAULTS))
    parser.add_argument("--sloppy", action="store_true", help="định dạng lỏng lẻo như các phần mềm thực tế")
    parser.add_argument("--standard", choices=("130", "4210"), default="130")
    parser.add_argument("-o", "--output", default="-", help="tệp ra ('-' là stdout)")
    args = parser.parse_args(argv)
    try:
        months = [int(m) for m in args.months.split(",") if m.strip()]
    except ValueError:
        parser.error("--months: danh sách tháng, ví dụ 7,8,9")
    faults: dict[str, int] = {}
    for code, count in args.fault:
        faults[code] = faults.get(code, 0) + count
    to_stdout = args.output == "-"
    try:
        if to_stdout:
            summary = _run(sys.stdout.buffer, args, months, faults)
        else:
            with open(args.output, "wb") as fh:
                summary = _run(fh, args, months, faults)
    except ValueError as exc:
        parser.error(str(exc))
    report = sys.stderr if to_stdout else sys.stdout
    print(f"{summary.records} hồ sơ, {summary.accepted} hợp lệ, T_BHTT {summary.t_bhtt}, "
          f"T_BHTT_GDV {summary.t_bhtt_gdv}, lỗi cài: {len(summary.faults)}", file=report)
    return 0


def _run(out: BinaryIO, args: argparse.Namespace, months: list[int], faults: dict[str, int]) -> GeneratedSummary:
    return generate(out, facility=args.facility, records=args.records, year=args.year, months=months,
                    seed=args.seed, faults=faults, standard=args.standard, sloppy=args.sloppy)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
