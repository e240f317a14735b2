"""Short Vietnamese names of the claims intake's issue codes, for the pages' chips and tables: an officer
reads the name first and the code (which the API, CSV and Excel carry) second. The full message of each
error is the claims service's own (services/claims/validation/catalog.py); tests check every code there
has a name here."""

from __future__ import annotations

CODE_LABELS: dict[str, str] = {
    "xml_malformed": "Tệp XML không hợp lệ",
    "envelope_invalid": "Sai cấu trúc GIAMDINHHS",
    "record_unreadable": "Hồ sơ không đọc được",
    "missing_field": "Thiếu trường bắt buộc",
    "card_format": "Mã thẻ BHYT sai định dạng",
    "card_not_valid_on_date": "Thẻ BHYT hết hạn vào ngày khám",
    "date_order": "Thứ tự ngày sai",
    "icd10_invalid": "Mã bệnh chính không có trong ICD-10",
    "amount_mismatch": "Số tiền không khớp",
    "amount_negative": "Số tiền hoặc số lượng âm",
    "value_invalid": "Giá trị không hợp lệ",
    "facility_mismatch": "Mã cơ sở KCB khác cơ sở gửi tệp",
    "duplicate_claim": "Hồ sơ đã được tiếp nhận trước đó",
    "record_count_mismatch": "Số hồ sơ khác SOLUONGHOSO",
    "table_unknown": "Loại bảng XML không biết",
    "ma_lk_mismatch": "MA_LK khác bảng XML1",
    "icd10_secondary_invalid": "Mã bệnh kèm theo không có trong ICD-10",
    "icd_secondary_too_many": "Quá 12 mã bệnh kèm theo",
    "icd_not_main_diagnosis": "Mã không được dùng làm bệnh chính",
    "icd_sex_restricted": "Mã bệnh không phù hợp giới tính",
    "icd_age_restricted": "Mã bệnh không phù hợp tuổi",
    "muc_huong_inconsistent": "Mức hưởng không nhất quán",
    "settlement_before_visit": "Ngày thanh toán trước ngày vào",
    "line_date_outside_visit": "Ngày chi tiết ngoài đợt điều trị",
    "treatment_days_mismatch": "Số ngày điều trị không khớp",
    "subtotal_mismatch": "Tổng tiền không khớp chi tiết",
    "missing_descriptive_field": "Thiếu thông tin mô tả",
    "field_format": "Trường sai định dạng",
    "line_date_order": "Thứ tự ngày chi tiết sai",
    "t_bhtt_gdv_mismatch": "T_BHTT_GDV không khớp",
    "facility_outside_province": "Cơ sở KCB ngoài tỉnh",
}


def code_label(code: str | None) -> str:
    return CODE_LABELS.get(code or "", code or "")
