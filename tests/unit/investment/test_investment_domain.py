"""The investment rules in plain Python: sources, guards, status, station attributes, score, targets."""

from __future__ import annotations

import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.common import money
from services.common.errors import DomainError
from services.common.targets import target_met
from services.investment import domain, priority_rules
from services.investment.domain import ProjectFigures, SourceFigures, StatusRecord


def codes(exc: pytest.ExceptionInfo[DomainError]) -> list[str]:
    return [e["code"] for e in exc.value.errors]


# --------------------------------------------------------------------------- sources


def test_sources_are_the_nine_of_the_domain_brief() -> None:
    nine = {
        "provincial_budget",
        "district_budget",
        "ntp_nrd",
        "ntp_health_population",
        "bhyt_surplus_20",
        "bhyt_fund",
        "oda_aid",
        "socialization",
        "other",
    }
    assert nine == domain.SOURCES


def test_unknown_source_is_refused() -> None:
    with pytest.raises(DomainError) as exc:
        domain.check_source("lottery", 2024)
    assert codes(exc) == ["unknown_source"]


def test_bhyt_surplus_follows_the_fund_year_like_finance() -> None:
    domain.check_source("bhyt_surplus_20", 2021, 2020, "equipment")  # 2020's surplus, its main legal use
    domain.check_source("bhyt_surplus_20")  # a disbursement of earlier capital names no fiscal year
    with pytest.raises(DomainError) as exc:
        domain.check_source("bhyt_surplus_20", 2022, 2021, "equipment")
    assert codes(exc) == ["surplus_source_closed"]
    with pytest.raises(DomainError) as exc:
        domain.check_source("bhyt_surplus_20", 2020, 2020, "equipment")
    assert codes(exc) == ["fund_year_not_before_fiscal_year"]
    with pytest.raises(DomainError) as exc:
        domain.check_source("bhyt_surplus_20", 2021)
    assert codes(exc) == ["fund_year_required", "surplus_use_required"]


# --------------------------------------------------------------------------- guards


def project(estimate: int = 1000, settled: int | None = None, **sources: tuple[int, int]) -> ProjectFigures:
    return ProjectFigures(estimate, settled, {k: SourceFigures(*v) for k, v in sources.items()})


def test_capital_of_all_sources_never_passes_the_estimate() -> None:
    p = project(1000, provincial_budget=(600, 0), ntp_nrd=(300, 0))
    domain.check_capital(p, "district_budget", 100)  # exactly the estimate
    with pytest.raises(DomainError) as exc:
        domain.check_capital(p, "district_budget", 101)
    assert codes(exc) == ["exceeds_estimated_cost"]
    assert "100 đ" in exc.value.errors[0]["message"]  # what may still be assigned


def test_settled_cost_becomes_the_cap() -> None:
    p = project(1000, settled=800, provincial_budget=(700, 700))
    domain.check_capital(p, "provincial_budget", 100)
    with pytest.raises(DomainError) as exc:
        domain.check_capital(p, "provincial_budget", 101)
    assert codes(exc) == ["exceeds_estimated_cost"]


def test_capital_reduction_never_below_that_source_disbursed() -> None:
    p = project(1000, provincial_budget=(600, 400), ntp_nrd=(300, 0))
    domain.check_capital(p, "provincial_budget", -200)
    with pytest.raises(DomainError) as exc:
        domain.check_capital(p, "provincial_budget", -201)
    assert codes(exc) == ["capital_below_disbursed"]
    assert "giảm vốn nguồn Ngân sách tỉnh xuống" in exc.value.errors[0]["message"]
    with pytest.raises(DomainError):
        domain.check_capital(p, "provincial_budget", 0)


def test_disbursement_never_beyond_that_source_capital() -> None:
    p = project(1000, provincial_budget=(600, 500), ntp_nrd=(300, 0))
    domain.check_disbursement(p, "provincial_budget", 100)
    with pytest.raises(DomainError) as exc:
        domain.check_disbursement(p, "provincial_budget", 101)  # ntp_nrd's room does not help
    assert codes(exc) == ["exceeds_capital"]
    # People read the source by its name, not by the contract's code.
    assert "từ nguồn Ngân sách tỉnh vượt vốn" in exc.value.errors[0]["message"]
    with pytest.raises(DomainError) as exc:
        domain.check_disbursement(p, "oda_aid", 1)
    assert codes(exc) == ["exceeds_capital"]


