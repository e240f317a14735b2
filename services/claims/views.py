"""Read side of claims: file status, claims list, reconciliation. Figures are aggregated in the database.

Functions of a session returning dicts; they import the models, services.common and pure rules of
services/claims/domain, never the write side (handlers, repository, unit of work).
Sums of money are taken in whole cents (`models.cents`), exact on both engines (SQLite keeps cents: ExactNumeric).
Personal data (NĐ 13/2023/NĐ-CP) leaves this module only through `present_claim`, masked unless the
caller may see it: that function is the one place where masking is decided.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, case, false, func, literal, literal_column, or_, select, union
from sqlalchemy.orm import Session

from services.claims.domain.assessment import outcome
from services.claims.domain.periods import period_months
from services.claims.domain.totals import FIELDS
from services.claims.models import (
    JOINED_CARDS,
    Assessment,
    AssessmentBatch,
    CapitationAdvance,
    CapitationFund,
    Claim,
    ClaimFile,
    ClaimFormatNote,
    ClaimIssue,
    ClaimLine,
    ClaimTable,
    FacilityQuarterTotal,
    cents,
)
from services.claims.parsing.notes import note_message
from services.common.errors import DomainError, NotFound
from services.common.kept import KeptAnswers
from services.common.money import CENT, decimal_str
from services.common.periods import PeriodError, Quarter, quarter_or_refuse

PERSONAL = ("ho_ten", "so_cccd", "ma_the_bhyt", "ma_bn", "ngay_sinh", "dia_chi", "dien_thoai")
MAX_PER_PAGE = 500
MAX_ISSUES_PAGE = 5000


# --- helpers --------------------------------------------------------------------------------------


def money(cents_value: int | None) -> str:
    return decimal_str(Decimal(int(cents_value or 0)) * CENT)


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _amount(value: Decimal | None) -> str | None:
    return decimal_str(value) if value is not None else None


def latest_assessments() -> Any:
    """claim_id -> id of its newest assessment (the one that counts)."""
    return (
        select(Assessment.claim_id.label("claim_id"), func.max(Assessment.id).label("assessment_id"))
        .group_by(Assessment.claim_id)
        .subquery("latest")
    )


def _scope(column: Any, facilities: list[str] | None) -> list[ColumnElement[bool]]:
    """The conditions restricting `column` to the caller's facilities: none for None (no restriction); for a list,
    only those facilities (an empty list sees nothing)."""
    if facilities is None:
        return []
    return [column.in_(facilities) if facilities else false()]


def health(session: Session) -> dict[str, Any]:
    """The database answers."""
    session.execute(select(1))
    return {"status": "ok"}


# --- files ----------------------------------------------------------------------------------------


def get_file(session: Session, file_id: int) -> ClaimFile:
    row = session.get(ClaimFile, file_id)
    if row is None:
        raise NotFound([{"field": "id", "code": "unknown_file", "message": f"Không có tệp hồ sơ số {file_id}."}])
    return row


def issue_dict(i: ClaimIssue) -> dict[str, Any]:
    return {
        "ma_lk": i.ma_lk,
        "record_index": i.record_index,
        "table": i.table_name,
        "field": i.field,
        "code": i.code,
        "severity": i.severity,
        "message": i.message,
    }


def file_summary(f: ClaimFile) -> dict[str, Any]:
    return {
        "id": f.id,
        "status": f.status,
        "phase": f.phase,
        "sha256": f.sha256,
        "size": f.size,
        "filename": f.filename,
        "bytes_processed": f.bytes_processed,
        "facility_code": f.facility_code,
        "uploaded_at": _iso(f.uploaded_at),
        "finished_at": _iso(f.finished_at),
        "records": {
            "total": f.total,
            "accepted": f.accepted,
            "rejected": f.rejected,
            "processed": f.accepted + f.rejected,
            "warnings": f.warnings,
        },
    }


def file_status(
    session: Session,
    file_id: int,
    limit: int = 100,
    offset: int = 0,
    code: str | None = None,
    severity: str | None = None,
) -> dict[str, Any]:
    """The contract's file status, with a page of its issues (whole-file ones first) and counts by code."""
    f = get_file(session, file_id)
    out = file_summary(f)
    where = [ClaimIssue.file_id == file_id]
    if code:
        where.append(ClaimIssue.code == code)
    if severity:
        where.append(ClaimIssue.severity == severity)
    rows = session.scalars(
        select(ClaimIssue).where(*where).order_by(ClaimIssue.id).offset(max(0, offset)).limit(max(0, limit))
    )
    out["errors"] = [issue_dict(i) for i in rows]
    counts = session.execute(
        select(ClaimIssue.code, func.count()).where(ClaimIssue.file_id == file_id).group_by(ClaimIssue.code)
    ).all()
    out["errors_by_code"] = {c: int(n) for c, n in sorted(counts)}
    out["errors_total"] = int(session.scalar(select(func.count()).select_from(ClaimIssue).where(*where)) or 0)
    out["format_notes"] = format_notes(session, file_id)
    return out


