"""Indicator facts entered the way offices work: a page per district (or station) and year listing its
stations (then its district health centre) with the facts editable, one form per row, and the Excel template
to download and upload. Each row saves through the same contract schema, unit check and investment RPC as
`PUT /api/v1/stations/{code}/indicators/{year}` (api/indicators.py); the upload goes through the API's own
import (`import_workbook`). A refused row is shown again with what was typed and the Vietnamese reasons
beside it; the other rows keep the stored facts."""

from __future__ import annotations

from typing import Any

from flask import flash, g, redirect, request, url_for
from marshmallow import Schema, fields, validate

from services.common import clock, units
from services.common.contracts import investment as contract
from services.common.errors import DomainError
from services.gateway.application import indicators as sheets
from services.gateway.application.access import READ_ROLES, allow, require_station, scope_unit
from services.gateway.application.remote import rpc
from services.gateway.web.common import (
    FINANCE_WRITERS,
    WRITE_ERRORS,
    audit_form,
    bp,
    form_errors,
    form_status,
    page,
    page_args,
    render,
)

FACT_COLUMNS = tuple(key for key, _heading in sheets.COLUMNS)  # population … source, the template's order
CENTRE_FIELDS = ("services_performed", "services_in_list", "source")  # a district health centre reports only these
YES_NO = (("", "—"), ("có", "Có"), ("không", "Không"))


class IndicatorPageQuery(Schema):
    unit = fields.String(validate=validate.Regexp(r"^[0-9]{2,5}$"), metadata={"example": "910"})
    year = fields.Integer(validate=validate.Range(min=2000, max=2100), metadata={"example": 2024})


class IndicatorRowQuery(Schema):
    unit = fields.String(validate=validate.Regexp(r"^[0-9]{2,5}$"))


class ImportForm(Schema):
    """The upload form: the filled-in template, and the page's unit and year (hidden fields)."""

    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary"})
    unit = fields.String(validate=validate.Regexp(r"^[0-9]{2,5}$"))
    year = fields.Integer(validate=validate.Range(min=2000, max=2100))


def _shown(value: Any) -> str:
    """A stored fact as the input shows it: booleans as có/không, nothing as an empty box."""
    if value is True:
        return "có"
    if value is False:
        return "không"
    return "" if value is None else str(value)


def _year_or_default(year: int | None) -> int:
    return year or clock.today().year - 1  # offices report the year just closed


def _page(
    unit: str | None,
    year: int,
    status: int = 200,
    failed: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    typed: dict[str, str] | None = None,
) -> Any:
    scope = scope_unit(unit)
    sheet = rpc("investment", "indicator_sheet", scope, year)
    rows = []
    for r in sheet["rows"]:
        facts = r["facts"] or {}
        values = {k: _shown(facts.get(k)) for k in FACT_COLUMNS}
        if r["code"] == failed and typed is not None:
            values = {k: typed.get(k, "") for k in FACT_COLUMNS}
        rows.append({**r, "values": values, "errors": errors if r["code"] == failed else []})
    # A refusal not about a listed row (the upload, an unknown code) is shown above the table.
    general = (errors or []) if failed is not None and failed not in {r["code"] for r in rows} else []
    writer = g.principal.role in FINANCE_WRITERS
    return render(
        "indicators.html",
        status,
        sheet=sheet,
        rows=rows,
        year=year,
        unit=sheet["unit"],
        unit_label=sheet["unit_name"],
        merged=sheet["merged"],  # a ward's year before the 2025 merger: the communes now part of it
        unit_now=units.known_name(sheet["unit"]),
        columns=sheets.COLUMNS,
        centre_fields=CENTRE_FIELDS,
        yes_no=YES_NO,
        writer=writer,
        failed=failed,
        general_errors=general,
        years=list(range(min(2020, year), max(year, clock.today().year) + 1)),
    )


@bp.get("/indicators")
@allow(*READ_ROLES)
@page(query=IndicatorPageQuery)
def indicators() -> Any:
    """A district's (or station's) stations for a year with their indicator facts: editable by finance and
    admin within their unit, read by everyone else; the Excel template to download and upload."""
    q = page_args(IndicatorPageQuery())
    return _page(q.get("unit"), _year_or_default(q.get("year")))


@bp.post("/indicators/<code>/<year>")
@allow(*FINANCE_WRITERS)
@page(body=contract.IndicatorsIn)
def save_indicators(code: str, year: str) -> Any:
    """Record one row of the page: the same checks and RPC as PUT /api/v1/stations/{code}/indicators/{year}.
    Every box of the row is sent (an emptied box clears that fact), so the row is the unit's new version."""
    # The year is read here, like record_id: a year past any bound is this page's own 404 (HTML for people,
    # JSON for programs), not Flask's converter refusal, which is neither.
    if not (year.isascii() and year.isdigit() and 2000 <= int(year) <= 2100):
        raise DomainError.one("not_found", f"Không có năm {year[:30]} (năm từ 2000 đến 2100).", "year", 404)
    return _save_row(code, int(year))


def _save_row(code: str, year: int) -> Any:
    q = page_args(IndicatorRowQuery())
    audit_form(code=code, year=year)
    typed = {k: v for k, v in request.form.items() if k in FACT_COLUMNS}
    try:
        require_station(code, "code")  # another unit's row is refused before its boxes are read
        centre = units.is_known_unit(code) and units.level_of(code) == "district"
        names = CENTRE_FIELDS if centre else FACT_COLUMNS
        raw: dict[str, Any] = {k: (typed.get(k, "").strip() or None) for k in names}
        raw["source"] = typed.get("source", "")  # an empty one is refused by the service, in its own words
        out = sheets.record_facts(code, year, contract.IndicatorsIn().load(raw))
    except WRITE_ERRORS as exc:
        return _page(q.get("unit"), year, form_status(exc), code, form_errors(exc), typed)
    g.audit_details["result_id"] = f"{code}/{year}/v{out.get('version')}"
    done = "Đã ghi" if out.get("created") else "Không có gì thay đổi ở"
    flash(f"{done} số liệu năm {year} của đơn vị {code}.", "ok")
    return redirect(url_for("web.indicators", unit=q.get("unit"), year=year) + f"#row-{code}", 303)


@bp.post("/indicators/import")
@allow(*FINANCE_WRITERS)
@page(body=ImportForm, content_type="multipart/form-data")
def import_indicators() -> Any:
    """Upload a filled-in Excel template (form field `file`): the API's import, every bad cell named and
    nothing written when any row is wrong."""
    q = IndicatorPageQuery().load({k: v for k, v in request.form.items() if k in ("unit", "year") and v.strip()})
    year = _year_or_default(q.get("year"))
    upload = request.files.get("file")
    g.audit_details = {"form": {"file": upload.filename if upload else None}, "year": year}
    try:
        out = sheets.import_workbook(upload.read() if upload else b"", year)
    except WRITE_ERRORS as exc:
        return _page(q.get("unit"), year, form_status(exc), "", form_errors(exc))
    flash(f"Đã nhập tệp: {out['written']} đơn vị có số liệu mới, {out['unchanged']} không đổi.", "ok")
    return redirect(url_for("web.indicators", unit=q.get("unit"), year=year), 303)
