"""Every check by a hand-written minimal case: the valid record changed in one place."""

from __future__ import annotations

import io
import re
from decimal import Decimal

import pytest

from services.claims.domain.records import PERSONAL_FIELDS
from services.claims.parsing import decode_record, open_claim_file
from services.claims.validation import CATALOG, ValidationContext, duplicate_issue, validate
from tests.unit.claims.builders import DRUG, EXAM, XML1, codes, envelope, issues_of, run, tables

# Personal values of the minimal record: none may ever appear in a message.
PERSONAL_VALUES = [XML1[f] for f in PERSONAL_FIELDS if XML1.get(f)]


def only(code: str, issues) -> None:
    assert codes(issues) == {code}, [(i.code, i.message) for i in issues]
    for issue in issues:
        assert issue.severity == CATALOG[code][0]
        for value in PERSONAL_VALUES:
            assert value not in issue.message


def line_issues(drug: dict | None = None, exam: dict | None = None, **changes: str | None):
    return run(envelope([tables(drugs=[{**DRUG, **(drug or {})}], services=[{**EXAM, **(exam or {})}],
                                **changes)]))[0].issues


def test_minimal_record_is_clean():
    [result] = run(envelope([tables()]))
    assert result.accepted and result.issues == []
    claim = result.claim
    assert claim.standard == "130" and claim.t_bhtt == Decimal("37440.00") and claim.t_bhtt_gdv == Decimal("2940.00")
    assert [ln.table for ln in claim.lines] == ["XML2", "XML3"]
    assert claim.lines[1].item_code == "02.1896" and claim.lines[1].ma_pttt == "2"


# ---- contract codes (critical)

@pytest.mark.parametrize("changes", [
    {"MA_THE_BHYT": None}, {"NGAY_VAO": ""}, {"MA_CSKCB": "   "}, {"T_BHTT": None}, {"T_TONGCHI_BH": ""},
    {"MA_LK": None}, {"MA_BENH_CHINH": ""}, {"NAM_QT": None},
])
def test_missing_field(changes):
    issues = issues_of(**changes)
    only("missing_field", issues)
    assert issues[0].field == next(iter(changes))


def test_missing_field_on_a_line():
    issues = line_issues(drug={"SO_LUONG": None})
    only("missing_field", issues)
    assert (issues[0].table, issues[0].field) == ("XML2", "SO_LUONG")
    assert "STT 1" in issues[0].message


@pytest.mark.parametrize("card", [
    "GD791910000000", "GD7919100000001", "gd4919100000001", "GD49191000000A1", "G14919100000001", "",
    "GD4919100000001;DN49191",
])
def test_card_format(card):
    if card == "":
        only("missing_field", issues_of(MA_THE_BHYT=card))
        return
    issues = issues_of(MA_THE_BHYT=card, GT_THE_TU="20240101", GT_THE_DEN="20241231")
    only("card_format", issues)
    assert "9100000" not in issues[0].message  # the number itself is never echoed


def test_several_cards_each_checked_any_covering_the_visit():
    two = "GD4919100000001;HN2919100000001"
    assert issues_of(MA_THE_BHYT=two, GT_THE_TU="20240101;20240710", GT_THE_DEN="20240709;20241231") == []
    only("card_not_valid_on_date", issues_of(MA_THE_BHYT=two, GT_THE_TU="20240101;20240801",
                                             GT_THE_DEN="20240709;20241231"))


@pytest.mark.parametrize("tu, den", [("20240716", "20241231"), ("20230101", "20240714"), ("20250101", "20240101")])
def test_card_not_valid_on_date(tu, den):
    only("card_not_valid_on_date", issues_of(GT_THE_TU=tu, GT_THE_DEN=den))


def test_card_validity_must_be_readable():
    only("value_invalid", issues_of(GT_THE_TU="20240231"))
    only("value_invalid", issues_of(GT_THE_TU="20240101;20240601", GT_THE_DEN="20241231"))


def test_date_order():
    only("date_order", issues_of(NGAY_RA="202407150759"))
    issues = issues_of(NGAY_SINH="202501010000")
    only("date_order", issues)
    assert "2025" not in issues[0].message  # birth date is personal data


