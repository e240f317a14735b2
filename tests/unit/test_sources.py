"""The funding-source register every service names sources from (services/common/sources.py)."""

from services.common import sources
from services.finance.reference import reference


def test_the_register_holds_the_plans_sources_by_name():
    assert sources.name("provincial_budget") == "Ngân sách tỉnh"
    assert sources.name("bhyt_surplus_20") == "20% kết dư quỹ khám bệnh, chữa bệnh BHYT"
    assert "Điều 35" in (sources.SOURCES["bhyt_surplus_20"].legal_basis or "")


def test_several_sources_read_in_the_registers_order_and_a_stranger_as_given():
    assert sources.name("state_budget") == "state_budget"
    assert sources.names({"other", "zz", "provincial_budget", "aa"}) == "Ngân sách tỉnh, Nguồn hợp pháp khác, aa, zz"


def test_finance_lists_the_same_register():
    assert reference().sources == dict(sources.SOURCES)
