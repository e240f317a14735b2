"""One mechanism for who may call what: every view declares its policy with `@allow(...)` (or `@public`),
and a single `before_request` hook enforces it. A view without a declared policy is refused for
everybody, so a new endpoint cannot be exposed by forgetting a check. The route table (for the docs,
the OpenAPI document and the role × endpoint test) comes from the same declarations.

Unit scoping (`--unit`): a principal bound to a district or commune sees and writes only inside it.
Views call `scoped_unit()` / `require_unit()` for units a request names; facilities (MA_CSKCB) are scoped
through the unit the gateway's register maps them to (facilities.require_facility, facilities.scoped_facilities).
Personal data in claims is masked for roles that may not see it by one response filter (`mask_personal`,
applied to every JSON answer in hooks.py), so a view cannot leak it by forgetting.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app, g, request
from flask import session as web_session

from services.common import units
from services.common.errors import DomainError, NotFound
from services.gateway import accounts
from services.gateway.application.remote import rpc

READ_ROLES = ("admin", "finance", "bhxh", "viewer")
# docs/contract.md "Access": shown only to admin and bhxh, masked for the others (NĐ 13/2023 on personal data).
PERSONAL_FIELDS = frozenset(
    name
    for field in ("HO_TEN", "SO_CCCD", "MA_THE_BHYT", "MA_BN", "NGAY_SINH", "DIA_CHI", "DIEN_THOAI")
    for name in (field, field.lower())
)
MASK = "***"
# Health data (NĐ 13/2023 art. 2: data on a person's health): claims one by one (diagnoses, sex, visit dates,
# amounts per person), look-ups by card, and the record-by-record errors of a file, whose messages quote those
# values. Only these roles read it; the others read aggregates (counts, reconciliation, funding). The matrix
# field by field is in docs/security.md ("Health data: who reads what").
HEALTH_ROLES = ("admin", "bhxh")


@dataclass(frozen=True)
class Policy:
    roles: tuple[str, ...]  # empty: public (no authentication)
    public: bool = False


def allow(*roles: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare which roles may call a view. `allow()` with no roles is not allowed: use `public`."""
    if not roles:
        raise ValueError("allow() needs at least one role; use @public for open endpoints")
    unknown = set(roles) - set(accounts.ROLES)
    if unknown:
        raise ValueError(f"unknown roles {unknown}")

    def mark(view: Callable[..., Any]) -> Callable[..., Any]:
        view.ytcs_policy = Policy(tuple(roles))  # type: ignore[attr-defined]
        return view

    return mark


def public(view: Callable[..., Any]) -> Callable[..., Any]:
    view.ytcs_policy = Policy((), public=True)  # type: ignore[attr-defined]
    return view


def policy_of(app: Flask, endpoint: str | None) -> Policy | None:
    if endpoint is None:
        return None
    view = app.view_functions.get(endpoint)
    return getattr(view, "ytcs_policy", None)


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip() or None
    return None


def authenticate() -> accounts.Principal | None:
    """A bearer token for the API; the web session cookie for the pages (set by POST /login)."""
    ytcs = current_app.extensions["ytcs"]
    if "Authorization" in request.headers:
        token = _bearer()
        if not token:
            return None  # a header of another scheme is not a fallback to the cookie
        with ytcs.session() as s:
            return accounts.verify_token(s, token)
    # The pages' session cookie also reads the API (downloads, progress polling), but API writes need a
    # bearer token: a cookie alone would make them forgeable from another site.
    if request.path.startswith("/api/") and request.method not in ("GET", "HEAD"):
        return None
    user_id = web_session.get("uid")
    if isinstance(user_id, int):
        with ytcs.session() as s:
            return accounts.principal_of_user(s, user_id)
    return None


def enforce() -> None:
    """The before_request hook: 401 without a valid identity, 403 for a role that may not."""
    g.principal = None
    if request.endpoint in (None, "static"):
        return
    policy = policy_of(current_app, request.endpoint)
    if policy is None:
        raise DomainError.one("no_policy", "Điểm truy cập này chưa được khai báo quyền.", None, 403)
    if policy.public:
        return
    principal = authenticate()
    if principal is None:
        raise DomainError.one("unauthorized", "Cần đăng nhập hoặc mã truy cập (Bearer token) hợp lệ.", None, 401)
    g.principal = principal
    if principal.role not in policy.roles:
        raise DomainError.one("forbidden", "Vai trò của bạn không được phép thực hiện thao tác này.", None, 403)


# --------------------------------------------------------------------------- unit scoping


def require_unit(code: str, field: str = "unit") -> None:
    """Unit scoping: a user bound to a district or commune may not see or write outside it (what merged into a unit
    inside it is inside it: `units.answers_for`)."""
    principal: accounts.Principal = g.principal
    if not principal.sees_unit(code):
        raise DomainError.one(
            "unit_forbidden", f"Đơn vị {code} nằm ngoài phạm vi được giao ({principal.unit}).", field, 403
        )