@pytest.mark.parametrize("code, valid", [
    ("A00.5", False), ("Z99.99", False), ("XYZ", False), ("J06.9*", True), ("j069", True), ("I10", True),
    ("J06", True), ("K29", True), ("E11.9", True),
])
def test_icd10_main(code, valid):
    issues = issues_of(MA_BENH_CHINH=code)
    if valid:
        assert issues == []
    else:
        only("icd10_invalid", issues)


def test_amount_mismatch_summary_and_tolerance():
    only("amount_mismatch", issues_of(T_BHTT="38440.00"))
    assert issues_of(T_TONGCHI_BV="37441.00", T_BHTT="37440.99", T_TONGCHI_BH="37440.99") == []
    only("amount_mismatch", issues_of(T_TONGCHI_BV="37441.01"))
    # T_BHTT_GDV (Σ T_BHTT of MA_PTTT = 1 lines; the drug line is fee for service) is a warning: real exporters write 0
    only("t_bhtt_gdv_mismatch", issues_of(T_BHTT_GDV="0.00"))
    only("t_bhtt_gdv_mismatch", issues_of(T_BHTT_GDV="40000.00"))  # above T_BHTT
    only("amount_mismatch", issues_of(T_BNCCT="100.00"))


@pytest.mark.parametrize("drug", [
    {"THANH_TIEN_BV": "3000.00"}, {"THANH_TIEN_BH": "1000.00"}, {"T_BHTT": "2000.00", "T_BNCCT": "940.00"},
    {"T_BNTT": "5.00"},
])
def test_amount_mismatch_on_a_line(drug):
    issues = line_issues(drug=drug)
    # a wrong THANH_TIEN_BV also leaves T_THUOC off: a warning beside the critical
    assert "amount_mismatch" in codes(issues)
    assert codes(issues) <= {"amount_mismatch", "subtotal_mismatch", "t_bhtt_gdv_mismatch"}
    assert any(i.table == "XML2" for i in issues)


def test_line_money_with_rates_and_other_sources_is_clean():
    # 50 % payment rate, 80 % benefit, a co-payment; above the low-cost threshold is not needed here.
    drug = {"TYLE_TT_BH": "50", "SO_LUONG": "10", "DON_GIA": "1680", "THANH_TIEN_BV": "16800.00",
            "THANH_TIEN_BH": "8400.00", "MUC_HUONG": "80", "T_BNTT": "8400.00", "T_BNCCT": "1680.00",
            "T_BHTT": "6720.00"}
    totals = {"T_THUOC": "16800.00", "T_TONGCHI_BV": "51300.00", "T_TONGCHI_BH": "42900.00", "T_BNTT": "8400.00",
              "T_BNCCT": "1680.00", "T_BHTT": "41220.00", "T_BHTT_GDV": "6720.00"}
    assert line_issues(drug=drug, **totals) == []
    # Other sources (5000): first off T_BNTT (8400 -> 3400), nothing left for T_BNCCT or T_BHTT.
    drug_other = {**drug, "T_NGUONKHAC": "5000.00", "T_BNTT": "3400.00"}
    assert line_issues(drug=drug_other, **{**totals, "T_BNTT": "3400.00", "T_NGUONKHAC": "5000.00"}) == []


def test_amount_negative():
    issues = line_issues(drug={"SO_LUONG": "-10", "THANH_TIEN_BV": "-2940.00", "THANH_TIEN_BH": "-2940.00",
                               "T_BHTT": "-2940.00"},
                         T_THUOC="-2940.00", T_TONGCHI_BV="31560.00", T_TONGCHI_BH="31560.00", T_BHTT="31560.00",
                         T_BHTT_GDV="-2940.00")
    only("amount_negative", issues)


@pytest.mark.parametrize("changes, field", [
    ({"T_TONGCHI_BV": "NaN"}, "T_TONGCHI_BV"), ({"T_BHTT": "undefined"}, "T_BHTT"),
    ({"T_TONGCHI_BH": "37440,00"}, "T_TONGCHI_BH"), ({"NGAY_VAO": "202402311200"}, "NGAY_VAO"),
    ({"GIOI_TINH": "9"}, "GIOI_TINH"), ({"THANG_QT": "13"}, "THANG_QT"), ({"MA_LOAI_KCB": "99"}, "MA_LOAI_KCB"),
    ({"NAM_QT": "24"}, "NAM_QT"), ({"MA_CSKCB": "9106"}, "MA_CSKCB"), ({"STT": "một"}, "STT"),
    ({"NGAY_SINH": "198002310000"}, "NGAY_SINH"), ({"MA_DKBD": "91060;9"}, "MA_DKBD"),
])
def test_value_invalid(changes, field):
    issues = issues_of(**changes)
    only("value_invalid", issues)
    assert issues[0].field == field
    if field not in PERSONAL_FIELDS:
        assert next(iter(changes.values()))[:10] in issues[0].message
    else:
        assert "19800231" not in issues[0].message


