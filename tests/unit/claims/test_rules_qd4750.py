"""QĐ 4750's rulebook, rule by rule: for each, a record that breaks it and one that does not (issue 14).

The minimal record of builders.py is valid; each case changes it in one place. Severities are the catalogue's:
the record is rejected exactly when a critical issue is raised.
"""

from __future__ import annotations

import pytest

from services.claims.validation import CATALOG, rules
from services.claims.validation.formats import SHAPES
from services.claims.validation.required import requirements, sheet_marks
from services.devtools.claims_rulebook import PAGE, current, render
from tests.unit.claims.builders import DRUG, EXAM, XML1, codes, envelope, run, tables

MA_LK = XML1["MA_LK"]


def rows_table(root: str, dsach: str, tag: str, rows: list[dict[str, str | None]]) -> bytes:
    body = "".join(
        f"<{tag}>" + "".join(f"<{k}>{v}</{k}>" for k, v in row.items() if v is not None) + f"</{tag}>" for row in rows
    )
    return f"<{root}><{dsach}>{body}</{dsach}></{root}>".encode()


CLS = {"MA_LK": MA_LK, "STT": "1", "MA_DICH_VU": "22.0120.1370", "MA_CHI_SO": "HGB", "TEN_CHI_SO": "Hemoglobin",
       "GIA_TRI": "135", "DON_VI_DO": "g/L", "NGAY_KQ": "202407150830", "MA_BS_DOC_KQ": "000123/KG-CCHN"}
DBLS = {"MA_LK": MA_LK, "STT": "1", "DIEN_BIEN_LS": "Tỉnh, sốt nhẹ", "THOI_DIEM_DBLS": "202407150805",
        "NGUOI_THUC_HIEN": "000123/KG-CCHN"}


def record(x1: dict | None = None, drug: dict | None = None, exam: dict | None = None, cls: dict | None = None,
           dbls: dict | None = None, facility: str = "91060", **ctx: object):
    """The minimal record (with XML4 and XML5 rows), changed as asked; its one RecordResult."""
    entries = tables(x1={**XML1, **(x1 or {})}, drugs=[{**DRUG, **(drug or {})}], services=[{**EXAM, **(exam or {})}])
    entries += [
        ("XML4", rows_table("CHITIEU_CHITIET_DICHVUCANLAMSANG", "DSACH_CHI_TIET_CLS", "CHI_TIET_CLS",
                            [{**CLS, **(cls or {})}])),
        ("XML5", rows_table("CHITIEU_CHITIET_DIENBIENLAMSANG", "DSACH_CHI_TIET_DIEN_BIEN_BENH",
                            "CHI_TIET_DIEN_BIEN_BENH", [{**DBLS, **(dbls or {})}])),
    ]
    [result] = run(envelope([entries], facility=facility), **ctx)
    return result


def only(code: str, result, table: str | None = None, field: str | None = None) -> None:
    assert codes(result.issues) == {code}, [(i.code, i.table, i.field, i.message) for i in result.issues]
    assert result.accepted == (CATALOG[code][0] == "warning")
    if table is not None:
        assert {(i.table, i.field) for i in result.issues} == {(table, field)}


def test_the_minimal_record_with_xml4_and_xml5_is_clean():
    result = record()
    assert result.accepted and result.issues == [], [(i.code, i.message) for i in result.issues]
    assert [len(result.claim.details[t]) for t in ("XML4", "XML5")] == [1, 1]


# --- the explicit rules of the vendor sheet -----------------------------------------------------------------

def test_inpatient_admission_not_before_the_visit():
    x1 = {"MA_LOAI_KCB": "03", "NGAY_VAO": "202407150800", "NGAY_RA": "202407170900", "SO_NGAY_DTRI": "3"}
    assert record({**x1, "NGAY_VAO_NOI_TRU": "202407150800"}).issues == []
    assert record({**x1, "NGAY_VAO_NOI_TRU": "202407160900"}).issues == []
    bad = record({**x1, "NGAY_VAO_NOI_TRU": "202407150759"})
    only("date_order", bad, "XML1", "NGAY_VAO_NOI_TRU")
    assert "15/07/2024 07:59" in bad.issues[0].message
    # a value that is not a time is named, and does not refuse the record
    only("field_format", record({**x1, "NGAY_VAO_NOI_TRU": "999999999999"}), "XML1", "NGAY_VAO_NOI_TRU")


@pytest.mark.parametrize("table", ["XML2", "XML3"])
def test_a_line_is_done_not_before_it_is_ordered(table):
    key, ordered, before = ("drug", DRUG["NGAY_YL"], "202407150809") if table == "XML2" else \
        ("exam", EXAM["NGAY_YL"], "202407150759")
    assert record(**{key: {"NGAY_TH_YL": ordered}}).issues == []
    bad = record(**{key: {"NGAY_TH_YL": before}})
    only("line_date_order", bad, table, "NGAY_TH_YL")
    assert "STT 1" in bad.issues[0].message


