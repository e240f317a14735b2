"""Pages for BHXH officers (and readers of their figures): claim files uploaded with their progress, counts
and errors (filterable, downloadable as CSV and Excel), assessment results (giám định) entered per claim, and
the reconciliation (đối soát) of a facility and quarter with its capitation fund against its spend."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import flash, g, redirect, request, url_for
from flask_wtf.csrf import CSRFError
from marshmallow import Schema, ValidationError, fields, validate
from werkzeug.exceptions import RequestEntityTooLarge

from services.common import units
from services.common.blobstore import max_upload_bytes
from services.common.contracts import claims as contract
from services.common.contracts.fields import MoneyInputError, parse_money2
from services.common.errors import DomainError
from services.common.periods import PeriodError, read_quarter
from services.gateway.application import capitation, claims, facilities
from services.gateway.application.access import HEALTH_ROLES, READ_ROLES, allow, file_status_for_role
from services.gateway.application.facilities import facility_name, require_facility, scoped_facilities
from services.gateway.application.remote import rpc
from services.gateway.hooks import streamed
from services.gateway.web import charts
from services.gateway.web.common import (
    BHXH_WRITERS,
    WRITE_ERRORS,
    audit_form,
    bp,
    form_errors,
    form_status,
    page,
    page_args,
    record_id,
    render,
    verify_csrf,
    visible,
    wants_html,
)
from services.gateway.web.multipart import StreamedForm

SEVERITIES = {"critical": "Nghiêm trọng", "warning": "Cảnh báo"}
ERRORS_PER_PAGE = 100


class PeriodText(fields.String):
    """A quarter as a person types it ("Quý III/2024" as the pages display it, "Q3/2024", "quý 3 năm 2024",
    "2024-Q3"), read by the one reader (services/common/periods.py) and handed on as the contract's 2024-Q3."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return str(read_quarter(text))
        except PeriodError as exc:
            raise ValidationError(str(exc)) from None


class FilesQuery(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))


class FilePageQuery(Schema):
    code = fields.String(validate=validate.Length(max=40))
    severity = fields.String(validate=validate.OneOf(list(SEVERITIES)))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))


class UploadForm(Schema):
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary"})


class RecordsQuery(Schema):
    facility = fields.String(validate=contract.FACILITY, metadata={"example": "91060"})
    period = PeriodText(metadata={"example": "2024-Q3"})
    status = fields.String(validate=validate.OneOf(["accepted", "rejected", "pending", "assessed"]))
    ma_lk = fields.String(validate=validate.Length(max=100), metadata={"example": "1073660"})
    card = fields.String(validate=validate.Length(max=255), metadata={"description": "one card (MA_THE_BHYT)"})
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))


SEARCH_FIELDS = ("ma_lk", "card")  # a claim looked up by these is looked for in every quarter unless one is given


class AssessmentForm(Schema):
    """The assessment page's form: facility, where to go back, and per claim `approved__<MA_LK>` and
    `reason__<MA_LK>` (loaded into contract.AssessmentRequestV1)."""

    facility_code = fields.String(required=True, validate=contract.FACILITY)
    period = PeriodText()


class ReconciliationPageQuery(Schema):
    facility = fields.String(validate=contract.FACILITY, metadata={"example": "91060"})
    period = PeriodText(metadata={"example": "2024-Q3"})


# --------------------------------------------------------------------------- claim files


