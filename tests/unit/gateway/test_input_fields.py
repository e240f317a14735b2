"""The bounded fields of the contracts (services/common/contracts/fields.py): ids, years, the date window and
free text without bidi controls, each refusal named by a code the gateway answers with."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from marshmallow import Schema, ValidationError

from services.common import clock
from services.common.contracts.fields import BIDI_CONTROLS, EARLIEST_DAY, ID_MAX, Day, Id, Text, Year
from services.gateway.errors import field_label, validation_errors


class Inputs(Schema):
    id = Id()
    year = Year()
    day = Day()
    text = Text()


def _refused(data: dict) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        Inputs().load(data)
    return {e["field"]: e["code"] for e in validation_errors(caught.value)}


def test_ids_are_bigint() -> None:
    assert Inputs().load({"id": ID_MAX}) == {"id": ID_MAX}
    for bad in (0, -1, ID_MAX + 1, 10**20):
        assert _refused({"id": bad}) == {"id": "out_of_range"}


def test_years_are_2000_to_2100() -> None:
    assert Inputs().load({"year": 2000, "id": 1}) == {"year": 2000, "id": 1}
    for bad in (1999, 2101, 99999999999999999999):
        assert _refused({"year": bad}) == {"year": "out_of_range"}


def test_a_number_with_a_fraction_is_never_taken_for_an_id_or_a_year() -> None:
    """marshmallow's Integer reads 2024.5 as 2024; the gateway reads JSON numbers as Decimal (api/common.py)."""
    for whole in (Decimal("2024.0"), Decimal("2.024E+3"), 2024.0, "2024"):
        assert Inputs().load({"year": whole, "id": whole}) == {"year": 2024, "id": 2024}
    for bad in (Decimal("2024.5"), 2024.5, Decimal("NaN"), Decimal("Infinity"), float("nan"), float("inf"), "2024.5"):
        assert _refused({"year": bad, "id": bad}) == {"year": "invalid_type", "id": "invalid_type"}, bad


def test_days_lie_from_2015_to_a_year_ahead() -> None:
    last = clock.today() + timedelta(days=366)
    for good in (EARLIEST_DAY, clock.today(), last):
        assert Inputs().load({"day": good.isoformat()}) == {"day": good}
    for bad in ("2014-12-31", "0001-01-01", "2099-01-01", (last + timedelta(days=1)).isoformat()):
        assert _refused({"day": bad}) == {"day": "date_out_of_range"}
    assert _refused({"day": "22/10/2018"}) == {"day": "invalid_type"}  # marshmallow's, said in Vietnamese


@pytest.mark.parametrize("mark", sorted(BIDI_CONTROLS))
def test_free_text_refuses_every_bidi_control(mark: str) -> None:
    assert _refused({"text": f"125/QĐ-UBND{mark}4202"}) == {"text": "bidi_control"}


def test_free_text_keeps_vietnamese_as_it_is() -> None:
    text = "Quyết định 125/QĐ-UBND ngày 15/3/2024 — Trạm Y tế xã Vĩnh Thuận (ưu tiên)"
    assert Inputs().load({"text": text}) == {"text": text}


def test_pages_name_fields_in_vietnamese() -> None:
    assert field_label("decision_date") == "Ngày quyết định"
    assert field_label("items.0.approved_amount") == "Số tiền được duyệt (dòng 1)"
    assert field_label("approved__000123") == "Số tiền được duyệt (hồ sơ 000123)"