def test_a_result_is_not_before_its_order():
    assert record(exam={"NGAY_KQ": "202407150800"}).issues == []
    only("line_date_order", record(exam={"NGAY_KQ": "202407150759"}), "XML3", "NGAY_KQ")


SHAPE_CASES = [
    ("XML1", "SO_CCCD", ["091080000001", "091080001", "B1234567"], ["09108000000", "b1234567", "A123456X"]),
    ("XML1", "MA_TTDV", ["9100012345"], ["910001234", "91000123AB"]),
    ("XML1", "MA_NOI_DI", ["91001"], ["9100", "91-01"]),
    ("XML1", "MA_NOI_DEN", ["79010"], ["790100"]),
    ("XML1", "NAM_NAM_LIEN_TUC", ["20190101"], ["2019", "20190231"]),
    ("XML1", "MA_KHOA", ["K01", "K02;K03;K24"], ["K1", "KHOA01", "K01,K02"]),
    ("XML1", "NGAY_VAO_NOI_TRU", ["202407150800"], ["2024071508", "202407150861"]),
    ("XML2", "MA_KHOA", ["K19"], ["19"]),
    ("XML2", "VET_THUONG_TP", ["1"], ["0", "2"]),
    ("XML2", "NGAY_TH_YL", ["202407150810"], ["20240715"]),
    ("XML3", "MA_KHOA", ["K02"], ["K2"]),
    ("XML3", "NGAY_TH_YL", ["202407150800"], ["2024071508000"]),
    ("XML3", "VET_THUONG_TP", ["1"], ["0"]),
    ("XML3", "GOI_VTYT", ["G1", "G999"], ["G0", "G1000", "1", "GA"]),
    ("XML3", "TAI_SU_DUNG", ["1"], ["0", "2"]),
    ("XML3", "NGAY_KQ", ["202407150830"], ["999999999999"]),
    ("XML4", "NGAY_KQ", ["202407150830"], ["202413150830"]),
    ("XML5", "THOI_DIEM_DBLS", ["202407150805"], ["1507202408"]),
]


def _change(table: str, name: str, value: str | None) -> dict:
    key = {"XML1": "x1", "XML2": "drug", "XML3": "exam", "XML4": "cls", "XML5": "dbls"}[table]
    return {key: {name: value}}


@pytest.mark.parametrize(("table", "name", "good", "bad"), SHAPE_CASES, ids=[f"{t}.{n}" for t, n, _, _ in SHAPE_CASES])
def test_field_shapes(table, name, good, bad):
    for value in good:
        result = record(**_change(table, name, value))
        assert result.issues == [], (value, [i.message for i in result.issues])
    for value in bad:
        result = record(**_change(table, name, value))
        only("field_format", result, table, name)
        if name == "SO_CCCD":  # personal data: never echoed
            assert value not in result.issues[0].message


def test_every_shape_rule_has_a_case():
    cased = {(t, n) for t, n, _, _ in SHAPE_CASES}
    assert {(t, n) for tables_, n, *_ in SHAPES for t in tables_} <= cased


def test_line_issues_are_one_per_table_and_field():
    drugs = [{**DRUG, "STT": str(i), "VET_THUONG_TP": "2", "HAM_LUONG": None} for i in (1, 2, 3)]
    entries = tables(drugs=drugs, T_THUOC="8820.00", T_TONGCHI_BV="43320.00", T_TONGCHI_BH="43320.00",
                     T_BHTT="43320.00", T_BHTT_GDV="8820.00")
    [result] = run(envelope([entries]))
    assert sorted((i.code, i.field) for i in result.issues) == [
        ("field_format", "VET_THUONG_TP"), ("missing_descriptive_field", "HAM_LUONG")]
    assert all("(3 dòng)" in i.message and "STT 1" in i.message for i in result.issues)


def test_treatment_days_of_an_inpatient_stay_count_both_ends():
    x1 = {"MA_LOAI_KCB": "03", "NGAY_VAO": "202407150800", "NGAY_RA": "202407170900"}
    assert record({**x1, "SO_NGAY_DTRI": "3"}).issues == []
    only("treatment_days_mismatch", record({**x1, "SO_NGAY_DTRI": "2"}), "XML1", "SO_NGAY_DTRI")


def test_a_facility_of_another_province_is_a_warning():
    result = record({"MA_CSKCB": "20003"}, facility="20003")
    only("facility_outside_province", result, "XML1", "MA_CSKCB")
    assert "20003" in result.issues[0].message


