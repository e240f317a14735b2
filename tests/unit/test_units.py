from datetime import date

from services.common import units


def test_base_list_has_15_districts_and_145_communes():
    assert len(units.districts()) == 15
    assert len(units.base_communes()) == 145
    assert len({c.code for c in units.base_communes()}) == 145


def test_vinh_thuan_merger_successors_from_1_july_2025():
    vt = [c for c in units.base_communes() if c.district == "910"]
    assert len(vt) == 8
    assert all(c.valid_to == date(2025, 6, 30) for c in vt)
    assert units.successor_on("31060", date(2025, 6, 30)) == "31060"
    assert units.successor_on("31060", date(2025, 7, 1)) == "31064"
    assert units.successor_on("31072", date(2026, 1, 1)) == "31069"
    assert units.successor_on("31074", date(2025, 7, 1)) == "31051"
    after = {c.code for c in units.communes_on(date(2025, 7, 1)) if c.district == "910"}
    assert after == {"31064", "31069", "31051"}


def test_code_reuse_keeps_both_versions():
    versions = [c for c in units.communes() if c.code == "31064"]
    assert [(c.name, c.valid_from) for c in sorted(versions, key=lambda c: c.valid_from)] == [
        ("Xã Bình Minh", date(2019, 12, 1)),
        ("Xã Vĩnh Bình", date(2025, 7, 1)),
    ]


def test_hon_thom_joins_an_thoi():
    assert units.successor_on("31099", date(2020, 12, 31)) == "31099"
    assert units.successor_on("31099", date(2021, 2, 1)) == "31081"
    assert len(units.communes_on(date(2024, 6, 11))) == 144  # the GSO list of that day


def test_scoping():
    assert units.within(None, "30730")
    assert units.within("91", "31060")
    assert units.within("910", "31060")
    assert not units.within("910", "30730")
    assert not units.within("31060", "910")
    assert units.level_of("910") == "district" and units.level_of("31060") == "commune"
    assert units.units_within("910") == {"910", "31051", "31060", "31063", "31064", "31069", "31072", "31074", "31075"}


# --------------------------------------------------------------------------- the 2025 map


def test_all_144_communes_become_48_units_on_1_july_2025():
    before = units.communes_on(date(2025, 6, 30))
    after = units.communes_on(date(2025, 7, 1))
    assert len(before) == 143  # 144 of 2024, less Vĩnh Thanh Vân joined to Vĩnh Bảo on 01/01/2025
    assert len(after) == 48
    kinds = sorted(c.kind for c in after)
    assert (kinds.count("Xã"), kinds.count("Phường"), kinds.count("Đặc khu")) == (41, 4, 3)
    assert all(c.valid_to == date(2025, 6, 30) for c in before)
    # Every 2024 commune has a successor in force on 01/7/2025.
    now = {c.code for c in after}
    assert {units.successor_on(c.code, date(2025, 7, 1)) for c in before} == now


def test_province_keeps_code_91_and_districts_end():
    assert units.unit_on("91", date(2025, 6, 30)).name == "Tỉnh Kiên Giang"
    assert units.unit_on("91", date(2025, 7, 1)).name == "Tỉnh An Giang"
    assert units.unit_on("910", date(2025, 6, 30)).level == "district"
    assert units.unit_on("910", date(2025, 7, 1)) is None
    assert units.successor_on("910", date(2025, 7, 1)) == "91"


def test_reused_code_31051_resolved_by_date():
    assert units.unit_on("31051", date(2025, 6, 30)).name == "Thị trấn Vĩnh Thuận"
    assert units.unit_on("31051", date(2025, 7, 1)).name == "Xã Vĩnh Phong"
    assert units.unit_on("31051", date(2019, 1, 1)).name == "Thị trấn Vĩnh Thuận"  # the base list counts before it
    # 20 communes' codes now name a different place (a town that only became a xã is the same place).
    def place(name: str) -> str:
        return name.split(" ", 2)[-1] if name.startswith(("Thị trấn", "Thị Trấn", "Đặc khu")) else name.split(" ", 1)[1]

    changed = [
        code for code, vs in units.unit_versions().items()
        if vs[-1].level == "commune" and vs[-1].valid_from == date(2025, 7, 1)
        and place(vs[-2].name) != place(vs[-1].name)
    ]
    assert len(changed) == 20 and "31051" in changed and "30787" not in changed