def format_notes(session: Session, file_id: int) -> list[dict[str, Any]]:
    """What the reader repaired to read the file: kind, table (None: the envelope), how many records, and the
    Vietnamese text BHXH passes on to the hospital. Rows are per committed batch: summed here."""
    rows = session.execute(
        select(ClaimFormatNote.kind, ClaimFormatNote.table_name, func.sum(ClaimFormatNote.records))
        .where(ClaimFormatNote.file_id == file_id)
        .group_by(ClaimFormatNote.kind, ClaimFormatNote.table_name)
    ).all()
    notes = [
        {"kind": kind, "table": table, "records": int(n or 0), "message": note_message(kind, table, int(n or 0))}
        for kind, table, n in rows
    ]
    return sorted(notes, key=lambda n: (n["table"] is not None, _table_order(n["table"]), n["kind"]))


def _table_order(table: str | None) -> int:
    return int(table[3:]) if table and table[3:].isdigit() else 99


def file_issues_after(session: Session, file_id: int, after_id: int, limit: int) -> dict[str, Any]:
    """A page of a file's issues by id (keyset): the gateway streams the CSV from these pages (1 to 5,000 a page:
    a larger `limit` is cut, not refused)."""
    get_file(session, file_id)
    limit = min(max(1, limit), MAX_ISSUES_PAGE)
    rows = list(
        session.scalars(
            select(ClaimIssue)
            .where(ClaimIssue.file_id == file_id, ClaimIssue.id > after_id)
            .order_by(ClaimIssue.id)
            .limit(limit)
        )
    )
    return {"items": [issue_dict(i) for i in rows], "last_id": rows[-1].id if rows else None}


def list_files(
    session: Session, page: int, per_page: int, facilities: list[str] | None, status: str | None = None
) -> dict[str, Any]:
    where = _scope(ClaimFile.facility_code, facilities)
    if status:
        where.append(ClaimFile.status == status)
    total = session.scalar(select(func.count()).select_from(ClaimFile).where(*where)) or 0
    rows = session.scalars(
        select(ClaimFile).where(*where).order_by(ClaimFile.id.desc()).offset((page - 1) * per_page).limit(per_page)
    )
    return {"items": [file_summary(f) for f in rows], "page": page, "per_page": per_page, "total": int(total)}


def facilities_seen(session: Session, registered: list[str]) -> list[dict[str, Any]]:
    """Facilities (MA_CSKCB) that uploaded files name, on the envelope or in the records, and that are not in
    `registered` (the gateway's register): what an admin has left to map to a unit. Newest first."""
    seen: dict[str, dict[str, Any]] = {}
    files = session.execute(
        select(ClaimFile.facility_code, func.count(), func.max(ClaimFile.uploaded_at))
        .where(ClaimFile.facility_code.is_not(None))
        .group_by(ClaimFile.facility_code)
    )
    for code, n, last in files:
        seen[code] = {"facility_code": code, "files": int(n), "claims": 0, "last_seen": _iso(last)}
    for code, n in session.execute(select(Claim.facility_code, func.count()).group_by(Claim.facility_code)):
        if code:
            seen.setdefault(code, {"facility_code": code, "files": 0, "claims": 0, "last_seen": None})["claims"] = n
    out = [v for k, v in seen.items() if k not in set(registered)]
    return sorted(out, key=lambda v: (v["last_seen"] or "", v["facility_code"]), reverse=True)


