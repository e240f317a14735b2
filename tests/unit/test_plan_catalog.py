"""The plan catalog must say what the documents say.

The documents are the verbatim copies in services/common/reference/plans/sources/ (checked against
../shared/seeds when that folder exists). Everything the YAML files state is checked against them:
codes, titles, texts, targets and their quotes, agency assignments and funding sources.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import re
import unicodedata
from importlib import resources
from pathlib import Path

import pytest
import yaml

from services.common import catalog
from services.common.catalog import (
    Plan,
    check_catalog,
    district_plans_of,
    get_plan,
    load_plans,
    plan_from_dict,
)

REPO = Path(__file__).resolve().parents[2]
SEEDS = REPO.parent / "shared" / "seeds"
SEED_OF_SOURCE = {
    "sources/158-KH-UBND.txt": "000_cd9f829e1908a192.txt",
    "sources/34-KH-UBND.txt": "001_d173dd4c165f250c.txt",
}


def normalize(text: str) -> str:
    """NFC, markdown bold removed, whitespace collapsed (page breaks and hard line breaks vanish)."""
    text = unicodedata.normalize("NFC", text).replace("**", "")
    return " ".join(text.split())


def fold(text: str) -> str:
    return normalize(text).casefold()


@pytest.fixture(scope="module")
def plans() -> list[Plan]:
    return load_plans()


@pytest.fixture(scope="module")
def province() -> Plan:
    return get_plan(1)


@pytest.fixture(scope="module")
def district() -> Plan:
    return get_plan(2)


BOTH = pytest.mark.parametrize("plan_id", [1, 2], ids=["158-KH-UBND", "34-KH-UBND"])

# --------------------------------------------------------------------------- plan headers


def test_both_plans_load(plans: list[Plan]) -> None:
    assert [p.id for p in plans] == [1, 2]
    assert [p.number for p in plans] == ["158/KH-UBND", "34/KH-UBND"]


def test_province_header(province: Plan) -> None:
    assert province.number == "158/KH-UBND"
    assert province.date == dt.date(2018, 10, 22)
    assert province.issuer == "UBND tỉnh Kiên Giang"
    assert province.level == "province"
    assert province.unit == "91"
    assert province.parent_number is None
    assert (province.period_from, province.period_to) == (2018, 2025)
    assert province.implements == "2348/QĐ-TTg"
    assert province.source == "sources/158-KH-UBND.txt"


def test_district_header(district: Plan) -> None:
    assert district.number == "34/KH-UBND"
    assert district.date == dt.date(2019, 3, 19)
    assert district.issuer == "UBND huyện Vĩnh Thuận"
    assert district.level == "district"
    assert district.unit == "910"
    assert district.parent_number == "158/KH-UBND"
    assert (district.period_from, district.period_to) == (2019, 2025)
    assert district.implements == "2348/QĐ-TTg"
    assert district.source == "sources/34-KH-UBND.txt"


def test_header_facts_come_from_the_documents(province: Plan, district: Plan) -> None:
    p_src, d_src = normalize(province.source_text()), normalize(district.source_text())
    # The province document does not print its own number and date; the district plan cites them.
    assert "Căn cứ Kế hoạch số 158/KH-UBND, ngày 22/10/2018 của UBND tỉnh Kiên Giang" in d_src
    assert "Số: 34 /KH-UBND" in d_src
    assert "Vĩnh Thuận, ngày 19 tháng 3 năm 2019" in d_src
    assert "Quyết định số 2348/QĐ-TTg ngày 05/12/2016" in p_src
    assert "Ủy ban nhân dân tỉnh Kiên Giang xây dựng kế hoạch" in p_src
    assert "Ủy ban nhân dân huyện xây dựng kế hoạch" in d_src
    for plan in (province, district):
        assert fold(plan.title) in fold(plan.source_text()), plan.number
        assert plan.title.endswith("giai đoạn đến năm 2025")


def test_district_plans_of(province: Plan, district: Plan) -> None:
    assert district_plans_of(1) == [district]
    assert district_plans_of(2) == []
    assert catalog.get_plan_by_number("158/KH-UBND") is province
    with pytest.raises(KeyError):
        get_plan(99)
    with pytest.raises(KeyError):
        district_plans_of(99)


# --------------------------------------------------------------------------- codes and structure

PROVINCE_CODES = [
    "I", "I.1", "I.2", "I.2.a", "I.2.b",
    "II", "II.1", "II.2", "II.2.1", "II.2.2", "II.2.3", "II.2.4", "II.2.5", "II.2.6", "II.3", "II.4", "II.5",
    "III",
    "IV", "IV.1", "IV.2", "IV.3", "IV.4", "IV.5", "IV.6", "IV.7", "IV.8",
    "V",
]  # fmt: skip
DISTRICT_CODES = [
    "I", "I.1", "I.2", "I.2.a", "I.2.b",
    "II", "II.1", "II.2", "II.2.1", "II.2.2", "II.2.3", "II.2.4", "II.2.5", "II.2.6", "II.3", "II.4", "II.5",
    "III",
    "IV", "IV.1", "IV.2", "IV.3", "IV.4", "IV.5", "IV.6", "IV.7",
    "V",
]  # fmt: skip

PROVINCE_TITLES = {
    "I": "Mục tiêu",
    "I.1": "Mục tiêu chung",
    "I.2": "Mục tiêu cụ thể",
    "I.2.a": "Đến năm 2020",
    "I.2.b": "Đến năm 2025",
    "II": "Nhiệm vụ và giải pháp thực hiện Đề án",
    "II.1": "Củng cố, hoàn thiện tổ chức mạng lưới y tế cơ sở",
    "II.2": "Đổi mới, nâng cao hiệu quả hoạt động của y tế cơ sở",
    "II.2.1": "Truyền thông giáo dục và nâng cao sức khỏe",
    "II.2.2": "Lập và quản lý hồ sơ sức khỏe cá nhân",
    "II.2.3": "Về công tác dân số",
    "II.2.4": "Công tác y tế dự phòng",
    "II.2.5": "Công tác khám bệnh, chữa bệnh",
    "II.2.6": "Công tác dược và y, dược cổ truyền",
    "II.3": "Tăng cường đào tạo và nâng cao chất lượng nguồn nhân lực",
    "II.4": "Đảm bảo tài chính cho mạng lưới y tế cơ sở gắn với bảo hiểm y tế toàn dân",
    "II.5": "Tiếp tục đầu tư để hoàn thiện, nâng cao năng lực hệ thống y tế cơ sở",
    "III": "Kinh phí thực hiện",
    "IV": "Tổ chức thực hiện",
    "IV.1": "Sở Y tế",
    "IV.2": "Sở Nội vụ",
    "IV.3": "Sở Kế hoạch và Đầu tư",
    "IV.4": "Sở Tài chính",
    "IV.5": "Văn phòng Điều phối Chương trình xây dựng nông thôn mới tỉnh",
    "IV.6": "Sở Thông tin và Truyền thông",
    "IV.7": "Bảo hiểm xã hội tỉnh",
    "IV.8": "UBND các huyện, thị xã, thành phố",
    "V": "Thông tin, báo cáo",
}
DISTRICT_TITLES = {
    **{code: title for code, title in PROVINCE_TITLES.items() if not code.startswith("IV.")},
    "II.4": "Đảm bảo tài chính cho mạng lưới y tế gắn với bảo hiểm y tế toàn dân",
    "IV.1": "Trung tâm Y tế huyện",
    "IV.2": "Phòng Nội vụ",
    "IV.3": "Phòng Tài chính – Kế hoạch",
    "IV.4": "Văn phòng Điều phối Chương trình xây dựng nông thôn mới huyện",
    "IV.5": "Phòng Văn hóa và Thông tin",
    "IV.6": "Bảo hiểm xã hội huyện",
    "IV.7": "UBND các xã, thị trấn",
}

EXPECTED_KINDS = {
    "I": "section", "I.1": "objective", "I.2": "objective", "I.2.a": "target", "I.2.b": "target",
    "II": "section", "III": "funding", "IV": "section", "V": "reporting",
}  # fmt: skip


def test_codes_province(province: Plan) -> None:
    assert province.codes == PROVINCE_CODES


def test_codes_district(district: Plan) -> None:
    assert district.codes == DISTRICT_CODES


@pytest.mark.parametrize(("plan_id", "titles"), [(1, PROVINCE_TITLES), (2, DISTRICT_TITLES)])
def test_titles(plan_id: int, titles: dict[str, str]) -> None:
    plan = get_plan(plan_id)
    assert {item.code: item.title for item in plan.items} == titles


@BOTH
def test_kinds(plan_id: int) -> None:
    plan = get_plan(plan_id)
    for item in plan.items:
        if item.code in EXPECTED_KINDS:
            expected = EXPECTED_KINDS[item.code]
        elif item.code.startswith("II."):
            expected = "task"
        else:
            assert item.code.startswith("IV."), item.code
            expected = "organisation"
        assert item.kind == expected, item.code


@BOTH
def test_ii4_and_ii5_exist(plan_id: int) -> None:
    plan = get_plan(plan_id)
    assert plan.item("II.4").parent_code == "II"
    assert "bảo hiểm y tế toàn dân" in plan.item("II.4").title
    assert plan.item("II.5").parent_code == "II"
    assert "đầu tư" in plan.item("II.5").title


@BOTH
def test_parent_child_structure(plan_id: int) -> None:
    plan = get_plan(plan_id)
    assert [i.code for i in plan.children(None)] == ["I", "II", "III", "IV", "V"]
    assert [i.code for i in plan.children("I")] == ["I.1", "I.2"]
    assert [i.code for i in plan.children("I.2")] == ["I.2.a", "I.2.b"]
    assert [i.code for i in plan.children("II")] == ["II.1", "II.2", "II.3", "II.4", "II.5"]
    assert [i.code for i in plan.children("II.2")] == [f"II.2.{n}" for n in range(1, 7)]
    n_agencies = 8 if plan.level == "province" else 7
    assert [i.code for i in plan.children("IV")] == [f"IV.{n}" for n in range(1, n_agencies + 1)]
    assert plan.children("III") == [] and plan.children("V") == []
    for item in plan.items:
        if item.parent_code is None:
            assert "." not in item.code
        else:
            assert item.code.rsplit(".", 1)[0] == item.parent_code
            assert plan.codes.index(item.parent_code) < plan.codes.index(item.code)


@BOTH
def test_descendants(plan_id: int) -> None:
    plan = get_plan(plan_id)
    assert plan.descendants("I") == ["I", "I.1", "I.2", "I.2.a", "I.2.b"]
    assert plan.descendants("I.2") == ["I.2", "I.2.a", "I.2.b"]
    assert plan.descendants("II.2") == ["II.2"] + [f"II.2.{n}" for n in range(1, 7)]
    assert plan.descendants("II") == [c for c in plan.codes if c == "II" or c.startswith("II.")]
    assert plan.descendants("II.2.4") == ["II.2.4"]
    assert plan.descendants("III") == ["III"]
    assert plan.descendants("V") == ["V"]
    assert sum(len(plan.descendants(i.code)) for i in plan.children(None)) == len(plan.items)
    with pytest.raises(KeyError):
        plan.descendants("VI")
    with pytest.raises(KeyError):
        plan.item("II.6")


# --------------------------------------------------------------------------- text against the source


@BOTH
def test_every_title_is_in_the_source(plan_id: int) -> None:
    plan = get_plan(plan_id)
    source = fold(plan.source_text())
    for item in plan.items:
        assert fold(item.title) in source, (
            f"{plan.number} {item.code}: title {item.title!r} not in the source"
        )


@BOTH
def test_every_text_is_in_the_source(plan_id: int) -> None:
    plan = get_plan(plan_id)
    source = normalize(plan.source_text())
    for item in plan.items:
        assert "**" not in item.text, item.code
        assert normalize(item.text) in source, f"{plan.number} {item.code}: text is not verbatim"


# Between two items only heading debris may remain: a colon, markdown '#', and a number or letter.
HEADING_GAP = re.compile(r"\s*:?\s*(#+\s*)?(([ivx]+|\d+(\.\d+)*|[a-z])[.)])?\s*")
TITLE_TEXT_GAP = re.compile(r"\s*:?\s*")


@BOTH
def test_items_cover_the_whole_document_in_order(plan_id: int) -> None:
    """Walking titles and texts in YAML order consumes the document from 'như sau:' to 'Nơi nhận'."""
    plan = get_plan(plan_id)
    source = fold(plan.source_text())
    cursor = source.index("như sau:") + len("như sau:")
    for item in plan.items:
        title = fold(item.title)
        at = source.find(title, cursor)
        assert at >= 0, f"{item.code}: title not found after position {cursor}"
        gap = source[cursor:at]
        assert HEADING_GAP.fullmatch(gap), f"{item.code}: uncovered document text before the title: {gap!r}"
        cursor = at + len(title)
        if item.text:
            text = fold(item.text)
            at = source.find(text, cursor)
            assert at >= 0, f"{item.code}: text not found after its title"
            gap = source[cursor:at]
            assert TITLE_TEXT_GAP.fullmatch(gap), f"{item.code}: uncovered text before the body: {gap!r}"
            cursor = at + len(text)
    assert re.match(r"\s*/\.?\s*(#+\s*)?nơi nhận", source[cursor:]), source[cursor : cursor + 80]


# --------------------------------------------------------------------------- targets

# (item code, key, year) -> (value, comparison)
PROVINCE_TARGETS = {
    ("I.2.a", "stations_bhyt_eligible", 2020): (90, ">="),
    ("I.2.a", "stations_technical_services", 2020): (70, ">="),
    ("I.2.a", "communes_national_health_criteria", 2020): (85, ">="),
    ("I.2.a", "population_health_managed", 2020): (80, ">="),
    ("I.2.a", "stations_difficult_communes_invested", 2020): (None, "="),
    ("I.2.a", "stations_with_doctor", 2020): (80, ">="),
    ("I.2.a", "doctors_family_medicine_trained", 2020): (20, ">"),
    ("I.2.a", "district_centres_technical_services_share", 2020): (80, ">"),
    ("I.2.a", "district_centres_technical_services", 2020): (70, ">="),
    ("I.2.b", "stations_bhyt_eligible", 2025): (100, "="),
    ("I.2.b", "stations_technical_services", 2025): (90, ">="),
    ("I.2.b", "communes_national_health_criteria", 2025): (100, "="),
    ("I.2.b", "population_health_managed", 2025): (100, "="),
    ("I.2.b", "stations_with_doctor", 2025): (100, ">="),
    ("I.2.b", "doctors_family_medicine_trained", 2025): (50, ">"),
    ("I.2.b", "district_centres_technical_services_share", 2025): (100, "="),
    ("I.2.b", "district_centres_technical_services", 2025): (90, ">="),
    ("II.3", "stations_with_doctor", None): (100, "="),
}
DISTRICT_TARGETS = {
    ("I.2.a", "stations_bhyt_eligible", 2020): (90, ">="),
    ("I.2.a", "stations_technical_services", 2020): (70, ">="),
    ("I.2.a", "communes_national_health_criteria", 2020): (100, "="),
    ("I.2.a", "population_health_managed", 2020): (80, ">="),
    ("I.2.a", "stations_with_doctor", 2020): (80, ">="),
    ("I.2.a", "doctors_family_medicine_trained", 2020): (20, ">"),
    ("I.2.a", "district_centres_technical_services", 2020): (70, ">="),
    ("I.2.b", "stations_bhyt_eligible", 2025): (100, "="),
    ("I.2.b", "stations_technical_services", 2025): (90, ">="),
    ("I.2.b", "communes_national_health_criteria", 2025): (100, "="),
    ("I.2.b", "population_health_managed", 2025): (100, "="),
    ("I.2.b", "stations_with_doctor", 2025): (100, ">="),
    ("I.2.b", "doctors_family_medicine_trained", 2025): (50, ">"),
    ("I.2.b", "district_centres_technical_services", 2025): (90, ">="),
}
# Keys other services rely on (the investment service computes the first two from its station register).
SHARED_KEYS = {
    "stations_bhyt_eligible",
    "communes_national_health_criteria",
    "population_health_managed",
    "stations_with_doctor",
    "doctors_family_medicine_trained",
    "district_centres_technical_services",
    "stations_technical_services",
}


@pytest.mark.parametrize(("plan_id", "expected"), [(1, PROVINCE_TARGETS), (2, DISTRICT_TARGETS)])
def test_targets_are_the_expected_ones(plan_id: int, expected: dict) -> None:
    plan = get_plan(plan_id)
    actual = {(item.code, t.key, t.year): (t.value, t.comparison) for item, t in plan.targets()}
    assert len(actual) == len(plan.targets())
    assert actual == expected


def test_shared_keys_in_both_plans_and_years(province: Plan, district: Plan) -> None:
    for plan in (province, district):
        for code, year in (("I.2.a", 2020), ("I.2.b", 2025)):
            targets = plan.item(code).targets
            assert {t.key for t in targets} >= SHARED_KEYS, (plan.number, code)
            assert all(t.year == year for t in targets)
    # In these two documents the district never asks less than the province, indicator by indicator.
    for (code, key, year), (value, _) in DISTRICT_TARGETS.items():
        p_value, _ = PROVINCE_TARGETS[(code, key, year)]
        assert value >= p_value, (key, year)


def _expected_comparison(quote: str, value: float) -> str:
    q = fold(quote)
    m = re.search(rf"(?<![\d.,]){value:g}%", q)
    assert m, f"value {value:g}% not in quote {quote!r}"
    before, after = q[: m.start()].rstrip(), q[m.end() :]
    if before.endswith("trên"):
        return ">"
    if before.endswith(("ít nhất", "tối thiểu", "phấn đấu", "phần đầu")) or "trở lên" in after:
        return ">="
    return "="


@BOTH
def test_target_quotes_values_and_comparisons(plan_id: int) -> None:
    plan = get_plan(plan_id)
    source = normalize(plan.source_text())
    assert plan.targets()
    for item, target in plan.targets():
        where = f"{plan.number} {item.code} {target.key} {target.year}"
        assert re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)*", target.key), where
        assert normalize(target.quote) == target.quote, where
        assert target.quote in source, f"{where}: quote not in the source"
        assert target.quote in normalize(item.text), f"{where}: quote not in the item's own text"
        assert target.indicator.strip(), where
        assert target.year is None or plan.period_from <= target.year <= plan.period_to, where
        if target.value is None:
            assert target.unit == "completion", where
            assert "hoàn thành" in fold(target.quote), where
        else:
            assert target.unit == "percent", where
            assert 0 < target.value <= 100, where
            assert target.comparison == _expected_comparison(target.quote, target.value), where


@BOTH
def test_target_year_matches_its_heading(plan_id: int) -> None:
    plan = get_plan(plan_id)
    for code, year in (("I.2.a", 2020), ("I.2.b", 2025)):
        assert plan.item(code).title == f"Đến năm {year}"
        assert {t.year for t in plan.item(code).targets} == {year}


# --------------------------------------------------------------------------- agencies (section IV)

SYT, SNV, SKHDT, STC = "Sở Y tế", "Sở Nội vụ", "Sở Kế hoạch và Đầu tư", "Sở Tài chính"
UBND_H = "UBND các huyện, thị xã, thành phố"
TTYT, PNV, PTCKH, UBND_HUYEN = (
    "Trung tâm Y tế huyện",
    "Phòng Nội vụ",
    "Phòng Tài chính – Kế hoạch",
    "Ủy ban nhân dân huyện",
)

# code -> (lead_agency, co_agencies) for sections I-III and V; IV.n items carry their own agency.
PROVINCE_AGENCIES: dict[str, tuple[str | None, tuple[str, ...]]] = {
    **{code: (SYT, ()) for code in ("I", "I.1", "I.2", "I.2.a", "I.2.b")},  # "các mục tiêu"
    **{code: (SYT, ()) for code in ["II.2"] + [f"II.2.{n}" for n in range(1, 7)]},  # khoản 2
    "II": (None, ()),
    "II.1": (None, (SYT, UBND_H, SKHDT, STC, SNV)),  # IV.1 second bullet
    "II.3": (SYT, ()),
    "II.4": (SYT, ()),
    "II.5": (SKHDT, (STC, SYT, UBND_H, SNV)),  # IV.3 (chủ trì), IV.4, IV.1
    "III": (None, ()),
    "V": (None, ()),
}
DISTRICT_AGENCIES: dict[str, tuple[str | None, tuple[str, ...]]] = {
    **{code: (TTYT, ()) for code in ("I", "I.1", "I.2", "I.2.a", "I.2.b")},
    **{code: (TTYT, ()) for code in ["II.2"] + [f"II.2.{n}" for n in range(1, 7)]},
    "II": (None, ()),
    "II.1": (None, (TTYT, UBND_HUYEN, PTCKH, PNV)),  # IV.1: TTYT tham mưu ... khoản 1, khoản 5
    "II.3": (TTYT, ()),
    "II.4": (TTYT, ()),
    "II.5": (None, (TTYT, UBND_HUYEN, PTCKH, PNV)),  # IV.1 and IV.3; nobody chủ trì khoản 5
    "III": (None, ()),
    "V": (None, ()),
}


@pytest.mark.parametrize(("plan_id", "expected"), [(1, PROVINCE_AGENCIES), (2, DISTRICT_AGENCIES)])
def test_agency_assignments(plan_id: int, expected: dict) -> None:
    plan = get_plan(plan_id)
    actual = {i.code: (i.lead_agency, i.co_agencies) for i in plan.items if not i.code.startswith("IV")}
    assert actual == expected
    assert plan.item("IV").lead_agency is None and plan.item("IV").co_agencies == ()
    for item in plan.children("IV"):
        assert item.lead_agency == item.title
        assert item.co_agencies == ()


@BOTH
def test_agencies_are_named_as_in_the_document(plan_id: int) -> None:
    plan = get_plan(plan_id)
    source = normalize(plan.source_text())
    agency_titles = {i.title for i in plan.children("IV")}
    for item in plan.items:
        for agency in filter(None, (item.lead_agency, *item.co_agencies)):
            assert agency in source, f"{item.code}: {agency!r} is not in the source"
        if item.lead_agency is not None:
            assert item.lead_agency in agency_titles, item.code


@BOTH
def test_leads_follow_the_chu_tri_clause(plan_id: int) -> None:
    """IV.1 names the lead for the objectives and khoản 2, 3, 4 of section II, in both documents."""
    plan = get_plan(plan_id)
    iv1 = plan.item("IV.1")
    assert "Chủ trì thực hiện các mục tiêu và khoản 2, khoản 3, khoản 4, phần II" in iv1.text
    assert "khoản 1, khoản 5, phần II" in iv1.text
    for code in ["I", "II.2", "II.3", "II.4"]:
        for sub in plan.descendants(code):
            assert plan.item(sub).lead_agency == iv1.title, sub


# --------------------------------------------------------------------------- funding sources (section III)


def test_funding_sources(province: Plan, district: Plan) -> None:
    assert [f.code for f in province.item("III").funding_sources] == [
        "provincial_budget", "ntp_nrd", "ntp_health_population", "bhyt_surplus_20",
        "oda_aid", "socialization", "other",
    ]  # fmt: skip
    assert [f.code for f in district.item("III").funding_sources] == [
        "provincial_budget", "ntp_nrd", "ntp_health_population", "oda_aid", "socialization", "other",
    ]  # fmt: skip
    assert "20%" not in district.item("III").text
    for plan in (province, district):
        text = normalize(plan.item("III").text)
        for source in plan.item("III").funding_sources:
            assert source.code in catalog.FUNDING_SOURCE_CODES
            assert source.quote in text, (plan.number, source.code)
        assert all(not i.funding_sources for i in plan.items if i.code != "III")


@BOTH
def test_reporting_deadline(plan_id: int) -> None:
    assert "gửi báo cáo về Sở Y tế trước ngày 30 tháng 11 hàng năm" in get_plan(plan_id).item("V").text


# --------------------------------------------------------------------------- source copies


@pytest.mark.parametrize("source", sorted(SEED_OF_SOURCE))
def test_source_copies_equal_the_seeds(source: str) -> None:
    seed = SEEDS / SEED_OF_SOURCE[source]
    if not seed.is_file():
        pytest.skip(f"{seed} not available")
    copy_bytes = resources.files(catalog.PLANS_PACKAGE).joinpath(source).read_bytes()
    assert copy_bytes == seed.read_bytes()


def test_every_plan_has_its_source(plans: list[Plan]) -> None:
    assert sorted(p.source for p in plans) == sorted(SEED_OF_SOURCE)


# --------------------------------------------------------------------------- validation


def _raw(name: str = "158-KH-UBND.yaml") -> dict:
    return yaml.safe_load(resources.files(catalog.PLANS_PACKAGE).joinpath(name).read_text("utf-8"))


def _item(raw: dict, code: str) -> dict:
    return next(i for i in raw["items"] if i["code"] == code)


def test_raw_files_round_trip(province: Plan, district: Plan) -> None:
    assert plan_from_dict(_raw("158-KH-UBND.yaml")) == province
    assert plan_from_dict(_raw("34-KH-UBND.yaml")) == district


def test_rejects_duplicate_codes() -> None:
    raw = _raw()
    raw["items"].append(copy.deepcopy(_item(raw, "V")))
    with pytest.raises(ValueError, match="duplicate item code 'V'"):
        plan_from_dict(raw)


def test_rejects_missing_parent() -> None:
    raw = _raw()
    _item(raw, "II.2.4")["parent_code"] = "II.9"
    with pytest.raises(ValueError, match="parent_code 'II.9', which does not exist"):
        plan_from_dict(raw)


def test_rejects_parent_that_is_not_a_prefix() -> None:
    raw = _raw()
    _item(raw, "II.2.4")["parent_code"] = "II.3"
    with pytest.raises(ValueError, match="not a direct sub-item"):
        plan_from_dict(raw)
    raw = _raw()
    _item(raw, "II.2.4")["parent_code"] = "II"
    with pytest.raises(ValueError, match="not a direct sub-item"):
        plan_from_dict(raw)


def test_rejects_child_before_parent() -> None:
    raw = _raw()
    items = raw["items"]
    i = next(n for n, item in enumerate(items) if item["code"] == "II.2")
    items[i], items[i + 1] = items[i + 1], items[i]
    with pytest.raises(ValueError, match="comes before its parent 'II.2'"):
        plan_from_dict(raw)


def test_rejects_dotted_code_without_parent() -> None:
    raw = _raw()
    _item(raw, "II.2.4")["parent_code"] = None
    with pytest.raises(ValueError, match="not top-level"):
        plan_from_dict(raw)


def test_rejects_bad_kind_comparison_and_year() -> None:
    raw = _raw()
    _item(raw, "II.4")["kind"] = "budget"
    with pytest.raises(ValueError, match="unknown kind"):
        plan_from_dict(raw)
    raw = _raw()
    _item(raw, "I.2.a")["targets"][0]["comparison"] = "about"
    with pytest.raises(ValueError, match="unknown comparison"):
        plan_from_dict(raw)
    raw = _raw()
    _item(raw, "I.2.a")["targets"][0]["year"] = 2030
    with pytest.raises(ValueError, match="outside the plan period"):
        plan_from_dict(raw)
    raw = _raw()
    _item(raw, "I.2.a")["targets"][0]["value"] = None
    with pytest.raises(ValueError, match="null only for unit 'completion'"):
        plan_from_dict(raw)


def test_rejects_duplicate_ids_and_unknown_parent_plan(province: Plan, district: Plan) -> None:
    with pytest.raises(ValueError, match="duplicate plan id 1"):
        check_catalog([province, dataclasses.replace(district, id=1)])
    with pytest.raises(ValueError, match="duplicate plan number"):
        check_catalog([province, dataclasses.replace(district, number="158/KH-UBND")])
    with pytest.raises(ValueError, match="is not in the catalog"):
        check_catalog([province, dataclasses.replace(district, parent_number="999/KH-UBND")])
    with pytest.raises(ValueError, match="needs a parent_number"):
        check_catalog([province, dataclasses.replace(district, parent_number=None)])
    check_catalog([province, district])


def test_plans_are_frozen(province: Plan) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        province.number = "x"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        province.item("I").title = "x"  # type: ignore[misc]
    assert isinstance(province.items, tuple)
    assert isinstance(province.item("II.1").co_agencies, tuple)