def test_every_new_unit_reuses_the_code_of_a_commune_it_absorbed():
    for c in units.communes_on(date(2025, 7, 1)):
        assert c.code in units.predecessors(c.code, date(2025, 7, 1))
        assert units.successor_on(c.code, date(2025, 6, 30)) == c.code


def test_interim_2025_rach_gia_ward():
    assert units.successor_on("30730", date(2024, 12, 31)) == "30730"
    assert units.successor_on("30730", date(2025, 1, 1)) == "30742"
    assert units.unit_on("30742", date(2025, 3, 1)).name == "Phường Vĩnh Thanh Vân"
    assert units.unit_on("30742", date(2025, 7, 1)).name == "Phường Rạch Giá"
    assert units.predecessors("30742", date(2025, 7, 1)) == {
        "30730", "30733", "30736", "30739", "30742", "30745", "30748", "30751", "30754", "30757",
    }


def test_check_unit_names_the_successor():
    assert units.check_unit("31060", date(2025, 6, 30)) == []
    [err] = units.check_unit("31060", date(2025, 8, 1), "recipient_unit")
    assert (err["code"], err["field"], err["successor"], err["valid_to"]) == (
        "unit_not_in_force", "recipient_unit", "31064", "2025-06-30",
    )
    assert "Xã Vĩnh Bình (mã 31064)" in err["message"] and "01/08/2025" in err["message"]
    [err] = units.check_unit("910", date(2026, 1, 1))
    assert (err["code"], err["successor"]) == ("unit_not_in_force", "91")
    [err] = units.check_unit("12345", date(2024, 1, 1))
    assert err["code"] == "unknown_unit" and "successor" not in err
    assert units.check_unit("910") == [] and units.check_unit("31060") == []  # no date: only the code
    assert units.check_unit("91", date(2030, 1, 1)) == []


def test_a_unit_answers_for_what_merged_into_it():
    after, before = date(2026, 12, 7), date(2025, 6, 30)
    # Phường An Bình (30751) became part of Phường Rạch Giá (30742) on 01/7/2025, Xã Vĩnh Bình Bắc (31060) of
    # Xã Vĩnh Bình (31064): their money and records are the successor's from then on.
    assert units.answers_for("30742", "30751", after) and not units.answers_for("30742", "30751", before)
    assert units.answers_for("31064", "31060", after) and not units.answers_for("31064", "30751", after)
    assert not units.answers_for("30751", "30742", after)  # never the other way round
    assert units.reaching("30742", after) == units.predecessors("30742", after)
    assert units.reaching("31064", before) == {"31064"}
    # A former district and the province: what lies inside them, as before.
    assert units.reaching("910", after) == units.units_within("910")
    assert units.reaching("91", after) == units.units_within("91")
    assert units.answers_for(None, "30751", after) and units.answers_for("910", "31060", after)
    assert not units.answers_for("910", "30751", after)


def test_predecessors_by_year():
    assert units.predecessors("31064", date(2025, 12, 31)) == {"31060", "31063", "31064"}
    assert units.predecessors("31064", date(2024, 12, 31)) == {"31064"}  # Bình Minh, before the reform
    assert units.predecessors("31081", date(2021, 12, 31)) == {"31081", "31099"}  # Hòn Thơm in An Thới
    assert units.predecessors("31060", date(2025, 12, 31)) == set()
    assert units.predecessors("910", date(2024, 12, 31)) == units.units_within("910")


def test_a_scope_names_a_unit_in_force_or_a_former_district():
    on = date(2026, 1, 1)
    assert units.check_scope("910", on) == []  # a former district: its plan, money and continuing stations
    assert units.check_scope("31064", on) == [] and units.check_scope("91", on) == []
    [err] = units.check_scope("31060", on)
    assert (err["code"], err["successor"]) == ("unit_not_in_force", "31064")
    assert units.check_scope("31060", date(2025, 6, 30)) == []
    [err] = units.check_scope("999", on)
    assert err["code"] == "unknown_unit"


def test_known_name_is_the_name_people_know_a_code_by():
    """The one name pages, workbooks and the Word report give a code (units.known_name)."""
    assert units.known_name(None) == units.known_name("91") == "Tỉnh Kiên Giang"  # the plans' province
    assert units.known_name("910") == "Huyện Vĩnh Thuận"  # a district, though districts ended in 2025
    assert units.known_name("31064") == "Xã Vĩnh Bình"  # a reused code: its latest unit, not Xã Bình Minh
    assert units.known_name("31060") == "Xã Vĩnh Bình Bắc"  # merged away: the name it had last
    assert units.known_name("99999") == "99999"