# --- claims ---------------------------------------------------------------------------------------


MASK = "***"  # the same mask the gateway's response filter applies (services/gateway/access.py)


def mask(value: Any) -> Any:
    """How a personal value looks to a role that may not see it (None stays None: nothing to hide)."""
    return None if value is None else MASK


def present_claim(row: dict[str, Any], personal: bool) -> dict[str, Any]:
    """The only place where a claim's personal fields are shown or masked."""
    if not personal:
        for name in PERSONAL:
            if name in row:
                row[name] = mask(row[name])
    return row


def _claim_dict(c: Claim, a: Assessment | None) -> dict[str, Any]:
    return {
        "id": c.id,
        "ma_lk": c.ma_lk,
        "facility_code": c.facility_code,
        "status": c.status,
        "period": f"{c.period_year}-{c.period_month:02d}" if c.period_year and c.period_month else None,
        "standard": c.standard,
        "ho_ten": c.ho_ten,
        "ngay_sinh": _birth(c),
        "gioi_tinh": c.gioi_tinh,
        "so_cccd": c.so_cccd,
        "ma_bn": c.ma_bn,
        "dia_chi": c.dia_chi,
        "dien_thoai": c.dien_thoai,
        "ma_the_bhyt": c.ma_the_bhyt,
        "ma_benh_chinh": c.ma_benh_chinh,
        "ma_benh_kt": c.ma_benh_kt.split(";") if c.ma_benh_kt else [],
        "ma_loai_kcb": c.ma_loai_kcb,
        "ngay_vao": _iso(c.ngay_vao),
        "ngay_ra": _iso(c.ngay_ra),
        "t_tongchi_bv": _amount(c.t_tongchi_bv),
        "t_tongchi_bh": _amount(c.t_tongchi_bh),
        "t_bntt": _amount(c.t_bntt),
        "t_bncct": _amount(c.t_bncct),
        "t_bhtt": _amount(c.t_bhtt),
        "t_bhtt_gdv": _amount(c.t_bhtt_gdv),
        "assessment": _assessment_dict(c, a),
        "file_id": c.file_id,
        "record_index": c.record_index,
    }


def _birth(c: Claim) -> str | None:
    """A partial birth date as written is kept as such, in ISO's reduced precision: '1956', '1956-03'."""
    raw = c.ngay_sinh_raw
    if raw and c.ngay_sinh is not None:
        month = raw[4:6]
        return f"{raw[:4]}-{month}" if month not in ("", "00") else raw[:4]
    return _iso(c.ngay_sinh)


def _assessment_dict(c: Claim, a: Assessment | None) -> dict[str, Any] | None:
    if c.status != "accepted":
        return None
    if a is None:
        return {"status": "pending"}
    return {
        "status": outcome(a.requested, a.approved_amount),
        "approved_amount": decimal_str(a.approved_amount),
        "rejected_amount": decimal_str(a.requested - a.approved_amount),
        "reason_code": a.reason_code,
        "assessed_at": _iso(a.created_at),
    }


def card_clause(card: str) -> ColumnElement[bool]:
    """Claims made under `card`: those of that one card (its index), and the visits under several cards, one of
    them this card ("card;card", QĐ 130), read from the small partial index of joined values (migration 0011: the
    literal pattern lets both engines prove it applies)."""
    card = card.strip().upper()
    joined = (literal(";") + Claim.ma_the_bhyt + literal(";")).contains(f";{card};", autoescape=True)
    ids = union(
        select(Claim.id).where(Claim.ma_the_bhyt == card),
        select(Claim.id).where(Claim.ma_the_bhyt.like(literal_column(f"'{JOINED_CARDS}'")), joined),
    )
    return Claim.id.in_(ids.scalar_subquery())