def test_reversal_never_below_zero_and_settled_cost_caps_payments() -> None:
    p = project(1000, provincial_budget=(600, 500))
    domain.check_disbursement(p, "provincial_budget", -500)
    with pytest.raises(DomainError) as exc:
        domain.check_disbursement(p, "provincial_budget", -501)
    assert codes(exc) == ["reversal_exceeds_disbursed"]
    assert "nguồn Ngân sách tỉnh mới giải ngân" in exc.value.errors[0]["message"]
    settled = project(1000, settled=550, provincial_budget=(600, 500))
    with pytest.raises(DomainError) as exc:
        domain.check_disbursement(settled, "provincial_budget", 51)
    assert codes(exc) == ["exceeds_settled_cost"]


def test_revised_estimate_and_settlement_rules() -> None:
    p = project(1000, provincial_budget=(800, 600))
    domain.check_revised_estimate(p, 800)
    with pytest.raises(DomainError) as exc:
        domain.check_revised_estimate(p, 799)
    assert codes(exc) == ["estimate_below_capital"]
    domain.check_settlement(p, 1000)
    with pytest.raises(DomainError) as exc:
        domain.check_settlement(p, 1001)
    assert codes(exc) == ["exceeds_estimated_cost"]
    with pytest.raises(DomainError) as exc:
        domain.check_settlement(p, 599)
    assert codes(exc) == ["settled_below_disbursed"]


