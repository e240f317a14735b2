"""Every issue code the claims intake can raise: severity and Vietnamese message template.

The service, the docs (docs/claims-validation.md) and the metrics enumerate codes from here.
A ``critical`` issue rejects its record (whole-file codes reject the file); a ``warning`` keeps it.
Templates are ``str.format`` strings; ``{where}`` names the table, line and field, ``{shown}`` is the
offending value in quotes, or nothing for personal data, which is never echoed.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.claims.domain.records import PERSONAL_FIELDS, Issue, Severity

CATALOG: dict[str, tuple[Severity, str]] = {
    # Whole file (docs/contract.md "Claim error codes")
    "xml_malformed": ("critical", "Tệp không phải XML hợp lệ hoặc có khai báo DTD/thực thể bị cấm: {detail}"),
    "envelope_invalid": ("critical", "Tệp không đúng cấu trúc hồ sơ GIAMDINHHS: {detail}"),
    # One record (docs/contract.md)
    "record_unreadable": ("critical", "{where}: nội dung NOIDUNGFILE không đọc được ({detail})"),
    "missing_field": ("critical", "{where}: thiếu {what}"),
    "card_format": (
        "critical",
        "{where}: mã thẻ BHYT thứ {n} không đúng định dạng (2 chữ cái, mức hưởng 1–5, 2 số mã tỉnh, "
        "10 số mã BHXH): {detail}",
    ),
    "card_not_valid_on_date": (
        "critical",
        "{where}: ngày vào {visit} nằm ngoài thời hạn sử dụng của thẻ BHYT ({ranges})",
    ),
    "date_order": ("critical", "{where}: thứ tự ngày không hợp lệ, {detail}"),
    "icd10_invalid": ("critical", "{where}: mã bệnh chính{shown} không có trong danh mục ICD-10 (QĐ 4469/QĐ-BYT)"),
    "amount_mismatch": (
        "critical",
        "{where}{shown} không khớp: theo {rule} phải là {expected} (lệch {diff}, quá 1 đồng)",
    ),
    "amount_negative": ("critical", "{where}: số tiền hoặc số lượng âm{shown}"),
    "value_invalid": ("critical", "{where}: giá trị{shown} không hợp lệ: {detail}"),
    "facility_mismatch": (
        "critical",
        "{where}: mã cơ sở KCB{shown} khác mã cơ sở gửi tệp (MACSKCB {envelope})",
    ),
    "duplicate_claim": ("critical", "{where}: hồ sơ MA_LK{shown} đã được tiếp nhận cho cơ sở này"),
    # Warnings: what a BHXH assessor looks at, the record is kept
    "record_count_mismatch": (
        "warning",
        "SOLUONGHOSO ghi {declared} hồ sơ nhưng tệp có {actual} hồ sơ",
    ),
    "table_unknown": ("warning", "{where}: loại hồ sơ{shown} không thuộc XML1–XML15, bỏ qua"),
    "ma_lk_mismatch": ("warning", "{where}: MA_LK{shown} khác MA_LK của bảng XML1"),
    "icd10_secondary_invalid": (
        "warning",
        "{where}: mã bệnh kèm theo{shown} không có trong danh mục ICD-10 (QĐ 4469/QĐ-BYT)",
    ),
    "icd_secondary_too_many": ("warning", "{where}: có {count} mã bệnh kèm theo, tối đa 12 mã (QĐ 130/QĐ-BYT)"),
    "icd_not_main_diagnosis": (
        "warning",
        "{where}: mã{shown} không được dùng làm bệnh chính (QĐ 4469/QĐ-BYT, phụ lục A2)",
    ),
    "icd_sex_restricted": (
        "warning",
        "{where}: mã{shown} chỉ dùng cho giới {allowed}, người bệnh có GIOI_TINH khác (QĐ 4469, phụ lục A4)",
    ),
    "icd_age_restricted": (
        "warning",
        "{where}: mã{shown} chỉ dùng cho tuổi {allowed}; tuổi người bệnh khi vào khám nằm ngoài khoảng này "
        "(QĐ 4469, phụ lục A3)",
    ),
    "muc_huong_inconsistent": (
        "warning",
        "{where}: mức hưởng{shown} không phù hợp: {detail}",
    ),
    "settlement_before_visit": (
        "warning",
        "{where}: kỳ đề nghị thanh toán {period} trước tháng vào khám {visit_month}",
    ),
    "line_date_outside_visit": (
        "warning",
        "{where}: thời điểm y lệnh{shown} nằm ngoài đợt điều trị ({visit})",
    ),
    "treatment_days_mismatch": (
        "warning",
        "{where}{shown} không khớp với ngày vào, ngày ra và MA_LOAI_KCB (phải là {expected})",
    ),
    "subtotal_mismatch": (
        "warning",
        "{where}{shown} không khớp tổng các dòng ({rule} = {expected})",
    ),
    # QĐ 4750's whole rulebook (issue 14): what an assessor should see, never a reason to refuse the record.
    "missing_descriptive_field": ("warning", "{where}: trường bắt buộc để trống{detail}"),
    "field_format": ("warning", "{where}: giá trị{shown} không đúng định dạng: {detail}"),
    "line_date_order": ("warning", "{where}: thứ tự thời điểm không hợp lệ, {detail}"),
    "t_bhtt_gdv_mismatch": (
        "warning",
        "{where}{shown} khác {rule} ({expected}); chi phí theo phương thức thanh toán được tính từ MA_PTTT "
        "của từng dòng, không từ T_BHTT_GDV",
    ),
    "facility_outside_province": (
        "warning",
        "{where}: cơ sở KCB{shown} không thuộc tỉnh (mã cơ sở KCB của tỉnh bắt đầu bằng {province})",
    ),
}

_SHOWN_MAX = 40


def severity_of(code: str) -> Severity:
    return CATALOG[code][0]


def _where(table: str | None, field: str | None, line: int | None, stt: int | None) -> str:
    parts = []
    if table:
        parts.append(table)
    if line is not None:
        parts.append(f"dòng STT {stt}" if stt is not None else f"dòng thứ {line}")
    text = " ".join(parts)
    if field:
        text = f"{text}.{field}" if text else field
    return text or "Hồ sơ"


def make_issue(
    code: str,
    *,
    table: str | None = None,
    field: str | None = None,
    ma_lk: str | None = None,
    value: object = None,
    line: int | None = None,
    stt: int | None = None,
    **params: object,
) -> Issue:
    """Build an issue from the catalog. ``value`` is dropped for personal fields, whatever the caller."""
    severity, template = CATALOG[code]
    shown = ""
    if value is not None and field not in PERSONAL_FIELDS:
        text = str(value)
        if len(text) > _SHOWN_MAX:
            text = text[:_SHOWN_MAX] + "…"
        shown = f" «{text}»"
    message = template.format(where=_where(table, field, line, stt), shown=shown, **params)
    return Issue(code, severity, table, field, message, ma_lk)


# --- the rulebook: every check by table and field, with its legal basis (served at GET /api/v1/claims/rules,
# written into docs/claims-validation.md by ``python -m services.devtools.claims_rulebook``) ----------------------


@dataclass(frozen=True, slots=True)
class Rule:
    code: str
    table: str  # "file", "XML1"…"XML5", or several joined by ", "
    field: str | None
    check: str  # what is checked, in Vietnamese
    basis: str  # where the rule comes from

    @property
    def severity(self) -> Severity:
        return CATALOG[self.code][0]

    def as_dict(self) -> dict[str, str | None]:
        return {
            "code": self.code, "table": self.table, "field": self.field, "severity": self.severity,
            "check": self.check, "basis": self.basis, "message": CATALOG[self.code][1],
        }


_Q130 = "QĐ 130/QĐ-BYT, sửa đổi bởi QĐ 4750/QĐ-BYT"
_SHEET = "bảng kiểm tra QĐ 4750 của nhà cung cấp phần mềm"

RULES: tuple[Rule, ...] = (
    Rule("xml_malformed", "file", None, "Tệp là XML hợp lệ, không khai báo DTD/thực thể", "CONTRACT; XML 1.0"),
    Rule("envelope_invalid", "file", "MACSKCB", "Tệp có cấu trúc GIAMDINHHS và mã cơ sở gửi tệp",
         f"CONTRACT; {_Q130} (hồ sơ gửi)"),
    Rule("record_count_mismatch", "file", "SOLUONGHOSO", "SOLUONGHOSO bằng số HOSO trong tệp", f"{_Q130} (hồ sơ gửi)"),
    Rule("record_unreadable", "XML1, XML2, XML3, XML4, XML5", "NOIDUNGFILE",
         "Nội dung từng bảng đọc được (base64 hoặc XML, không hỏng thẻ)", f"CONTRACT; {_Q130}"),
    Rule("table_unknown", "file", "LOAIHOSO", "LOAIHOSO thuộc XML1–XML15", f"{_Q130} (15 bảng)"),
    Rule("ma_lk_mismatch", "XML2, XML3, XML4, XML5", "MA_LK", "MA_LK của các bảng trùng MA_LK của XML1",
         f"{_Q130} (MA_LK liên kết các bảng)"),
    Rule("value_invalid", "XML1, XML2, XML3", None,
         "Giá trị đúng kiểu của trường: số, ngày giờ yyyymmddHHMM, mã (GIOI_TINH, MA_LOAI_KCB, MA_PTTT, PHAM_VI…)",
         f"CONTRACT; {_Q130} Bảng 1–3 (kiểu, độ dài)"),
    Rule("card_format", "XML1", "MA_THE_BHYT", "Mỗi mã thẻ: 2 chữ cái, mức hưởng 1–5, 2 số mã tỉnh, 10 số mã BHXH",
         f"CONTRACT; {_Q130} Bảng 1"),
    Rule("card_not_valid_on_date", "XML1", "GT_THE_DEN", "Ngày vào nằm trong một thời hạn GT_THE_TU…GT_THE_DEN",
         f"CONTRACT; {_Q130} Bảng 1"),
    Rule("muc_huong_inconsistent", "XML2, XML3", "MUC_HUONG",
         "MUC_HUONG không vượt mức hưởng của thẻ, trừ khi được 100% (trạm y tế xã, chi phí thấp, miễn cùng chi trả)",
         "Luật BHYT Điều 22 k1; NĐ 146/2018/NĐ-CP Điều 14"),
    Rule("date_order", "XML1", "NGAY_RA", "NGAY_RA ≥ NGAY_VAO", f"CONTRACT; {_Q130} Bảng 1"),
    Rule("date_order", "XML1", "NGAY_VAO_NOI_TRU", "NGAY_VAO_NOI_TRU ≥ NGAY_VAO", f"{_Q130} Bảng 1; {_SHEET}"),
    Rule("date_order", "XML1", "NGAY_SINH", "Ngày sinh không sau ngày vào", f"{_Q130} Bảng 1"),
    Rule("settlement_before_visit", "XML1", "THANG_QT", "NAM_QT/THANG_QT không trước tháng vào khám",
         f"{_Q130} Bảng 1"),
    Rule("line_date_outside_visit", "XML2, XML3", "NGAY_YL", "Thời điểm y lệnh trong đợt điều trị",
         f"{_Q130} Bảng 2–3"),
    Rule("line_date_order", "XML2, XML3", "NGAY_TH_YL", "NGAY_TH_YL ≥ NGAY_YL", f"{_Q130} Bảng 2–3; {_SHEET}"),
    Rule("line_date_order", "XML3", "NGAY_KQ", "NGAY_KQ ≥ NGAY_YL", f"{_Q130} Bảng 3; {_SHEET}"),
    Rule("treatment_days_mismatch", "XML1", "SO_NGAY_DTRI",
         "MA_LOAI_KCB 01, 07, 09: 0 ngày; 02, 03, 04, 06: NGAY_RA − NGAY_VAO + 1",
         f"{_Q130} Bảng 1 (SO_NGAY_DTRI sửa bởi QĐ 4750); {_SHEET}"),
    Rule("icd10_invalid", "XML1", "MA_BENH_CHINH", "Mã bệnh chính có trong danh mục ICD-10",
         f"CONTRACT; {_Q130} Bảng 1; QĐ 4469/QĐ-BYT"),
    Rule("icd10_secondary_invalid", "XML1", "MA_BENH_KT", "Mã bệnh kèm theo có trong danh mục ICD-10",
         "QĐ 4469/QĐ-BYT"),
    Rule("icd_secondary_too_many", "XML1", "MA_BENH_KT", "Tối đa 12 mã bệnh kèm theo", f"{_Q130} Bảng 1"),
    Rule("icd_not_main_diagnosis", "XML1", "MA_BENH_CHINH", "Mã được dùng làm bệnh chính",
         "QĐ 4469/QĐ-BYT phụ lục A2"),
    Rule("icd_sex_restricted", "XML1", "MA_BENH_CHINH", "Mã phù hợp giới tính", "QĐ 4469/QĐ-BYT phụ lục A4"),
    Rule("icd_age_restricted", "XML1", "MA_BENH_CHINH", "Mã phù hợp tuổi", "QĐ 4469/QĐ-BYT phụ lục A3"),
    Rule("amount_negative", "XML1, XML2, XML3", None, "Số tiền, số lượng không âm", "CONTRACT"),
    Rule("amount_mismatch", "XML2, XML3", "THANH_TIEN_BV", "SO_LUONG × đơn giá (× TYLE_TT_DV/100)",
         f"{_Q130} Bảng 2–3"),
    Rule("amount_mismatch", "XML2, XML3", "THANH_TIEN_BH", "SO_LUONG × đơn giá BH × TYLE_TT_BH/100",
         f"{_Q130} Bảng 2–3"),
    Rule("amount_mismatch", "XML2, XML3", "T_BHTT",
         "T_BHTT = THANH_TIEN_BH × MUC_HUONG/100; T_BNCCT, T_BNTT, T_NGUONKHAC theo công thức",
         f"{_Q130} Bảng 2–3"),
    Rule("amount_mismatch", "XML1", "T_TONGCHI_BH",
         "T_TONGCHI_BV, T_TONGCHI_BH, T_BNTT, T_BNCCT, T_BHTT, T_NGUONKHAC = Σ các dòng XML2, XML3; "
         "T_BHTT = T_TONGCHI_BH − T_BNCCT − phần nguồn khác", f"CONTRACT; {_Q130} Bảng 1"),
    Rule("t_bhtt_gdv_mismatch", "XML1", "T_BHTT_GDV",
         "T_BHTT_GDV = Σ T_BHTT của các dòng có MA_PTTT = 1 và không vượt T_BHTT (nhiều phần mềm ghi 0)",
         f"{_Q130} Bảng 1 (T_BHTT_GDV)"),
    Rule("subtotal_mismatch", "XML1", "T_THUOC", "T_THUOC = Σ THANH_TIEN_BV của XML2; T_VTYT = Σ của vật tư XML3",
         f"{_Q130} Bảng 1"),
    Rule("facility_mismatch", "XML1", "MA_CSKCB", "MA_CSKCB trùng mã cơ sở gửi tệp (MACSKCB)",
         f"CONTRACT; {_Q130} Bảng 1"),
    Rule("facility_outside_province", "XML1", "MA_CSKCB", "MA_CSKCB bắt đầu bằng mã tỉnh (91)",
         f"{_Q130} Bảng 1 (MA_CSKCB: 2 ký tự đầu là mã tỉnh)"),
    Rule("duplicate_claim", "XML1", "MA_LK", "MA_LK chưa được tiếp nhận cho cơ sở này", f"CONTRACT; {_Q130}"),
)