def list_claims(
    session: Session,
    *,
    personal: bool,
    facilities: list[str] | None = None,
    facility: str | None = None,
    period: str | None = None,
    status: str | None = None,
    card: str | None = None,
    diagnosis: str | None = None,
    file_id: int | None = None,
    ma_lk: str | None = None,
    page: int = 1,
    per_page: int = 50,
) -> dict[str, Any]:
    latest = latest_assessments()
    where: list[Any] = _scope(Claim.facility_code, facilities)
    if facility:
        where.append(Claim.facility_code == facility)
    if period:
        year, months = period_months(period)
        where.append(Claim.period_year == year)
        if len(months) < 12:
            where.append(Claim.period_month.in_(months))
    if status in ("accepted", "rejected"):
        where.append(Claim.status == status)
    elif status == "pending":
        where += [Claim.status == "accepted", latest.c.assessment_id.is_(None)]
    elif status == "assessed":
        where += [Claim.status == "accepted", latest.c.assessment_id.is_not(None)]
    elif status:
        raise DomainError.one(
            "invalid_status", "Trạng thái phải là accepted, rejected, pending hoặc assessed.", "status"
        )
    if card and card.strip():
        where.append(card_clause(card))
    if diagnosis:
        code = diagnosis.strip().strip("*").upper().replace(".", "")
        code = code[:3] + "." + code[3:] if len(code) > 3 else code
        where.append(or_(Claim.ma_benh_chinh == code, Claim.ma_benh_chinh.like(code + "%")))
    if file_id is not None:
        where.append(Claim.file_id == file_id)
    if ma_lk:
        where.append(Claim.ma_lk == ma_lk)
    base = select(Claim, Assessment).outerjoin(latest, latest.c.claim_id == Claim.id)
    base = base.outerjoin(Assessment, Assessment.id == latest.c.assessment_id).where(*where)
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    per_page = max(1, min(per_page, MAX_PER_PAGE))
    rows = session.execute(base.order_by(Claim.id).offset((page - 1) * per_page).limit(per_page)).all()
    items = [present_claim(_claim_dict(c, a), personal) for c, a in rows]
    return {"items": items, "page": page, "per_page": per_page, "total": int(total)}


def get_claim(
    session: Session, facility: str, ma_lk: str, *, personal: bool, facilities: list[str] | None = None
) -> dict[str, Any]:
    """The accepted claim of a facility (else the latest rejected record) with its lines and assessment history."""
    if facilities is not None and facility not in facilities:
        raise NotFound([{"field": "ma_lk", "code": "unknown_claim", "message": f"Không có hồ sơ MA_LK {ma_lk}."}])
    c = session.scalar(
        select(Claim)
        .where(Claim.facility_code == facility, Claim.ma_lk == ma_lk)
        .order_by((Claim.status == "accepted").desc(), Claim.id.desc())
        .limit(1)
    )
    if c is None:
        raise NotFound([{"field": "ma_lk", "code": "unknown_claim", "message": f"Không có hồ sơ MA_LK {ma_lk}."}])
    history = list(session.scalars(select(Assessment).where(Assessment.claim_id == c.id).order_by(Assessment.id)))
    out = _claim_dict(c, history[-1] if history else None)
    out["lines"] = [
        {
            "table": ln.table_name,
            "stt": ln.stt,
            "item_code": ln.item_code,
            "name": ln.name,
            "ma_nhom": ln.ma_nhom,
            "quantity": str(ln.quantity) if ln.quantity is not None else None,
            "unit_price": str(ln.unit_price) if ln.unit_price is not None else None,
            "thanh_tien_bv": _amount(ln.thanh_tien_bv),
            "thanh_tien_bh": _amount(ln.thanh_tien_bh),
            "t_bhtt": _amount(ln.t_bhtt),
            "ma_pttt": ln.ma_pttt,
        }
        for ln in session.scalars(select(ClaimLine).where(ClaimLine.claim_id == c.id).order_by(ClaimLine.id))
    ]
    out["other_tables"] = sorted(
        session.scalars(select(ClaimTable.table_name).where(ClaimTable.claim_id == c.id)).all()
    )
    out["issues"] = [
        issue_dict(i)
        for i in session.scalars(
            select(ClaimIssue)
            .where(ClaimIssue.file_id == c.file_id, ClaimIssue.record_index == c.record_index)
            .order_by(ClaimIssue.id)
        )
    ]
    out["assessments"] = [
        {
            "id": a.id,
            "approved_amount": decimal_str(a.approved_amount),
            "reason_code": a.reason_code,
            "note": a.note,
            "assessed_at": _iso(a.created_at),
        }
        for a in history
    ]
    return present_claim(out, personal)