OPS = st.lists(
    st.tuples(
        st.sampled_from(["capital", "disburse"]),
        st.sampled_from(["provincial_budget", "ntp_nrd", "socialization"]),
        st.integers(min_value=-600, max_value=900),
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(estimate=st.integers(min_value=1, max_value=2000), ops=OPS)
def test_guards_keep_every_invariant_whatever_the_order(estimate: int, ops: list[tuple[str, str, int]]) -> None:
    """Applying only what the guards allow, in any order: Σ capital ≤ estimate, and for every source
    0 ≤ disbursed ≤ capital."""
    state: dict[str, list[int]] = {}
    for op, source, amount in ops:
        figures = project(estimate, **{k: tuple(v) for k, v in state.items()})
        try:
            if op == "capital":
                domain.check_capital(figures, source, amount)
                state.setdefault(source, [0, 0])[0] += amount
            else:
                domain.check_disbursement(figures, source, amount)
                state.setdefault(source, [0, 0])[1] += amount
        except DomainError:
            pass
        assert sum(c for c, _ in state.values()) <= estimate
        for capital, disbursed in state.values():
            assert 0 <= disbursed <= capital


# --------------------------------------------------------------------------- project status


def test_status_moves_one_step_forward_and_settles_only_by_completion() -> None:
    domain.check_transition("proposed", "approved")
    domain.check_transition("approved", "under_construction")
    domain.check_transition("under_construction", "completed")
    for current, target, code in [
        ("proposed", "under_construction", "invalid_transition"),
        ("approved", "proposed", "invalid_transition"),
        ("completed", "settled", "settlement_required"),
        ("approved", "cancelled", "invalid_status"),
    ]:
        with pytest.raises(DomainError) as exc:
            domain.check_transition(current, target)
        assert codes(exc) == [code]
    assert domain.completion_steps("under_construction") == ["completed", "settled"]
    assert domain.completion_steps("completed") == ["settled"]
    with pytest.raises(DomainError):
        domain.completion_steps("proposed")
    with pytest.raises(DomainError) as exc:
        domain.completion_steps("settled")
    assert codes(exc) == ["already_settled"]
    with pytest.raises(DomainError):
        domain.check_initial_status("completed")


# --------------------------------------------------------------------------- station attributes


@pytest.mark.parametrize(
    ("attribute", "raw", "stored", "typed"),
    [
        ("national_health_criteria", True, "true", True),
        ("nrd_standard", "false", "false", False),
        ("bhyt_eligible", False, "false", False),
        ("building_condition", "poor", "poor", "poor"),
        ("nrd_target_year", 2027, "2027", 2027),
        ("nrd_target_year", "2026", "2026", 2026),
        ("difficult_commune", True, "true", True),
    ],
)
def test_attribute_values_are_validated_and_stored(attribute: str, raw: object, stored: str, typed: object) -> None:
    assert domain.parse_attribute_value(attribute, raw) == stored
    assert domain.typed_value(attribute, stored) == typed


@pytest.mark.parametrize(
    ("attribute", "raw", "code"),
    [
        ("national_health_criteria", "yes", "invalid_value"),
        ("national_health_criteria", 1, "invalid_value"),
        ("building_condition", "ruined", "invalid_value"),
        ("nrd_target_year", True, "invalid_value"),
        ("nrd_target_year", 1800, "invalid_year"),
        ("stars", True, "unknown_attribute"),
    ],
)
def test_bad_attribute_values_are_refused(attribute: str, raw: object, code: str) -> None:
    with pytest.raises(DomainError) as exc:
        domain.parse_attribute_value(attribute, raw)
    assert codes(exc) == [code]


def test_criteria_reached_only_when_the_current_value_becomes_true() -> None:
    assert domain.becomes_true(None, StatusRecord(1, 2020, "true"))
    assert not domain.becomes_true(None, StatusRecord(1, 2020, "false"))
    assert domain.becomes_true(StatusRecord(1, 2019, "false"), StatusRecord(2, 2020, "true"))
    assert not domain.becomes_true(StatusRecord(1, 2019, "true"), StatusRecord(2, 2020, "true"))  # already
    # A backfill of an older year does not change the current (newer) fact.
    assert not domain.becomes_true(StatusRecord(1, 2022, "false"), StatusRecord(2, 2020, "true"))
    assert domain.current_of([StatusRecord(1, 2022, "false"), StatusRecord(2, 2020, "true")]).id == 1


# --------------------------------------------------------------------------- figures and targets


def test_execution_rate_and_percent_are_exact_strings() -> None:
    assert money.execution_rate(0, 0) is None
    assert money.execution_rate(3, 1) == "0.3333"
    assert money.execution_rate(3, 2) == "0.6667"
    assert money.execution_rate(10**15, 10**15) == "1.0000"
    assert domain.percent(1, 3) == "33.33"
    assert domain.percent(2, 3) == "66.67"
    assert domain.percent(0, 0) is None
    assert domain.percent(8, 8) == "100.00"


def test_target_met_compares_like_the_plan() -> None:
    assert target_met("90.00", ">=", 90) is True
    assert target_met("89.99", ">=", 90) is False
    assert target_met("100.00", "=", 100) is True
    assert target_met("100.00", "=", None) is True  # a completion target
    assert target_met(None, "=", 100) is None
    assert target_met("NaN", ">=", 80) is None and target_met("không rõ", ">=", 80) is None
    assert target_met("80.00", ">=", 80.0) is True and target_met("0.3", "=", 0.3) is True


def test_figures_after_a_merger_belong_to_the_successor() -> None:
    # Vĩnh Bình Bắc (31060) became part of Xã Vĩnh Bình (31064) on 01/7/2025 (NQ 1654/NQ-UBTVQH15).
    assert domain.resolve_station("31060", 2024) == "31060"
    assert domain.resolve_station("31060", 2025) == "31064"
    assert domain.resolve_station("31060", 2025, after_end=False) == "31060"
    assert domain.resolve_station("31099", 2021) == "31081"  # Hòn Thơm -> An Thới
    assert domain.resolve_station("30733", 2024) == "30733"
    assert domain.resolve_station("30733", 2030) == "30742"  # Vĩnh Thanh -> Phường Rạch Giá, 01/7/2025


def test_funding_totals_add_by_source_and_year() -> None:
    t = domain.FundingTotals()
    t.add("allocated", "ntp_nrd", 2024, 100)
    t.add("disbursed", "ntp_nrd", 2025, 40)
    other = domain.FundingTotals()
    other.add("allocated", "provincial_budget", 2024, 50)
    t.merge(other)
    assert t.as_dict() == {
        "allocated": 150,
        "disbursed": 40,
        "execution_rate": "0.2667",
        "by_source": {
            "ntp_nrd": {"allocated": 100, "disbursed": 40},
            "provincial_budget": {"allocated": 50, "disbursed": 0},
        },
        "by_year": {"2024": {"allocated": 150, "disbursed": 0}, "2025": {"allocated": 0, "disbursed": 40}},
    }


# --------------------------------------------------------------------------- priority score


def facts(**kw: object) -> domain.StationFacts:
    base: dict[str, object] = {
        "code": "31060",
        "commune_kind": "Xã",
        "national_health_criteria": None,
        "nrd_standard": None,
        "nrd_target_year": None,
        "building_condition": None,
        "last_completed_year": None,
        "projects_in_progress": 0,
    }
    base.update(kw)
    return domain.StationFacts(**base)  # type: ignore[arg-type]


def test_priority_rule_file_loads_and_shows_its_parts() -> None:
    rules = priority_rules.load_priority_rules()
    assert rules.version == 1
    score, parts = domain.priority_score(
        facts(national_health_criteria=False, nrd_target_year=2027, building_condition="poor"), rules, 2027
    )
    by_rule = {p.rule: p.points for p in parts}
    assert by_rule == {
        "national_health_criteria_not_met": 30,
        "nrd_target_year": 20,
        "building_condition": 25,
        "commune_kind": 10,
        "no_recent_completed_project": 10,
    }
    assert score == sum(by_rule.values())
    assert all(p.why for p in parts)


def test_priority_ranks_needs_above_stations_in_good_shape() -> None:
    rules = priority_rules.load_priority_rules()
    needy, _ = domain.priority_score(facts(building_condition="none", nrd_target_year=2026), rules, 2026)
    fine, parts = domain.priority_score(
        facts(
            commune_kind="Phường",
            national_health_criteria=True,
            nrd_standard=True,
            nrd_target_year=2026,
            building_condition="good",
            last_completed_year=2024,
        ),
        rules,
        2026,
    )
    assert fine == 0 and parts == []
    assert needy > fine
    busy, parts = domain.priority_score(facts(building_condition="none", projects_in_progress=1), rules, 2026)
    assert "project_in_progress" in {p.rule for p in parts}
    assert busy < needy


def test_nrd_target_points_grow_as_the_year_nears() -> None:
    rules = priority_rules.load_priority_rules()

    def nrd_points(target: int) -> int:
        _, parts = domain.priority_score(facts(nrd_target_year=target), rules, 2026)
        return next(p.points for p in parts if p.rule == "nrd_target_year")

    assert [nrd_points(y) for y in (2025, 2026, 2027, 2028, 2030)] == [20, 20, 15, 10, 5]


def test_broken_priority_rules_are_refused() -> None:
    data = copy.deepcopy(priority_rules.priority_rules_document())
    del data["weights"]["building_condition"]["none"]
    with pytest.raises(domain.RulesError):
        domain.PriorityRules.from_mapping(data)
    data = copy.deepcopy(priority_rules.priority_rules_document())
    data["weights"]["national_health_criteria_not_met"] = "many"
    with pytest.raises(domain.RulesError):
        domain.PriorityRules.from_mapping(data)


def test_capital_linked_to_an_allocation_is_reduced_only_by_what_it_funded() -> None:
    figures = domain.ProjectFigures(1_000, None, {"provincial_budget": domain.SourceFigures(900, 0)}, {41: 600})
    domain.check_link(figures, 41, 500)  # more from the same allocation: check_link_room decides that
    domain.check_link(figures, 41, -600)
    domain.check_link(figures, None, -900)  # own money: the capital guards alone
    with pytest.raises(DomainError) as exc:
        domain.check_link(figures, 41, -601)
    assert codes(exc) == ["link_below_zero"]
    with pytest.raises(DomainError) as exc:
        domain.check_link(figures, 42, -1)
    assert codes(exc) == ["link_below_zero"]
    assert figures.plus("provincial_budget", capital=10).linked == {41: 600}


def test_capital_from_an_allocation_stays_within_its_room_less_what_projects_have_linked() -> None:
    domain.check_link_room(41, 1_000, 600, 400)  # exactly what is left
    domain.check_link_room(41, None, 10**9, -5)  # a reduction only gives back (check_link guards it)
    domain.check_link_room(None, None, 0, 10**9)  # own money: not finance's
    with pytest.raises(DomainError) as exc:
        domain.check_link_room(41, 1_000, 600, 401)
    assert codes(exc) == ["exceeds_allocation"] and exc.value.errors[0]["field"] == "funded_by_allocation"
    assert "còn lại của phân bổ số 41: 400 đ (đã giao cho dự án 600 đ)" in exc.value.errors[0]["message"]
    with pytest.raises(DomainError) as exc:  # over-linked already (finance's room shrank since): nothing more
        domain.check_link_room(41, 500, 600, 1)
    assert codes(exc) == ["exceeds_allocation"]
    with pytest.raises(DomainError) as exc:  # a link whose room nobody asked finance for
        domain.check_link_room(41, None, 0, 1)
    assert codes(exc) == ["allocation_unchecked"]


def test_funding_totals_keep_the_linked_capital_by_allocation() -> None:
    t = domain.FundingTotals()
    t.add("allocated", "provincial_budget", 2024, 600)
    t.link(41, "provincial_budget", 2024, 600)
    other = domain.FundingTotals()
    other.add("allocated", "provincial_budget", 2025, 100)
    other.link(41, "provincial_budget", 2025, 100)
    other.link(43, "ntp_nrd", 2025, 5)
    t.merge(other)
    assert t.linked_dict() == {
        "linked_to_finance": 705,
        "linked_by_allocation": {
            "41": {"amount": 700, "source": "provincial_budget", "by_year": {"2024": 600, "2025": 100}},
            "43": {"amount": 5, "source": "ntp_nrd", "by_year": {"2025": 5}},
        },
    }
    assert domain.FundingTotals().linked_dict() == {"linked_to_finance": 0, "linked_by_allocation": {}}
