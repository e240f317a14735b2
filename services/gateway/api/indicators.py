"""Indicator facts per station (or district health centre) and year, the facts behind the plans' targets:
one unit through JSON, or a whole district through the Excel template (docs/investment.md "Indicator facts").

Writes: finance and admin, a unit-scoped user only inside their unit (a station's user for the station,
a district's for its stations and its health centre). Reads: every role, within their unit.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from services.common.contracts import investment as contract
from services.common.errors import DomainError
from services.gateway.api.common import XLSX, load_args, load_json, rpc, uploaded_workbook, xlsx_download
from services.gateway.api.schemas.indicators import ImportQuery, SheetQuery, YearQuery
from services.gateway.application import indicators
from services.gateway.application.access import READ_ROLES, allow, require_station, scope_unit
from services.gateway.openapi import doc, doc_sheet_upload

bp = Blueprint("indicators", __name__, url_prefix="/api/v1")
WRITE_ROLES = ("finance", "admin")


def _check_year(year: int) -> None:
    if not 2000 <= year <= 2100:
        raise DomainError.one("out_of_range", "Năm phải từ 2000 đến 2100.", "year")


# --------------------------------------------------------------------------- one unit (JSON)


@bp.get("/stations/<code>/indicators/<int:year>")
@allow(*READ_ROLES)
@doc(query=YearQuery, responses={404: "Không có trạm hay trung tâm y tế này"})
def get_indicators(code: str, year: int) -> Any:
    """A station's (or district health centre's) indicator facts for a year: the current version and
    every earlier one, each with its source, who recorded it and when."""
    load_args(YearQuery())
    _check_year(year)
    require_station(code, "code")
    return jsonify(rpc("investment", "get_indicators", code, year))


@bp.put("/stations/<code>/indicators/<int:year>")
@allow(*WRITE_ROLES)
@doc(body=contract.IndicatorsIn, responses={404: "Không có trạm hay trung tâm y tế này"})
def put_indicators(code: str, year: int) -> Any:
    """Record a unit's facts for a year: any subset of the fields, set over the current ones (null clears
    one), with `source`. A new version is kept (`created: true`); the same facts again make none. A commune
    station takes every field, a district health centre (district code) only its service list."""
    body = load_json(contract.IndicatorsIn())
    _check_year(year)
    return jsonify(indicators.record_facts(code, year, body))


@bp.get("/indicators")
@allow(*READ_ROLES)
@doc(query=SheetQuery)
def list_indicators() -> Any:
    """Every station in force at the year's end within a unit (then the district health centres), each
    with its latest facts for the year (null: not reported)."""
    q = load_args(SheetQuery())
    return jsonify(rpc("investment", "indicator_sheet", scope_unit(q.get("unit")), q["year"]))


# --------------------------------------------------------------------------- the Excel template
@bp.get("/indicators/template.xlsx")
@allow(*READ_ROLES)
@doc(query=SheetQuery, response_content_type=XLSX)
def template() -> Any:
    """The Excel template for a unit and year: one row per station (then the district health centres),
    pre-filled with the latest facts; filled in, it comes back through `POST /api/v1/indicators/import.xlsx`."""
    q = load_args(SheetQuery())
    unit = scope_unit(q.get("unit"))
    sheet = rpc("investment", "indicator_sheet", unit, q["year"])
    return xlsx_download(indicators.template_workbook(sheet), f"chi-so-{sheet['unit']}-{q['year']}.xlsx")


# --------------------------------------------------------------------------- import
@bp.post("/indicators/import.xlsx")
@allow(*WRITE_ROLES)
@doc_sheet_upload(query=ImportQuery)
def import_sheet() -> Any:
    """A filled-in template (the .xlsx as the body, or a form field `file`). Every row is checked first: one
    wrong cell refuses the whole sheet (422, each problem with its row, column and reason) and nothing is
    written. Otherwise each changed row becomes a new version of that unit's facts; unchanged rows make none."""
    q = load_args(ImportQuery())
    return jsonify(indicators.import_workbook(uploaded_workbook(), q.get("year")))