# --- reconciliation -------------------------------------------------------------------------------


def claim_totals(session: Session, where: Iterable[Any]) -> dict[str, int]:
    """Counts and cent sums over accepted claims matching `where`, with their current assessment: the full
    recomputation (a scan of the claims). The read path uses the kept totals (`kept_totals`); this is what
    they are proved equal to, and what the migration's backfill computes."""
    latest = latest_assessments()
    assessed = latest.c.assessment_id.is_not(None)
    row = session.execute(
        select(
            func.count(Claim.id),
            func.count(latest.c.assessment_id),
            cents(Claim.t_bhtt),
            cents(case((assessed, Claim.t_bhtt), else_=0)),
            cents(Assessment.approved_amount),
            # Spend by payment method: Σ line T_BHTT by MA_PTTT, kept per claim (never T_BHTT_GDV).
            cents(func.coalesce(Claim.bhtt_fee_for_service, 0)),
            cents(func.coalesce(Claim.bhtt_capitation, 0)),
            cents(func.coalesce(Claim.bhtt_drg, 0)),
        )
        .select_from(Claim)
        .outerjoin(latest, latest.c.claim_id == Claim.id)
        .outerjoin(Assessment, Assessment.id == latest.c.assessment_id)
        .where(Claim.status == "accepted", *where)
    ).one()
    count, n_assessed, requested, requested_assessed, approved, ffs, capitation, drg = (int(v or 0) for v in row)
    return {
        "count": count,
        "assessed": n_assessed,
        "requested": requested,
        "approved": approved,
        "rejected": requested_assessed - approved,
        "pending": requested - requested_assessed,
        "spend": capitation,  # capitation spend: Σ line T_BHTT with MA_PTTT = 2
        "fee_for_service": ffs,
        "drg": drg,
    }


def kept_totals(
    session: Session, facilities: list[str] | None, year: int | None, quarter: int | None = None
) -> dict[str, int]:
    """`claim_totals` read from the facility-quarter totals the writes keep (services/claims/domain/totals.py): a
    few rows whatever the number of claims."""
    return claim_figures(totals_read(session, facilities, year, quarter))


def claim_figures(t: dict[str, int]) -> dict[str, int]:
    """The kept rows' sums (`totals_read`) named as `claim_totals` names them: by the treating facility."""
    return {
        "count": t["claims"],
        "assessed": t["assessed"],
        "requested": t["requested"],
        "approved": t["approved"],
        "rejected": t["rejected"],
        "pending": t["pending"],
        "spend": t["capitation"],  # capitation spend: Σ line T_BHTT with MA_PTTT = 2
        "fee_for_service": t["fee_for_service"],
        "drg": t["drg"],
    }


def _fund_cents(session: Session, where: list[Any]) -> tuple[int, bool]:
    """Σ over facility-periods of the newest fund (a later `capitation_fund_set` supersedes), in cents."""
    newest = (
        select(func.max(CapitationFund.fund_id).label("fund_id"))
        .where(*where)
        .group_by(CapitationFund.facility_code, CapitationFund.period)
        .subquery()
    )
    total, n = session.execute(
        select(func.coalesce(func.sum(CapitationFund.fund), 0), func.count(CapitationFund.id)).where(
            CapitationFund.fund_id.in_(select(newest.c.fund_id))
        )
    ).one()
    return int(total) * 100, int(n) > 0


