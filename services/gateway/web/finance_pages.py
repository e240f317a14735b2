"""Pages for everyone who reads the money, and for finance officers who record it (Sở Tài chính, Sở Y tế,
Phòng TC-KH): the plans' roll-up with drill-down province → district → station, allocations (phân bổ),
sub-allocations, disbursements (giải ngân), adjustments (điều chỉnh), a station's history, investment projects
and next year's priority list. Figures come from the same aggregation as the API (application/funding.py)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from flask import flash, g, redirect, request, url_for
from marshmallow import Schema, fields, validate

from services.common import clock, surplus, units
from services.common.contracts.finance import (
    AdjustmentCommandV1,
    AllocationCommandV1,
    DisbursementCommandV1,
    YearEndCommandV1,
    YearEndReversalCommandV1,
)
from services.common.errors import NotFound
from services.gateway.application import (
    allocation_import,
    capitation,
    disbursement_import,
    facilities,
    finance,
    funding,
    project_disbursement_import,
)
from services.gateway.application.access import (
    READ_ROLES,
    allow,
    public,
    require_station,
    require_unit,
    scope_unit,
    scoped_unit,
)
from services.gateway.application.funding import own_plan_id, plan_figures, plan_list, source_names
from services.gateway.application.investment import STATUS_NAMES, STATUSES
from services.gateway.application.remote import rpc
from services.gateway.errors import Unavailable
from services.gateway.web import charts
from services.gateway.web.common import (
    BHXH_WRITERS,
    FINANCE_WRITERS,
    WRITE_ERRORS,
    audit_form,
    bp,
    form_errors,
    form_status,
    page,
    page_args,
    record_id,
    render,
    show_refused,
    then_go,
    write_form,
)

LOGIN_ERRORS = {
    "invalid_credentials": "Tên đăng nhập hoặc mật khẩu không đúng.",
    "too_many_attempts": "Đăng nhập sai quá nhiều lần. Vui lòng thử lại sau ít phút.",
    "required": "Vui lòng nhập tên đăng nhập và mật khẩu.",
    "csrf_invalid": "Trang đăng nhập đã hết hạn hoặc không phải của hệ thống này. Vui lòng đăng nhập lại.",
}
KINDS_VN = {
    "new_build": "Xây mới",
    "renovation": "Cải tạo, sửa chữa",
    "upgrade": "Nâng cấp",
    "equipment": "Trang thiết bị",
}
STATUS_VN = STATUS_NAMES


class LoginPageQuery(Schema):
    next = fields.String(validate=validate.Length(max=500))
    error = fields.String(validate=validate.Length(max=40))


class HomeQuery(Schema):
    plan = fields.Integer(validate=validate.Range(min=1, max=2**31), metadata={"example": 1})
    year = fields.Integer(validate=validate.Range(min=2000, max=2100), metadata={"example": 2024})
    unit = fields.String(validate=validate.Regexp(r"^[0-9]{2,5}$"), metadata={"example": "910"})


class AllocationListQuery(Schema):
    plan = fields.Integer(validate=validate.Range(min=1, max=2**31))
    year = fields.Integer(validate=validate.Range(min=2000, max=2100))
    unit = fields.String(validate=validate.Regexp(r"^[0-9]{2,5}$"))
    decision_no = fields.String(validate=validate.Length(max=80))
    year_end = fields.Boolean()  # only those of an ended year still holding money the year end has not decided
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))


class AllocationImportForm(Schema):
    """The upload form: the filled-in template and the plan it is for."""

    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary"})
    plan = fields.Integer(validate=validate.Range(min=1, max=2**31))


class DisbursementImportForm(Schema):
    """The upload form of payments: the filled-in template (its rows name their allocations), and the page's
    plan and year filters, kept for the page shown after it."""

    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary"})
    plan = fields.Integer(validate=validate.Range(min=1, max=2**31))
    year = fields.Integer(validate=validate.Range(min=2000, max=2100))


class NewAllocationQuery(Schema):
    parent = fields.Integer(validate=validate.Range(min=1, max=2**63 - 1))
    plan = fields.Integer(validate=validate.Range(min=1, max=2**31))
    item = fields.String(validate=validate.Length(max=20))


class ProjectDisbursementImportForm(Schema):
    """The projects page's upload of payments: the filled-in template (its rows name their projects), and the
    page's unit filter, kept for the page shown after it."""

    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary"})
    unit = fields.String(validate=validate.Regexp(r"^[0-9]{2,5}$"))