@bp.get("/claims")
@allow(*READ_ROLES)
@page(query=FilesQuery)
def claim_files() -> Any:
    """Claim files received (newest first) with their status and counts; BHXH officers upload new ones here."""
    q = page_args(FilesQuery())
    answer = rpc("claims", "list_files", q["page"], 30, scoped_facilities(), None)
    return render("claims.html", answer=answer, page_no=q["page"], limit_mb=max_upload_bytes() // (1024 * 1024))


@bp.post("/claims/files")
@allow(*BHXH_WRITERS)
@streamed
@page(body=UploadForm, content_type="multipart/form-data")
def upload_claim_file() -> Any:
    """Upload a claim file (GIAMDINHHS XML) from the form: streamed to storage as the API does (the size the page
    promises), checked against the uploader's unit on its envelope, processed in the background. A refusal is
    this page again with the reason in Vietnamese for a browser (the progress-bar script asks for HTML too);
    a program without Accept: text/html gets the API's JSON error shape, as from every page."""
    limit = max_upload_bytes()
    filename = ""
    try:
        try:
            form = StreamedForm(request.stream, request.mimetype_params.get("boundary", ""))
            fields, part = form.until_file()
        except RequestEntityTooLarge:
            raise DomainError.one(
                "payload_too_large", f"Tệp hồ sơ vượt quá giới hạn {limit // (1024 * 1024)} MB.", "file", 413
            ) from None
        try:
            verify_csrf(fields.get("csrf_token") or request.headers.get("X-CSRFToken"))
        except CSRFError:
            claims.drain(request.stream)  # the browser gets the page saying why, not a reset connection
            raise
        if part is None or part.name != "file" or not part.filename:
            raise DomainError.one("required", "Vui lòng chọn tệp hồ sơ XML.", "file", 422)
        filename = claims.shown_name(part.filename) or ""
        blob, head = claims.store_upload(part, limit)
        out = claims.register(blob, head, filename)
    except WRITE_ERRORS as exc:
        claims.drain(request.stream)
        g.audit_details = {"filename": filename} if filename else {}
        if not wants_html():
            raise  # a program gets the API's JSON error shape (web/common.py), a person this page
        answer = rpc("claims", "list_files", 1, 30, scoped_facilities(), None)
        return render(
            "claims.html",
            form_status(exc),
            answer=answer,
            page_no=1,
            errors=form_errors(exc),
            limit_mb=limit // (1024 * 1024),
        )
    g.audit_details = {
        "file_id": out["id"],
        "sha256": blob.sha256,
        "size": blob.size,
        "duplicate": out["duplicate"],
        "filename": filename,
        "result_id": out["id"],
    }
    if out["duplicate"]:
        flash(f"Tệp này đã được gửi trước đây (tệp số {out['id']}); không tính lại hồ sơ nào.", "warn")
    else:
        flash(f"Đã nhận tệp {filename}; đang xử lý.", "ok")
    return redirect(url_for("web.claim_file", file_id=out["id"]), 303)


@bp.get("/claims/files/<file_id>")
@allow(*READ_ROLES)
@page(query=FilePageQuery)
def claim_file(file_id: str) -> Any:
    """One claim file: progress while it runs, its counts, and its errors (by code and severity)."""
    number = record_id(file_id)
    q = page_args(FilePageQuery())
    offset = (q["page"] - 1) * ERRORS_PER_PAGE
    status = rpc("claims", "file_status", number, ERRORS_PER_PAGE, offset, q.get("code"), q.get("severity"))
    claims.visible_file(status)
    shown = status.get("errors_total", 0) if not (q.get("code") or q.get("severity")) else None
    return render(
        "claim_file.html",
        f=visible(file_status_for_role(status)),
        q=q,
        severities=SEVERITIES,
        per_page=ERRORS_PER_PAGE,
        shown_total=shown,
    )


# --------------------------------------------------------------------------- claims and assessments


@bp.get("/claims/records")
@allow(*HEALTH_ROLES)  # claims one by one are health data; other roles read the reconciliation
@page(query=RecordsQuery)
def claim_records() -> Any:
    """Claims of a facility and quarter; BHXH officers enter the assessment results (approved amount, reason)."""
    q = page_args(RecordsQuery())
    return _records_page(q)


def _records_page(q: dict[str, Any], status: int = 200, errors: list[dict[str, Any]] | None = None) -> Any:
    answer = None
    search = {k: q[k].strip() for k in SEARCH_FIELDS if (q.get(k) or "").strip()}
    if search:  # a visit looked up by its MA_LK or a card: in every quarter of the facility unless one is given
        period, quarters = q.get("period"), facilities.quarters_on_record(q.get("facility"))
    else:
        period, quarters = facilities.quarter_choice(q.get("facility"), q.get("period"))
    q = {**q, **search, "period": period}
    if search or (q.get("facility") and q.get("period")):  # a search may span every facility the person sees
        if q.get("facility"):
            require_facility(q["facility"], "facility")
        filters = {"page": q.get("page", 1), "per_page": 100, **search}
        if q.get("facility"):
            filters["facility"] = q["facility"]
        if q.get("period"):
            filters["period"] = q["period"]
        if q.get("status"):
            filters["status"] = q["status"]
        answer = visible(rpc("claims", "list_claims", g.principal.sees_personal_data, scoped_facilities(), **filters))
        answer["items"] = one_row_per_claim(answer["items"])
    reasons = rpc("claims", "reasons")
    return render(
        "records.html",
        status,
        answer=answer,
        q=q,
        facilities=facilities.picker(),
        quarters=quarters,
        reasons=reasons,
        errors=errors or [],
        can_assess=g.principal.role in BHXH_WRITERS,
        typed=request.form.to_dict() if errors else {},  # a refusal keeps every amount and reason typed
    )


def one_row_per_claim(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A MA_LK sent in several files is one claim to assess: the accepted record stands for it (as
    get_claim chooses), else the latest; `files` says how many records of it came in."""
    chosen: dict[tuple[str, str], dict[str, Any]] = {}
    count: dict[tuple[str, str], int] = {}
    for c in items:
        key = (c["facility_code"], c["ma_lk"])  # a MA_LK names a visit within its facility
        count[key] = count.get(key, 0) + 1
        rank = (c["status"] != "rejected", c.get("id") or 0)
        if key not in chosen or rank >= (chosen[key]["status"] != "rejected", chosen[key].get("id") or 0):
            chosen[key] = c
    # dicts keep the first-seen order
    return [{**c, "files": count[(c["facility_code"], c["ma_lk"])]} for c in chosen.values()]


@bp.post("/claims/assessments")
@allow(*BHXH_WRITERS)
@page(body=AssessmentForm)
def assess() -> Any:
    """Record the assessment results entered on the claims page (the same checks as the API's assessments)."""
    form = request.form
    audit_form()
    search = {k: form[k][:255] for k in SEARCH_FIELDS if form.get(k)}  # the search it was entered from
    q = {"facility": form.get("facility_code", ""), "period": form.get("period") or None, **search}
    try:
        q["period"] = str(read_quarter(q["period"])) if q["period"] else None
    except PeriodError:
        q["period"] = None
    try:
        head = AssessmentForm().load({k: form[k] for k in ("facility_code", "period") if form.get(k)})
        items = []
        unread: dict[str, list[str]] = {}
        for key, value in form.items():
            if not key.startswith("approved__") or not value.strip():
                continue
            ma_lk = key.removeprefix("approved__")
            try:  # the gateway's one money reader ("42.900,50", "42 900,5", "42900.50"; "1.000.00" refused)
                amount = str(parse_money2(value))
            except MoneyInputError as exc:
                unread[key] = [str(exc)]
                continue
            item: dict[str, Any] = {"ma_lk": ma_lk, "approved_amount": amount}
            if form.get(f"reason__{ma_lk}"):
                item["reason_code"] = form[f"reason__{ma_lk}"]
            items.append(item)
        if unread:
            raise ValidationError(unread)
        if not items:
            raise DomainError.one("required", "Chưa nhập số tiền được duyệt cho hồ sơ nào.", "items", 422)
        out = claims.record_assessments(
            contract.AssessmentRequestV1().load({"facility_code": head["facility_code"], "items": items})
        )
    except WRITE_ERRORS as exc:
        if not (q["facility"] and (q["period"] or search)):
            q = {}
        try:
            return _records_page(q, form_status(exc), form_errors(exc))
        except (DomainError, ValidationError):
            return _records_page({}, form_status(exc), form_errors(exc))
    g.audit_details.update(
        batch_id=out["id"], facility_code=out["facility_code"], assessed=out["assessed"], result_id=out["id"]
    )
    flash(f"Đã ghi kết quả giám định {out['assessed']} hồ sơ (đợt số {out['id']}).", "ok")
    target = {"facility": out["facility_code"], **({"period": q["period"]} if q.get("period") else {}), **search}
    return redirect(url_for("web.claim_records", **target), 303)


# --------------------------------------------------------------------------- reconciliation


def _quarters(period: str) -> list[str]:
    year = period.split("-Q")[0]
    return [f"{year}-Q{n}" for n in range(1, 5)]


@bp.get("/reconciliation")
@allow(*READ_ROLES)
@page(query=ReconciliationPageQuery)
def reconciliation() -> Any:
    """A facility and quarter reconciled: claims requested = approved + rejected + pending, capitation fund
    against the spend of the cards registered there (treated there or elsewhere), advances; the quarter's
    settlement steps with their due dates and what is overdue; and the year's quarters side by side in a chart."""
    q = page_args(ReconciliationPageQuery())
    data, chart = None, None
    facility, period = q.get("facility"), q.get("period")
    period, on_record = facilities.quarter_choice(facility, period)  # `quarters` below is the chart's
    q["period"] = period
    if facility and period:
        require_facility(facility, "facility")
        scope = scoped_facilities()
        data = capitation.reconciliation(facility, period)  # with the quarter's dated steps, what is overdue
        quarters = []
        for p in _quarters(period):
            row = data if p == period else rpc("claims", "reconciliation", facility, p, scope)
            cap = row.get("capitation") or {}
            quarters.append((f"Quý {p[-1]}", cap.get("fund") or "0", cap.get("spend") or "0"))
        chart = charts.fund_vs_spend(quarters, f"Quỹ định suất và chi phí theo quý năm {period[:4]}")
    checks = None
    if data:
        c = data["claims"]
        total = Decimal(c["approved"]) + Decimal(c["rejected"]) + Decimal(c["pending"])
        checks = total == Decimal(c["requested"])
    return render(
        "reconciliation.html",
        q=q,
        data=data,
        chart=chart,
        facilities=facilities.picker(),
        quarters=on_record,
        checks=checks,
        step_label=capitation.step_label,
        facility_label=facility_name(facility),
        unit_names={c.code: c.name for c in units.communes()},
    )