def _advances_cents(session: Session, where: list[Any]) -> int:
    return int(session.scalar(select(func.coalesce(func.sum(CapitationAdvance.amount), 0)).where(*where)) or 0) * 100


def reconciliation(
    session: Session, facility: str | None, period: str, facilities: list[str] | None = None
) -> dict[str, Any]:
    """docs/contract.md's reconciliation of a facility (or every facility in scope) for one quarter."""
    q = quarter_or_refuse(period)
    fund_where: list[Any] = [CapitationFund.period == str(q)]
    adv_where: list[Any] = [CapitationAdvance.period == str(q)]
    claim_scope = facilities
    if facility:
        fund_where.append(CapitationFund.facility_code == facility)
        adv_where.append(CapitationAdvance.facility_code == facility)
        claim_scope = [facility] if facilities is None or facility in facilities else []
    fund_where += _scope(CapitationFund.facility_code, facilities)
    adv_where += _scope(CapitationAdvance.facility_code, facilities)
    kept = totals_read(session, claim_scope, q.year, q.quarter)
    t = claim_figures(kept)
    fund, fund_set = _fund_cents(session, fund_where)
    advanced = _advances_cents(session, adv_where)
    return {
        "facility_code": facility,
        "period": str(q),
        "claims": {
            "count": t["count"],
            "assessed": t["assessed"],
            "requested": money(t["requested"]),
            "approved": money(t["approved"]),
            "rejected": money(t["rejected"]),
            "pending": money(t["pending"]),
            "by_payment_method": _by_method(t),
        },
        "capitation": capitation_answer(fund, fund_set, kept),
        "payments": {"advanced": money(advanced)},
    }


def capitation_answer(fund: int, fund_set: bool, t: dict[str, int]) -> dict[str, Any]:
    """From the kept rows' sums (`totals_read`): the fund against the spend of its cards (NĐ 146/2018 Điều 25
    k2). `spend` is Σ line T_BHTT with MA_PTTT = 2 of the cards registered at the facility (MA_DKBD), wherever
    treated, split into those treated here and elsewhere; beside it, the capitation lines of other facilities'
    cards treated here, which count against their own facilities' funds. The treating facility's capitation
    lines, `claims.by_payment_method.capitation`, are own cards here + other cards here."""
    spend, own = t["capitation_registered"], t["capitation_own"]
    return {
        "fund": money(fund),
        "fund_set": fund_set,
        "spend": money(spend),
        "balance": money(fund - spend),
        "spend_own_cards_here": money(own),
        "spend_own_cards_elsewhere": money(spend - own),
        "spend_other_cards_here": money(t["capitation"] - own),
        "registered_claims": t["registered_claims"],
    }


def _is_quarter(text: str) -> bool:
    try:
        Quarter.parse(text)
    except PeriodError:
        return False
    return True


def quarters_on_record(session: Session, facilities: list[str] | None) -> list[dict[str, str]]:
    """The (facility, quarter) pairs that have something to reconcile: claims in the kept totals, a capitation
    fund or an advance; newest quarter first. What the pages' quarter pickers offer (a few rows at any scale)."""
    t = FacilityQuarterTotal
    where = [t.period_year > 0, *_scope(t.facility_code, facilities)]  # year 0: claims that name no quarter
    kept = session.execute(select(t.facility_code, t.period_year, t.period_quarter).where(*where))
    pairs = {(code, f"{year}-Q{quarter}") for code, year, quarter in kept}
    for model in (CapitationFund, CapitationAdvance):
        rows = session.execute(
            select(model.facility_code, model.period).distinct().where(*_scope(model.facility_code, facilities))
        )
        pairs.update((code, period) for code, period in rows if _is_quarter(period))  # not one it could not read
    ordered = sorted(pairs, key=lambda pair: (pair[1], pair[0]), reverse=True)
    return [{"facility": code, "period": period} for code, period in ordered]