def test_t_bhtt_gdv_is_a_warning_zero_included():
    # Σ T_BHTT of the MA_PTTT = 1 lines is 2940 (the drug); real exporters write 0
    for written in ("0", "0.00", "100.00", "40000.00"):
        result = record({"T_BHTT_GDV": written})
        only("t_bhtt_gdv_mismatch", result, "XML1", "T_BHTT_GDV")
        assert "MA_PTTT" in result.issues[0].message
    assert record({"T_BHTT_GDV": "2940.00"}).issues == []


def test_commune_station_claims_get_no_false_benefit_level_warning():
    # An 80 % card, a visit above 15 % of the base salary, every line paid at 100 %.
    drug = {"SO_LUONG": "100", "DON_GIA": "4200", "THANH_TIEN_BV": "420000.00", "THANH_TIEN_BH": "420000.00",
            "T_BHTT": "420000.00", "MA_PTTT": "2"}
    x1 = {"T_THUOC": "420000.00", "T_TONGCHI_BV": "454500.00", "T_TONGCHI_BH": "454500.00", "T_BHTT": "454500.00",
          "T_BHTT_GDV": "0.00"}
    assert XML1["MA_THE_BHYT"][2] == "4"
    only("muc_huong_inconsistent", record(x1, drug=drug))
    assert record(x1, drug=drug, commune_station=True).issues == []


# --- required fields: every mark of Bảng 1–5 --------------------------------------------------------------

def test_every_required_field_of_bang_1_to_5_has_a_rule():
    marks = sheet_marks()
    assert len(marks) == 112
    weighed = {(r.table, r.field) for r in requirements()}
    assert set(marks) <= weighed
    assert all(r.code in CATALOG for r in requirements() if r.code is not None)


SUPPLY = {"MA_NHOM": "10", "MA_DICH_VU": None, "TEN_DICH_VU": None, "MA_VAT_TU": "N03.01.070",
          "TEN_VAT_TU": "Bơm tiêm 5ml", "TT_THAU": "45/QĐ-SYT;G2;N1;2023"}
SUPPLY_X1 = {"T_VTYT": EXAM["THANH_TIEN_BV"]}  # the exam line becomes a supply: XML1 counts it as one
_CONDITION = {  # what makes a conditional requirement apply on the minimal record
    ("XML3", "MA_XANG_DAU"): {"MA_NHOM": "12"},
    ("XML3", "TT_THAU"): SUPPLY,
    ("XML3", "NGUOI_THUC_HIEN"): {"MA_NHOM": "1", "NGAY_TH_YL": "202407150800"},
    ("XML3", "NGAY_TH_YL"): {"MA_NHOM": "1", "NGUOI_THUC_HIEN": "000123/KG-CCHN"},
    ("XML3", "TEN_VAT_TU"): SUPPLY,
}
_PRESENT = {("XML3", "MA_XANG_DAU"): "X1", ("XML3", "NGUOI_THUC_HIEN"): "000123/KG-CCHN",
            ("XML3", "NGAY_TH_YL"): "202407150800", ("XML3", "TT_THAU"): "45/QĐ-SYT;G2;N1;2023",
            ("XML3", "TEN_VAT_TU"): "Bơm tiêm 5ml"}
DESCRIPTIVE = [r for r in requirements() if r.code == "missing_descriptive_field"]


@pytest.mark.parametrize("req", DESCRIPTIVE, ids=[f"{r.table}.{r.field}" for r in DESCRIPTIVE])
def test_descriptive_required_field(req):
    key = (req.table, req.field)
    kind = next(iter(_change(req.table, req.field, None)))
    present = {**_CONDITION.get(key, {})}
    if key in _PRESENT:
        present[req.field] = _PRESENT[key]
    x1 = SUPPLY_X1 if present.get("MA_VAT_TU") else {}
    if kind == "x1":
        present, x1 = {**x1, **present}, {}

    def changed(values: dict) -> dict:
        return {"x1": {**x1, **values}} if kind == "x1" else {"x1": x1, kind: values}

    ok = record(**changed(present))
    assert ok.issues == [], [(i.code, i.field) for i in ok.issues]
    for empty in (None, "  "):
        only("missing_descriptive_field", record(**changed({**present, req.field: empty})), req.table, req.field)


