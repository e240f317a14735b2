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