def capitation_summary(session: Session, facilities: list[str] | None, year: int | None) -> dict[str, str]:
    """Fund, advances, spend, requested and approved over facilities (None: all) and a year (None: all)."""
    fund_where: list[Any] = []
    adv_where: list[Any] = []
    if year is not None:
        fund_where.append(CapitationFund.year == year)
        adv_where.append(CapitationAdvance.year == year)
    fund_where += _scope(CapitationFund.facility_code, facilities)
    adv_where += _scope(CapitationAdvance.facility_code, facilities)
    kept = totals_read(session, facilities, year)
    t = claim_figures(kept)
    fund, _ = _fund_cents(session, fund_where)
    return {
        "fund": money(fund),
        "advanced": money(_advances_cents(session, adv_where)),
        "spend": money(kept["capitation_registered"]),  # against the funds: by the cards' registered facility
        "fee_for_service": money(t["fee_for_service"]),
        "drg": money(t["drg"]),
        "requested": money(t["requested"]),
        "approved": money(t["approved"]),
    }


def _by_method(t: dict[str, int]) -> dict[str, str]:
    """Σ line T_BHTT of the accepted claims by payment method (MA_PTTT 1, 2, 3)."""
    return {"fee_for_service": money(t["fee_for_service"]), "capitation": money(t["spend"]), "drg": money(t["drg"])}


def data_version(session: Session) -> tuple[int, ...]:
    """A stamp that changes with every committed write that can change a claims total, read from small tables.

    Claims, assessments, funds and advances are only ever inserted (never updated nor deleted), and every
    intake batch advances its file's `next_index` in the transaction that inserts its claims; every
    assessment POST inserts one `assessment_batches` row. So (files, Σ next_index, assessment batches, funds,
    advances) grows with each such commit, whatever order concurrent transactions commit their ids in."""
    files = select(func.count(ClaimFile.id)).scalar_subquery()
    loaded = select(func.coalesce(func.sum(ClaimFile.next_index), 0)).scalar_subquery()
    batches = select(func.count(AssessmentBatch.id)).scalar_subquery()
    funds = select(func.count(CapitationFund.id)).scalar_subquery()
    advances = select(func.count(CapitationAdvance.id)).scalar_subquery()
    return tuple(int(v or 0) for v in session.execute(select(files, loaded, batches, funds, advances)).one())


_SUMMARIES = KeptAnswers(data_version, size=256)


def capitation_summary_cached(session: Session, facilities: list[str] | None, year: int | None) -> dict[str, str]:
    """`capitation_summary`, answered from memory while `data_version` is unchanged (services/common/kept.py).

    The summary scans a year of claims (the plan tree asks it on every call: 60 ms for 80,000 claims, linear in
    them); the version costs a few index lookups."""
    key = (tuple(sorted(facilities)) if facilities is not None else None, year)
    return _SUMMARIES.get(session, key, lambda: capitation_summary(session, facilities, year))


# --- the kept facility-quarter totals -------------------------------------------------------------


def totals_read(
    session: Session, facilities: list[str] | None, year: int | None = None, quarter: int | None = None
) -> dict[str, int]:
    """Σ of the kept rows over facilities (None: all; [] none), a year (None: all, unknown years included)
    and a quarter (None: all)."""
    t = FacilityQuarterTotal
    where: list[Any] = _scope(t.facility_code, facilities)
    if year is not None:
        where.append(t.period_year == year)
    if quarter is not None:
        where.append(t.period_quarter == quarter)
    row = session.execute(
        select(*(func.coalesce(func.sum(getattr(t, name)), 0) for name in FIELDS)).where(*where)
    ).one()
    return {name: int(v or 0) for name, v in zip(FIELDS, row, strict=True)}


def totals_rows(session: Session) -> dict[tuple[str, int, int], dict[str, int]]:
    """Every kept row by (facility, year, quarter) (tests compare them with a recomputation from the claims)."""
    t = FacilityQuarterTotal
    out: dict[tuple[str, int, int], dict[str, int]] = {}
    columns = (t.facility_code, t.period_year, t.period_quarter, *(getattr(t, n) for n in FIELDS))
    for row in session.execute(select(*columns)):
        out[(row[0], int(row[1]), int(row[2]))] = {n: int(v) for n, v in zip(FIELDS, row[3:], strict=True)}
    return out
