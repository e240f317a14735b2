"""A claim found by any of its cards, on SQLite and PostgreSQL: the real inpatient stay was made under two cards
joined by ";" (MA_THE_BHYT "GD4…;AK2…", QĐ 130), and BHXH looking up the second card must find it too."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.dialects import postgresql, sqlite

from services.claims import views
from services.claims.models import Claim
from tests.unit.claims.test_real_format import BASE64, PLAIN

FIRST, SECOND, OTHER = "GD4200000000000", "AK2200000000000", "CB2200000000000"  # as masked in the samples


def found(env, card: str) -> list[str]:
    with env.session() as s:
        return [c["ma_lk"] for c in views.list_claims(s, personal=True, card=card)["items"]]


def test_a_visit_under_two_cards_is_found_by_either(claims_env):
    assert claims_env.load(BASE64.read_bytes())["records"]["accepted"] == 1
    assert claims_env.load(PLAIN.read_bytes())["records"]["accepted"] == 1
    with claims_env.session() as s:
        assert s.scalar(select(Claim.ma_the_bhyt).where(Claim.ma_lk == "1073660")) == f"{FIRST};{SECOND}"
    assert found(claims_env, SECOND) == ["1073660"]  # only the whole value matched before
    assert found(claims_env, f" {FIRST.lower()} ") == ["1073660"]  # typed in lower case, with spaces
    assert found(claims_env, f"{FIRST};{SECOND}") == ["1073660"]
    assert found(claims_env, OTHER) == ["1136957"]
    for part in ("AK22", SECOND[1:], "%", "_" * 15, ";", f"{SECOND};"):  # a part of a card, or a pattern
        assert found(claims_env, part) == [], part


def test_the_search_for_joined_cards_can_read_its_partial_index(claims_env):
    """The clause names the index's own literal pattern, so each engine can prove the partial index applies
    (a bound parameter would not let SQLite, nor a pattern built otherwise PostgreSQL)."""
    claims_env.load(BASE64.read_bytes())
    stmt = select(Claim.id).where(views.card_clause(SECOND))
    with claims_env.session() as s:
        if s.get_bind().dialect.name == "sqlite":
            compiled = stmt.compile(dialect=sqlite.dialect())
            params = tuple(compiled.params[k] for k in compiled.positiontup or ())
            plan = s.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", params)
        else:
            s.execute(text("SET LOCAL enable_seqscan = off"))
            sql = str(stmt.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
            plan = s.execute(text("EXPLAIN " + sql.replace("%%", "%")))
        assert "ix_claims_joined_cards" in " ".join(str(r) for r in plan)


@pytest.mark.parametrize("card", ["", "   "])
def test_an_empty_card_is_no_filter(claims_env, card):
    claims_env.load(PLAIN.read_bytes())
    assert found(claims_env, card) == ["1136957"]