@pytest.mark.parametrize("drug", [
    {"SO_LUONG": "undefined"}, {"DON_GIA": "NaN"}, {"MUC_HUONG": "150"}, {"TYLE_TT_BH": "-5"}, {"MA_PTTT": "9"},
    {"NGAY_YL": "2024071508"},
])
def test_value_invalid_on_a_line(drug):
    only("value_invalid", line_issues(drug=drug))


def test_facility_mismatch():
    only("facility_mismatch", issues_of(MA_CSKCB="91001"))


def test_duplicate_claim_within_the_file_and_from_the_service():
    results = run(envelope([tables(), tables(), tables(MA_LK="LK0002")]))
    assert [r.accepted for r in results] == [True, False, True]
    only("duplicate_claim", results[1].issues)
    issue = duplicate_issue("LK0001")
    assert (issue.code, issue.severity, issue.ma_lk, issue.field) == ("duplicate_claim", "critical", "LK0001", "MA_LK")


def test_validate_does_not_change_the_context():
    reader = open_claim_file(io.BytesIO(envelope([tables()])))
    claim, _ = decode_record(next(reader), reader.header)
    ctx = ValidationContext(reader.header.facility)
    assert validate(claim, ctx) == [] and ctx.seen_in_file == set()
    ctx.seen_in_file.add("LK0001")
    only("duplicate_claim", validate(claim, ctx))


def test_good_records_survive_beside_bad_ones():
    records = [tables(MA_LK=f"LK{i}") for i in range(6)]
    records[1] = tables(MA_LK="LK1", T_BHTT="NaN")
    records[3] = [("XML1", "!!!"), *tables()[1:]]
    records[4] = tables(MA_LK="LK4", MA_THE_BHYT="XX")
    results = run(envelope(records))
    assert [r.accepted for r in results] == [True, False, True, False, False, True]


# ---- warnings

def test_icd_restrictions():
    only("icd_not_main_diagnosis", issues_of(MA_BENH_CHINH="B95.0"))
    only("icd_not_main_diagnosis", issues_of(MA_BENH_CHINH="G01*"))  # an asterisk code
    only("icd_sex_restricted", issues_of(MA_BENH_CHINH="N76.0"))  # female-only, the patient is male
    assert issues_of(MA_BENH_CHINH="N76.0", GIOI_TINH="2") == []
    only("icd_sex_restricted", issues_of(MA_BENH_KT="J00;N76.0"))
    issues = issues_of(MA_BENH_CHINH="P59.9")  # newborn jaundice, the patient is 44
    only("icd_age_restricted", issues)
    assert not re.search(r"\b44\b", issues[0].message)  # the age is not echoed
    assert issues_of(MA_BENH_CHINH="P59.9", NGAY_SINH="202406010000") == []
    assert issues_of(MA_BENH_CHINH="P59.9", NGAY_SINH="198000000000") == []  # partial birth date: not judged


def test_secondary_diagnoses():
    only("icd10_secondary_invalid", issues_of(MA_BENH_KT="J00;A00.5"))
    only("icd_secondary_too_many", issues_of(MA_BENH_KT=";".join(["J00", "I10", "K30", "R51", "B86", "L30.9", "H10.9",
                                                                   "E78.5", "J45.9", "K21.9", "M17.9", "K02.9",
                                                                   "A09"])))


