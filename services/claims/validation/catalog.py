"""Every issue code the claims intake can raise: severity and Vietnamese message template.

The service, the docs (docs/claims-validation.md) and the metrics enumerate codes from here.
A ``critical`` issue rejects its record (whole-file codes reject the file); a ``warning`` keeps it.
Templates are ``str.format`` strings; ``{where}`` names the table, line and field, ``{shown}`` is the
offending value in quotes, or nothing for personal data, which is never echoed.
"""

from __future__ import annotations

from services.claims.records import PERSONAL_FIELDS, Issue, Severity

CATALOG: dict[str, tuple[Severity, str]] = {
    # Whole file (CONTRACT.md "Claim error codes")
    "xml_malformed": ("critical", "Tệp không phải XML hợp lệ hoặc có khai báo DTD/thực thể bị cấm: {detail}"),
    "envelope_invalid": ("critical", "Tệp không đúng cấu trúc hồ sơ GIAMDINHHS: {detail}"),
    # One record (CONTRACT.md)
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
