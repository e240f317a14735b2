"""Joining the services' funding answers: source by source, each đồng once, never a float for money."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from services.gateway.application import figures
from services.gateway.application.access import mask_personal

SOURCES = ["provincial_budget", "district_budget", "ntp_nrd", "oda_aid"]
YEARS = ["2023", "2024", "2025"]

pairs = st.fixed_dictionaries({"allocated": st.integers(0, 10**13), "disbursed": st.integers(0, 10**13)})
answers = st.builds(
    lambda by_source, by_year: {
        "allocated": sum(p["allocated"] for p in by_source.values()),
        "disbursed": sum(p["disbursed"] for p in by_source.values()),
        "by_source": by_source,
        "by_year": by_year,
        "execution_rate": "0.5000",
    },
    st.dictionaries(st.sampled_from(SOURCES), pairs, max_size=4),
    st.dictionaries(st.sampled_from(YEARS), pairs, max_size=3),
)


@given(st.lists(answers, max_size=4))
def test_the_sum_adds_every_source_of_every_stream_once(parts):
    total = figures.add(figures.normalise(p) for p in parts)
    assert total["allocated"] == sum(p["allocated"] for p in parts)
    assert total["disbursed"] == sum(p["disbursed"] for p in parts)
    for source in SOURCES:
        expected = sum(p["by_source"].get(source, {}).get("allocated", 0) for p in parts)
        assert total["by_source"].get(source, {"allocated": 0})["allocated"] == expected
    assert sum(v["allocated"] for v in total["by_source"].values()) == total["allocated"]
    assert all(isinstance(v, int) for v in (total["allocated"], total["disbursed"]))
    assert total["execution_rate"] is None or isinstance(total["execution_rate"], str)


def test_execution_rate_is_a_decimal_string_with_four_places():
    assert figures.execution_rate(0, 0) is None
    assert figures.execution_rate(3, 1) == "0.3333"
    assert figures.execution_rate(8, 3) == "0.3750"
    assert figures.execution_rate(2, 1) == "0.5000"
    assert figures.execution_rate(20000, 1) == "0.0001"  # half up, as the services round it


def test_odd_answers_count_as_nothing_rather_than_break():
    assert figures.normalise(None)["allocated"] == 0
    odd = figures.normalise({"allocated": "1200", "disbursed": 3.5, "by_source": {"x": "bad", "y": {}}})
    assert odd["allocated"] == 1200 and odd["disbursed"] == 0
    assert odd["by_source"] == {"y": {"allocated": 0, "disbursed": 0}}


def test_tree_answers_in_every_shape_by_code():
    one = {"code": "II.5", "allocated": 5, "disbursed": 1}
    assert figures.tree_map({"items": [one]})["II.5"]["allocated"] == 5
    assert figures.tree_map({"items": {"II.5": one}})["II.5"]["allocated"] == 5
    assert figures.tree_map([one])["II.5"]["allocated"] == 5
    assert figures.tree_map("nonsense") == {}


def test_missing_ancestors_are_filled_from_their_children_not_doubled():
    codes = [("II", None), ("II.2", "II"), ("II.2.1", "II.2"), ("II.2.2", "II.2"), ("II.5", "II")]
    tree = figures.tree_map(
        {
            "items": [
                {"code": "II.2.1", "allocated": 10, "disbursed": 1},
                {"code": "II.2.2", "allocated": 20, "disbursed": 2},
                {"code": "II.5", "allocated": 100, "disbursed": 50},
            ]
        }
    )
    figures.complete_tree(codes, tree)
    assert tree["II.2"]["allocated"] == 30 and tree["II"]["allocated"] == 130
    # An ancestor the service did report is kept as it is (it is already rolled up).
    reported = figures.tree_map(
        {"items": [{"code": "II", "allocated": 7, "disbursed": 0}, {"code": "II.5", "allocated": 7, "disbursed": 0}]}
    )
    figures.complete_tree(codes, reported)
    assert reported["II"]["allocated"] == 7


def test_bhyt_block_belongs_to_II4_and_what_contains_it():
    assert [c for c in ("I", "II", "II.4", "II.5", "II.2", "III") if figures.carries_bhyt(c)] == ["II", "II.4"]


def test_mask_personal_masks_known_fields_at_any_depth_and_keeps_nulls():
    value = {
        "items": [
            {"HO_TEN": "A", "ma_the_bhyt": "GD4", "so_cccd": None, "t_bhtt": "10.00", "x": [{"dien_thoai": "0909"}]}
        ]
    }
    masked, changed = mask_personal(value)
    assert changed
    assert masked == {
        "items": [
            {"HO_TEN": "***", "ma_the_bhyt": "***", "so_cccd": None, "t_bhtt": "10.00", "x": [{"dien_thoai": "***"}]}
        ]
    }
    assert mask_personal({"ma_lk": "1"}) == ({"ma_lk": "1"}, False)