def test_muc_huong_against_the_card():
    expensive = {"SO_LUONG": "2000", "THANH_TIEN_BV": "588000.00", "THANH_TIEN_BH": "588000.00",
                 "T_BHTT": "588000.00"}
    totals = {"T_THUOC": "588000.00", "T_TONGCHI_BV": "622500.00", "T_TONGCHI_BH": "622500.00",
              "T_BHTT": "622500.00", "T_BHTT_GDV": "588000.00"}
    # 622,500 ≥ 15 % of the base salary on 15/07/2024 (2,340,000 from 01/07/2024) → not a low-cost visit.
    issues = line_issues(drug=expensive, **totals)
    only("muc_huong_inconsistent", issues)
    assert "80%" in issues[0].message
    assert line_issues(drug=expensive, **totals, MA_THE_BHYT="HN2919100000001") == []  # 100 % card
    assert line_issues(drug=expensive, **totals, NGAY_MIEN_CCT="202401010000") == []  # exempt from co-payment
    data = envelope([tables(drugs=[{**DRUG, **expensive}], **totals)])
    assert run(data, commune_station=True)[0].issues == []  # 100 % at a commune station
    assert issues_of() == []  # low-cost visit: 100 % whatever the card


def test_dates_warnings():
    only("settlement_before_visit", issues_of(THANG_QT="6"))
    assert issues_of(THANG_QT="8") == []
    only("line_date_outside_visit", line_issues(drug={"NGAY_YL": "202407160810"}))
    only("treatment_days_mismatch", issues_of(SO_NGAY_DTRI="3"))
    assert issues_of(MA_LOAI_KCB="06", NGAY_RA="202407170845", SO_NGAY_DTRI="3") == []


def test_subtotal_and_link_warnings():
    only("subtotal_mismatch", issues_of(T_THUOC="5000.00"))
    only("ma_lk_mismatch", line_issues(drug={"MA_LK": "LK9999"}))
    x5 = b"<CHI_TIET_DIEN_BIEN><MA_LK>OTHER</MA_LK></CHI_TIET_DIEN_BIEN>"
    [result] = run(envelope([[*tables(), ("XML5", x5)]]))
    only("ma_lk_mismatch", result.issues)
    assert result.accepted and result.claim.other_tables == {"XML5": x5}


def test_qd4210_record():
    x1 = {k: v for k, v in XML1.items() if k not in ("MA_THE_BHYT", "T_TONGCHI_BV", "T_TONGCHI_BH", "T_BHTT_GDV",
                                                    "MA_BENH_CHINH", "MA_BENH_KT")}
    x1.update({"MA_THE": "GD4919100000001", "T_TONGCHI": "37440.00", "MA_BENH": "J06.9", "MA_BENHKHAC": "I10",
               "NGAY_SINH": "19800505"})
    old = {"THANH_TIEN_BV": "THANH_TIEN", "TYLE_TT_BH": "TYLE_TT"}
    drug = {old.get(k, k): v for k, v in DRUG.items() if k != "THANH_TIEN_BH"}
    exam = {old.get(k, k): v for k, v in EXAM.items() if k not in ("THANH_TIEN_BH", "DON_GIA_BH", "TYLE_TT_DV")}
    exam["DON_GIA"] = exam.pop("DON_GIA_BV")
    [result] = run(envelope([tables(x1=x1, drugs=[drug], services=[exam])]))
    assert result.accepted and result.issues == []
    claim = result.claim
    assert claim.standard == "4210" and claim.ma_the_bhyt == "GD4919100000001"
    assert claim.t_tongchi_bh == claim.t_tongchi_bv == Decimal("37440.00")
    assert claim.t_bhtt_gdv == Decimal("2940.00")  # derived: Σ T_BHTT of MA_PTTT = 1
    assert claim.ma_benh_kt == ["I10"]
    [bad] = run(envelope([tables(x1={**x1, "T_TONGCHI": "1.00", "MA_THE": "GD9"}, drugs=[drug], services=[exam])]))
    assert codes(bad.issues) == {"amount_mismatch", "card_format"}
    assert {i.field for i in bad.issues} == {"T_TONGCHI", "MA_THE"}


def test_catalog_is_complete_and_well_formed():
    assert all(sev in ("critical", "warning") for sev, _ in CATALOG.values())
    contract = {"xml_malformed", "envelope_invalid", "record_unreadable", "missing_field", "card_format",
                "card_not_valid_on_date", "date_order", "icd10_invalid", "amount_mismatch", "amount_negative",
                "value_invalid", "facility_mismatch", "duplicate_claim"}
    assert contract <= set(CATALOG)
    assert all(CATALOG[c][0] == "critical" for c in contract)
    assert all(CATALOG[c][0] == "warning" for c in set(CATALOG) - contract)
    for code, (_, template) in CATALOG.items():
        assert re.fullmatch(r"[a-z0-9_]+", code)
        assert template and not template.isascii()  # Vietnamese