def test_conditional_requirements_do_not_apply_without_their_condition():
    assert record(exam={"NGUOI_THUC_HIEN": None, "NGAY_TH_YL": None, "TT_THAU": None, "MA_XANG_DAU": None}).issues == []
    assert record(drug={"MA_NHOM": "7", "TT_THAU": None}).issues == []
    assert record(cls={"GIA_TRI": None, "NGAY_KQ": None}).issues == []
    # districts were abolished on 01/7/2025: MAHUYEN_CU_TRU is no longer asked for
    later = {"NGAY_VAO": "202508150800", "NGAY_RA": "202508150845", "NAM_QT": "2025", "THANG_QT": "08",
             "GT_THE_TU": "20250101", "GT_THE_DEN": "20251231"}
    drug, exam = {"NGAY_YL": "202508150810"}, {"NGAY_YL": "202508150800"}
    cls, dbls = {"NGAY_KQ": "202508150830"}, {"THOI_DIEM_DBLS": "202508150805"}
    assert record({**later, "MAHUYEN_CU_TRU": None}, drug=drug, exam=exam, cls=cls, dbls=dbls).issues == []
    only("missing_descriptive_field", record({"MAHUYEN_CU_TRU": None}), "XML1", "MAHUYEN_CU_TRU")


CRITICAL = [r for r in requirements() if r.code == "missing_field" and r.table != "XML3"]


@pytest.mark.parametrize("req", CRITICAL, ids=[f"{r.table}.{r.field}" for r in CRITICAL])
def test_critical_required_field(req):
    result = record(**_change(req.table, req.field, None))
    only("missing_field", result, req.table, req.field)


def test_a_service_line_needs_a_service_or_a_supply_code():
    only("missing_field", record(exam={"MA_DICH_VU": None}), "XML3", "MA_DICH_VU")
    assert record(SUPPLY_X1, exam=SUPPLY).issues == []
    only("missing_field", record(exam={**SUPPLY, "MA_VAT_TU": None}), "XML3", "MA_DICH_VU")


def test_as_zero_amounts_are_checked_against_the_lines():
    for name in ("T_BNTT", "T_BNCCT", "T_NGUONKHAC", "T_VTYT"):
        assert record({name: None}).issues == []  # the lines say 0 too
    only("subtotal_mismatch", record({"T_THUOC": None}), "XML1", "T_THUOC")
    only("t_bhtt_gdv_mismatch", record({"T_BHTT_GDV": None}), "XML1", "T_BHTT_GDV")


def test_required_fields_are_warnings_only_for_qd130():
    """QĐ 4210 archives are held to the critical fields: their tables lack most QĐ 130 fields."""
    x1 = {k: v for k, v in XML1.items() if k not in ("MA_THE_BHYT", "T_TONGCHI_BV", "T_TONGCHI_BH", "T_BHTT_GDV",
                                                   "MA_BENH_CHINH", "MA_BENH_KT", "MA_QUOCTICH", "CAN_NANG")}
    x1.update(MA_THE=XML1["MA_THE_BHYT"], T_TONGCHI="37440.00", MA_BENH="J06.9")
    drug = {("THANH_TIEN" if k == "THANH_TIEN_BV" else "TYLE_TT" if k == "TYLE_TT_BH" else k): v
            for k, v in DRUG.items() if k not in ("THANH_TIEN_BH", "HAM_LUONG")}
    exam = {("THANH_TIEN" if k == "THANH_TIEN_BV" else "TYLE_TT" if k == "TYLE_TT_BH" else
             "DON_GIA" if k == "DON_GIA_BV" else k): v for k, v in EXAM.items() if k not in ("THANH_TIEN_BH",
                                                                                        "DON_GIA_BH")}
    [result] = run(envelope([tables(x1=x1, drugs=[drug], services=[exam])]))
    assert result.claim.standard == "4210"
    assert result.accepted and result.issues == [], [(i.code, i.field) for i in result.issues]


# --- one source of truth --------------------------------------------------------------------------------

def test_the_rulebook_covers_every_code_and_the_docs_are_generated_from_it():
    served = {r.code for r in rules()}
    assert served == set(CATALOG)
    for r in rules():
        assert r.severity == CATALOG[r.code][0] and r.check and r.basis and not r.check.isascii()
    page = PAGE.read_text(encoding="utf-8")
    assert current(page) == render(), "run: python -m services.devtools.claims_rulebook"
    for code, (severity, _) in CATALOG.items():
        assert f"| `{code}` | {severity} |" in page


def test_new_codes_are_warnings_and_the_contract_keeps_its_meaning():
    contract = {"xml_malformed", "envelope_invalid", "record_unreadable", "missing_field", "card_format",
                "card_not_valid_on_date", "date_order", "icd10_invalid", "amount_mismatch", "amount_negative",
                "value_invalid", "facility_mismatch", "duplicate_claim"}
    assert all(CATALOG[c][0] == "critical" for c in contract)
    new = {"missing_descriptive_field", "field_format", "line_date_order", "t_bhtt_gdv_mismatch",
           "facility_outside_province"}
    assert new <= set(CATALOG) and all(CATALOG[c][0] == "warning" for c in new)