class ProjectPageQuery(Schema):
    unit = fields.String(validate=validate.Regexp(r"^[0-9]{2,5}$"))
    status = fields.String(validate=validate.OneOf(STATUSES))


class PriorityPageQuery(Schema):
    year = fields.Integer(validate=validate.Range(min=2000, max=2100))
    unit = fields.String(validate=validate.Regexp(r"^[0-9]{2,5}$"))


# --------------------------------------------------------------------------- login


@bp.get("/login")
@public
@page(query=LoginPageQuery)
def login_page() -> Any:
    """The login form (it posts to POST /login, which sets the session cookie)."""
    q = page_args(LoginPageQuery())
    message = LOGIN_ERRORS.get(q.get("error", ""), "Đăng nhập không thành công.") if q.get("error") else None
    return render("login.html", next=q.get("next") or "/", message=message)


# --------------------------------------------------------------------------- home: the roll-up


ALLOCATABLE = ("task", "funding", "section")


def _item_groups(items: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """A plan's items that money can be allocated to, grouped under their top-level section (I, II, III...)
    for the form's picker."""
    titles = {i["code"]: i["title"] for i in items if i["parent_code"] is None}
    groups: dict[str, list[dict[str, Any]]] = {}
    for i in items:
        if i["kind"] in ALLOCATABLE:
            top = i["code"].split(".")[0]
            groups.setdefault(f"{top}. {titles.get(top, '')}".strip(" ."), []).append(i)
    return list(groups.items())


def _children(unit: str | None) -> dict[str, str]:
    """Names of the units one level below (district → its communes; province → districts)."""
    if unit is None or unit == units.PROVINCE_CODE:
        return {c: d.name for c, d in units.districts().items()}
    if unit in units.districts():
        return {c.code: c.name for c in units.communes() if c.district == unit}
    return {}


def _by_year_and_source(plan_id: int, years: list[int], unit: str | None) -> dict[str, dict[str, dict[str, int]]]:
    """{year: {source: figures}} for the chart: one aggregation per year that has money."""
    out = {}
    for year in years:
        data = plan_figures(plan_id, year, unit, "web.home")
        if not data["partial"]:
            out[str(year)] = data["total"]["by_source"]
    return out


def _year_end_due(unit: str | None) -> dict[str, Any] | None:
    """For those who record the year end: how many allocations within the unit, of years already over, still
    hold money no carry-over or close has decided, and how much (finance's `year_end_due` list, one row asked)."""
    if g.principal.role not in FINANCE_WRITERS:
        return None
    try:
        answer = rpc("finance", "list_allocations", {"year_end_due": True} | ({"unit": unit} if unit else {}), 1, 1)
    except Unavailable:
        return None  # a notice is never a reason for the page to fail
    return answer if answer["total"] else None


OVERDUE_SHOWN = 5  # the notice names the first steps; the rest are counted


def _settlement_overdue() -> list[dict[str, Any]] | None:
    """For BHXH (and admins): the capitation settlement steps past their due date today of their facilities (the
    advances, results and payments a quarterly report starts, and the reports a contracted quarter owes), newest
    quarter first."""
    if g.principal.role not in BHXH_WRITERS:
        return None
    try:
        steps = capitation.overdue_steps()
    except Unavailable:
        return None  # a notice is never a reason for the page to fail
    return steps or None


def _parent_crumb(unit: str | None) -> dict[str, Any] | None:
    """The unit above a commune, by name; a link only for people who may open it."""
    parent = units.parent_of(unit) if unit and units.level_of(unit) == "commune" else None
    if parent is None or parent == units.PROVINCE_CODE:
        return None
    return {"code": parent, "name": units.known_name(parent), "open": g.principal.sees_unit(parent)}


@bp.get("/")
@allow(*READ_ROLES)
@page(query=HomeQuery)
def home() -> Any:
    """The plans' funding roll-up: per item allocated, disbursed and execution rate, by source, year and unit."""
    q = page_args(HomeQuery())
    plans = plan_list()
    plan_id = q.get("plan") or own_plan_id(plans)
    plan = next((p for p in plans if int(p["id"]) == plan_id), None)
    if plan is None:
        raise NotFound([{"field": "plan", "code": "unknown_plan", "message": f"Không có kế hoạch số hiệu {plan_id}."}])
    unit = scoped_unit(q.get("unit"))
    year = q.get("year")
    data = plan_figures(plan_id, year, unit, "web.home")
    names = source_names()
    all_years = data if year is None else plan_figures(plan_id, None, unit, "web.home")
    years_with_money = sorted(int(y) for y in all_years["total"]["by_year"])
    chart = charts.funding_by_source_over_years(
        _by_year_and_source(plan_id, years_with_money, unit), names, "Kinh phí phân bổ theo nguồn qua các năm"
    )
    children = _children(unit)
    by_unit = [
        {"code": code, "name": children.get(code) or units.known_name(code), "own": code == unit, **figs}
        for code, figs in data["total"]["by_unit"].items()
    ]
    by_unit.sort(key=lambda r: (not r["own"], r["code"]))
    first, last = plan["period"]["from"], plan["period"]["to"]
    # An empty system's landing page says what to do first instead of tables of zeros (web/templates/home.html).
    landing = not any(request.args.get(k) for k in ("plan", "year", "unit"))
    total = all_years["total"]
    start_here = landing and not data["partial"] and not total["by_year"] and not total["allocated"]
    # Each item's targets beside its money: the answer of GET /api/v1/plans/{id}/targets, by item.
    targets: dict[str, list[dict[str, Any]]] = {}
    for t in funding.targets_answer(plan_id, year, unit, "web.home")["items"]:
        targets.setdefault(t["item_code"], []).append(t)
    overdue = _settlement_overdue()
    return render(
        "home.html",
        year_end_due=_year_end_due(unit) if not data["partial"] else None,
        settlement_overdue=overdue,
        overdue_shown=OVERDUE_SHOWN,
        # The facilities the notice names, by name as well as code (the gateway's register).
        overdue_names=facilities.names_of({o["facility_code"] for o in (overdue or [])[:OVERDUE_SHOWN]}),
        step_label=capitation.step_label,
        targets=targets,
        start_here=start_here,
        plans=plans,
        plan=plan,
        year=year,
        unit=unit,
        unit_label=units.known_name(unit),
        parent=_parent_crumb(unit),
        data=data,
        names=names,
        by_unit=by_unit,
        chart=chart,
        years=list(range(first, max(last, clock.today().year) + 1)),
        level=units.level_of(unit) if unit else "province",
    )


# --------------------------------------------------------------------------- allocations


@bp.get("/allocations")
@allow(*READ_ROLES)
@page(query=AllocationListQuery)
def allocations() -> Any:
    """Allocations (phân bổ) with what is left of each, newest first, by plan, year and unit."""
    return _allocations_page(page_args(AllocationListQuery()))


def _allocations_page(q: dict[str, Any], status: int = 200, errors: list[dict[str, Any]] | None = None) -> Any:
    filters: dict[str, Any] = {}
    if q.get("plan"):
        filters["plan_id"] = q["plan"]
    if q.get("year"):
        filters["year"] = q["year"]
    unit = scoped_unit(q.get("unit"))
    if unit is not None:
        filters["unit"] = unit
    if (q.get("decision_no") or "").strip():
        filters["decision_no"] = q["decision_no"] = q["decision_no"].strip()  # shown again as it was matched
    if q.get("year_end"):
        filters["year_end_due"] = True
    answer = rpc("finance", "list_allocations", filters, q.get("page", 1), 50)
    plans = plan_list()
    numbers = {int(p["id"]): p["number"] for p in plans}
    return render(
        "allocations.html",
        status,
        answer=answer,
        q=q,
        unit=unit,
        names=source_names(),
        plans=plans,
        numbers=numbers,
        sheet_plan=q.get("plan") or own_plan_id(plans),
        import_errors=errors or [],
        export_query=urlencode(filters),  # the Excel download of all the page lists, not only the page shown
    )


# The page's filters as an upload form sends them back; anything else is no filter.
_FORM_FILTERS = {"plan": r"[1-9][0-9]{0,8}", "year": r"20[0-9]{2}|2100"}


def _form_filters(*keys: str) -> dict[str, int]:
    return {k: int(request.form[k]) for k in keys if re.fullmatch(_FORM_FILTERS[k], request.form.get(k, ""))}


def _sheet_upload(
    q: dict[str, Any],
    load: Callable[[bytes], dict[str, Any]],
    done: str,
    show: Callable[..., Any] | None = None,
    endpoint: str = "web.allocations",
    **audit: Any,
) -> Any:
    """A filled-in template from a page (form field `file`) through the API's import: refused, the page again
    (`show`, the allocations page by default) with every bad cell named; recorded, `done` (formatted with the
    answer) and the page (`endpoint`) with its filters `q`."""
    upload = request.files.get("file")
    g.audit_details = {"form": {"file": upload.filename if upload else None}, **audit}
    try:
        out = load(upload.read() if upload else b"")
    except WRITE_ERRORS as exc:
        return (show or _allocations_page)(q, form_status(exc), form_errors(exc))
    flash(done.format(**out), "ok")
    return redirect(url_for(endpoint, **q), 303)


@bp.post("/allocations/import")
@allow(*FINANCE_WRITERS)
@page(body=AllocationImportForm, content_type="multipart/form-data")
def import_allocations() -> Any:
    """Upload a filled-in allocation template (form field `file`, the plan in `plan`): the API's import, every
    bad cell named and nothing written when any row is wrong; rows already recorded are not recorded again."""
    # The page's own select sends a plan id; anything else imports against the plan written in the sheet.
    q = _form_filters("plan")
    return _sheet_upload(
        q,
        lambda data: allocation_import.import_workbook(data, q.get("plan")),
        "Đã nhập tệp: {recorded} phân bổ mới được ghi, {already_recorded} dòng đã có từ trước (không ghi lần nữa).",
        plan=q.get("plan"),
    )


@bp.post("/disbursements/import")
@allow(*FINANCE_WRITERS)
@page(body=DisbursementImportForm, content_type="multipart/form-data")
def import_disbursements() -> Any:
    """Upload a filled-in disbursement template (form field `file`): the API's import, every bad cell named and
    nothing written when any row is wrong; vouchers already recorded are not recorded again. The page's plan and
    year come back as they were sent."""
    return _sheet_upload(
        _form_filters("plan", "year"),
        disbursement_import.import_workbook,
        "Đã nhập tệp giải ngân: {recorded} lần chi mới được ghi, {already_recorded} chứng từ đã có từ trước "
        "(không ghi lần nữa).",
    )


def _allocation_form(status: int = 200, errors: list[dict[str, Any]] | None = None, **kw: Any) -> Any:
    parent = None
    parent_id = kw.pop("parent_id", None)
    if parent_id:
        parent = rpc("finance", "get_allocation", parent_id)
        require_unit(parent["recipient_unit"], "parent_allocation_id")
    plans = plan_list()
    items = {int(p["id"]): _item_groups(rpc("finance", "plan_items", int(p["id"]))) for p in plans}
    form = kw.setdefault("form", {})
    if not form.get("plan_id"):
        form["plan_id"] = str(own_plan_id(plans))
    scope = g.principal.unit
    recipients = [(units.PROVINCE_CODE, units.PROVINCE_NAME)] if scope in (None, units.PROVINCE_CODE) else []
    for code, d in units.districts().items():
        if units.within(scope, code):
            recipients.append((code, d.name))
    for c in units.base_communes():
        if units.within(scope, c.code):
            recipients.append((c.code, f"{c.name} ({c.district_name})"))
    return render(
        "allocation_form.html",
        status,
        parent=parent,
        plans=plans,
        items=items,
        names=source_names(),
        surplus_uses=surplus.USES,  # the 20% surplus's fund year and legal use (services/common/surplus.py)
        source_plans=funding.source_plans(),
        recipients=recipients,
        errors=errors or [],
        form=kw.pop("form", {}),
        **kw,
    )


@bp.get("/allocations/new")
@allow(*FINANCE_WRITERS)
@page(query=NewAllocationQuery)
def new_allocation() -> Any:
    """The form for an allocation, or (with `parent`) a sub-allocation passing part of it down a level."""
    q = page_args(NewAllocationQuery())
    form = {"plan_id": str(q.get("plan") or ""), "item_code": q.get("item") or ""}
    return _allocation_form(parent_id=q.get("parent"), form=form)


@bp.post("/allocations/new")
@allow(*FINANCE_WRITERS)
@page(body=AllocationCommandV1)
def create_allocation() -> Any:
    """Record an allocation or a sub-allocation from the form (the same checks as POST /api/v1/allocations)."""
    audit_form()

    def refused(exc: Exception) -> Any:
        parent_id = request.form.get("parent_allocation_id", "")
        # ASCII digits within BIGINT only: "²" or 2^64 re-shown the form as a 500 or a 503
        parent = int(parent_id) if re.fullmatch(r"[0-9]{1,18}", parent_id) else None
        return show_refused(
            exc,
            lambda status, errors, form: _allocation_form(status, errors, parent_id=parent, form=form),
            lambda status, errors, form: _allocation_form(status, errors, form=form),
        )

    def done(out: dict[str, Any]) -> Any:
        kind = "Phân bổ xuống cấp dưới" if out.get("parent_allocation_id") else "Phân bổ"
        flash(f"Đã ghi {kind.lower()} số {out['id']}.", "ok")
        return redirect(url_for("web.allocation", allocation_id=out["id"]), 303)

    return write_form(AllocationCommandV1(), finance.create_allocation, refused, done)


def _allocation_page(
    allocation_id: int, status: int = 200, errors: list[dict[str, Any]] | None = None, which: str | None = None
) -> Any:
    alloc = finance.allocation(allocation_id)
    try:
        linked: int | None = finance.linked_capital(allocation_id)
    except Unavailable:
        linked = None  # finance's own figures still show; the card says investment did not answer
    plan = next((p for p in plan_list() if int(p["id"]) == int(alloc["plan_id"])), None)
    item = next((i for i in rpc("finance", "plan_items", alloc["plan_id"]) if i["code"] == alloc["item_code"]), None)
    return render(
        "allocation.html",
        status,
        a=alloc,
        plan=plan,
        item_title=item["title"] if item else "",
        names=source_names(),
        unit_label=units.known_name(alloc["recipient_unit"]),
        errors=errors or [],
        which=which,
        form=request.form.to_dict() if errors else {},
        today=clock.today().isoformat(),
        year_end_open=finance.year_end_open(alloc, clock.today()),
        linked=linked,
    )


@bp.get("/allocations/<allocation_id>")
@allow(*READ_ROLES)
@page()
def allocation(allocation_id: str) -> Any:
    """One allocation with its history (adjustments, disbursements, reversals, sub-allocations) and forms."""
    return _allocation_page(record_id(allocation_id))


def _write_on_allocation(
    text_id: str, schema: Schema, write: Callable[[int, dict[str, Any]], dict[str, Any]], which: str, done: str
) -> Any:
    allocation_id = record_id(text_id)
    audit_form(allocation_id=allocation_id)
    return write_form(
        schema,
        lambda cmd: write(allocation_id, cmd),
        lambda exc: _allocation_page(allocation_id, form_status(exc), form_errors(exc), which),
        then_go(done, "web.allocation", allocation_id=allocation_id),
    )


@bp.post("/allocations/<allocation_id>/disbursements")
@allow(*FINANCE_WRITERS)
@page(body=DisbursementCommandV1)
def disburse(allocation_id: str) -> Any:
    """Record a disbursement (giải ngân) against an allocation from the form."""
    return _write_on_allocation(
        allocation_id, DisbursementCommandV1(), finance.disburse, "disbursement", "Đã ghi giải ngân."
    )


@bp.post("/allocations/<allocation_id>/adjustments")
@allow(*FINANCE_WRITERS)
@page(body=AdjustmentCommandV1)
def adjust(allocation_id: str) -> Any:
    """Record an adjustment (điều chỉnh, up or down) of an allocation from the form."""
    return _write_on_allocation(
        allocation_id, AdjustmentCommandV1(), finance.adjust, "adjustment", "Đã ghi điều chỉnh."
    )


@bp.post("/allocations/<allocation_id>/carry-over")
@allow(*FINANCE_WRITERS)
@page(body=YearEndCommandV1)
def carry_over(allocation_id: str) -> Any:
    """Chuyển nguồn: carry what a past year's allocation still holds to the next year (as the API's carry-over)."""
    return _write_on_allocation(
        allocation_id, YearEndCommandV1(), finance.carry_over, "carry_over", "Đã ghi chuyển nguồn."
    )


@bp.post("/allocations/<allocation_id>/close")
@allow(*FINANCE_WRITERS)
@page(body=YearEndCommandV1)
def close_allocation(allocation_id: str) -> Any:
    """Quyết toán (đóng): what a past year's allocation still holds lapses (as the API's close)."""
    return _write_on_allocation(
        allocation_id, YearEndCommandV1(), finance.close_allocation, "close", "Đã ghi quyết toán (đóng)."
    )


@bp.post("/allocations/<allocation_id>/year-end-records/<year_end_id>/reversals")
@allow(*FINANCE_WRITERS)
@page(body=YearEndReversalCommandV1)
def reverse_year_end(allocation_id: str, year_end_id: str) -> Any:
    """Hủy (all or part of) one of this allocation's carry-overs or closes by its own decision (as the API's
    reversals); the service decides what can still be reversed."""
    target = record_id(year_end_id)
    if target not in {int(x["id"]) for x in finance.allocation(record_id(allocation_id)).get("year_end", [])}:
        raise NotFound([{"field": "id", "code": "unknown_year_end_record",
                         "message": f"Khoản phân bổ này không có bản ghi cuối năm số {target}."}])
    return _write_on_allocation(
        allocation_id, YearEndReversalCommandV1(), lambda _allocation, cmd: finance.reverse_year_end(target, cmd),
        f"reversal-{target}", "Đã ghi hủy bản ghi cuối năm số {reverses_id}.",
    )


# --------------------------------------------------------------------------- stations and investment


@bp.get("/stations/<code>")
@allow(*READ_ROLES)
@page()
def station(code: str) -> Any:
    """A commune health station: what it received (allocations by item and source), its projects and capital,
    its criteria history, and its versions through mergers."""
    require_station(code, "code")
    info = rpc("investment", "get_station", code, None)
    budget = rpc("finance", "funding_by_unit", code, None) if units.is_known_unit(code) else None
    allocs = rpc("finance", "list_allocations", {"unit": code}, 1, 200) if units.is_known_unit(code) else None
    return render(
        "station.html",
        s=info,
        budget=budget,
        allocs=allocs,
        names=source_names(),
        kinds=KINDS_VN,
        statuses=STATUS_VN,
        known_name=units.known_name,
    )


@bp.get("/investment")
@allow(*READ_ROLES)
@page(query=ProjectPageQuery)
def projects() -> Any:
    """Investment projects at stations (mục II.5) with estimate, capital and disbursement by source."""
    return _projects_page(page_args(ProjectPageQuery()))


def _projects_page(q: dict[str, Any], status: int = 200, errors: list[dict[str, Any]] | None = None) -> Any:
    unit = scope_unit(q.get("unit"))
    items = rpc("investment", "list_projects", unit, None, q.get("status"), None, None)
    details = [rpc("investment", "get_project", p["id"]) for p in items[:100]]
    return render(
        "projects.html",
        status,
        projects=details,
        more=max(0, len(items) - 100),
        unit=unit,
        unit_label=units.known_name(unit),
        names=source_names(),
        kinds=KINDS_VN,
        statuses=STATUS_VN,
        q=q,
        import_errors=errors or [],
    )


@bp.post("/investment/disbursements/import")
@allow(*FINANCE_WRITERS)
@page(body=ProjectDisbursementImportForm, content_type="multipart/form-data")
def import_project_disbursements() -> Any:
    """Upload a filled-in project payment template (form field `file`): the API's import, every bad cell named
    and nothing written when any row is wrong; vouchers already recorded are not recorded again. The page's
    unit comes back as it was sent."""
    unit = request.form.get("unit", "")
    return _sheet_upload(
        {"unit": unit} if re.fullmatch(r"[0-9]{2,5}", unit) else {},
        lambda data: project_disbursement_import.import_workbook(data, source_names()),
        "Đã nhập tệp giải ngân vốn đầu tư: {recorded} lần chi mới được ghi, {already_recorded} chứng từ đã có từ "
        "trước (không ghi lần nữa).",
        _projects_page,
        "web.projects",
    )


@bp.get("/investment/priorities")
@allow(*READ_ROLES)
@page(query=PriorityPageQuery)
def priorities() -> Any:
    """The stations ranked for next year's investment list, each with the reasons for its score."""
    q = page_args(PriorityPageQuery())
    year = q.get("year") or clock.today().year + 1
    unit = scope_unit(q.get("unit"))
    answer = rpc("investment", "priorities", year, unit)
    # From 01/7/2025 there are no districts: the column names the one a station's commune belonged to.
    return render("priorities.html", answer=answer, year=year, unit=unit, unit_label=units.known_name(unit))