def scoped_unit(requested: str | None, field: str = "unit") -> str | None:
    """The unit a read is narrowed to: the one asked for (known, and inside the caller's scope), else the
    caller's own unit; None for an unscoped caller who asked for none (everything)."""
    if requested is not None:
        units.require_unit(requested, None, field)
        require_unit(requested, field)
        return requested
    principal: accounts.Principal = g.principal
    return principal.unit if principal.scoped else None


def scope_unit(requested: str | None) -> str | None:
    """The unit an investment or indicator read is narrowed to: the one asked for (which the caller must see),
    else the caller's own unit, the province included (`scoped_unit` gives None for the province)."""
    unit = requested or g.principal.unit
    if unit is not None:
        units.require_unit(unit)
        require_unit(unit)
    return unit


def unit_in_scope(code: str, year: int) -> None:
    """A unit's yearly report sections: a year of the plans' range, a unit that exists, within the caller's."""
    if not 2000 <= year <= 2100:
        raise DomainError.one("out_of_range", "Năm phải từ 2000 đến 2100.", "year")
    if not (code == units.PROVINCE_CODE or code in units.districts() or units.is_known_unit(code)):
        raise DomainError.one("not_found", f"Không có đơn vị {code[:10]}.", "code", 404)
    require_unit(code, "code")


def require_station(code: str, field: str = "station_code") -> None:
    """A station's records, a merged station's included (now its successor's: `Principal.sees_unit`)."""
    require_unit(code, field)


def require_project(project_id: int) -> None:
    """Unit scoping for a request naming a project: its station must be visible to the caller."""
    unit = g.principal.unit
    if unit is None or unit == units.PROVINCE_CODE:
        return
    scope = rpc("investment", "project_scope", project_id)
    require_station(scope["station_code"], "project_id")


def require_allocation_unit(allocation_id: int, field: str = "id") -> dict[str, Any] | None:
    """A unit-scoped user writes only against allocations whose recipient lies within the unit. Returns the
    allocation when it had to be read for that (None for an unscoped caller), so the caller need not read it again."""
    if g.principal.unit is None:
        return None
    allocation: dict[str, Any] = rpc("finance", "get_allocation", allocation_id)
    require_unit(allocation["recipient_unit"], field)
    return allocation


def refusals_by_id(ids: set[int], check: Callable[[int], Any]) -> dict[int, list[dict[str, Any]]]:
    """`check` (one of the `require_*` above) of each id, asked once for a whole sheet: the refusals of each, none
    when it passed or names no record (the service names an unknown one when the sheet reaches it)."""
    out: dict[int, list[dict[str, Any]]] = {}
    for record_id in ids:
        try:
            check(record_id)
            out[record_id] = []
        except NotFound:
            out[record_id] = []
        except DomainError as exc:
            out[record_id] = exc.errors
    return out


# --------------------------------------------------------------------------- personal data


def mask_personal(value: Any) -> tuple[Any, bool]:
    """`value` with every personal field masked (None stays None), and whether anything was masked."""
    if isinstance(value, dict):
        changed = False
        out: dict[str, Any] = {}
        for key, item in value.items():
            if key in PERSONAL_FIELDS and item is not None and item != MASK:
                out[key] = MASK
                changed = True
            else:
                out[key], sub = mask_personal(item)
                changed = changed or sub
        return out, changed
    if isinstance(value, list):
        changed = False
        items = []
        for item in value:
            masked, sub = mask_personal(item)
            items.append(masked)
            changed = changed or sub
        return items, changed
    return value, False


def file_status_for_role(status: dict[str, Any]) -> dict[str, Any]:
    """A claim file's status as the caller may read it: roles outside HEALTH_ROLES keep the counts (records,
    errors by code) and the whole-file errors, not the record-by-record ones (`errors_withheld` says how many)."""
    principal = g.get("principal")
    if principal is not None and principal.role in HEALTH_ROLES:
        return status
    kept = [e for e in status.get("errors", []) if e.get("record_index") is None and not e.get("ma_lk")]
    return {**status, "errors": kept, "errors_withheld": len(status.get("errors", [])) - len(kept)}


def route_table(app: Flask) -> list[dict[str, Any]]:
    """Every routed endpoint with its methods and policy: the source of the role × endpoint test."""
    out = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        policy = policy_of(app, rule.endpoint)
        out.append(
            {
                "rule": rule.rule,
                "endpoint": rule.endpoint,
                "methods": sorted(m for m in rule.methods or () if m not in ("HEAD", "OPTIONS")),
                "arguments": sorted(rule.arguments),
                "public": bool(policy and policy.public),
                "roles": list(policy.roles) if policy else None,
            }
        )
    return out
