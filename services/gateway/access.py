"""One mechanism for who may call what: every view declares its policy with `@allow(...)`, and a single
`before_request` hook enforces it. A view without a declared policy is refused for everybody, so a new
endpoint cannot be exposed by forgetting a check. The route table (for docs and the role matrix test)
comes from the same declarations.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app, g, request

from services.common.errors import DomainError
from services.gateway import accounts

READ_ROLES = ("admin", "finance", "bhxh", "viewer")


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
    if header.startswith("Bearer "):
        return header[7:].strip() or None
    return None


def authenticate(session_factory: Callable[[], Any]) -> accounts.Principal | None:
    """A bearer token for the API; the web session cookie for the pages (set by /login)."""
    from flask import session as web_session

    token = _bearer()
    if token:
        with session_factory() as s:
            return accounts.verify_token(s, token)
    # The pages' session cookie also reads the API (downloads, progress polling), but API writes need a
    # bearer token: a cookie alone would make them forgeable from another site.
    if request.path.startswith("/api/") and request.method not in ("GET", "HEAD"):
        return None
    user = web_session.get("principal")
    if user:
        return accounts.Principal(user["name"], user["role"], user.get("unit"), "user")
    return None


def enforce() -> None:
    """The before_request hook: 401 without a valid identity, 403 for a role that may not."""
    if request.endpoint in (None, "static"):
        return
    policy = policy_of(current_app, request.endpoint)
    if policy is None:
        raise DomainError.one("no_policy", "Điểm truy cập này chưa được khai báo quyền.", None, 403)
    if policy.public:
        g.principal = None
        return
    principal = authenticate(current_app.extensions["ytcs"].session)
    if principal is None:
        raise DomainError.one("unauthorized", "Cần đăng nhập hoặc mã truy cập (Bearer token) hợp lệ.", None, 401)
    g.principal = principal
    if principal.role not in policy.roles:
        raise DomainError.one("forbidden", "Vai trò của bạn không được phép thực hiện thao tác này.", None, 403)


def require_unit(code: str, field: str = "unit") -> None:
    """Unit scoping: a user bound to a district or commune may not see or write outside it."""
    principal: accounts.Principal = g.principal
    if not principal.sees_unit(code):
        raise DomainError.one(
            "unit_forbidden", f"Đơn vị {code} nằm ngoài phạm vi được giao ({principal.unit}).", field, 403
        )


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
                "public": bool(policy and policy.public),
                "roles": list(policy.roles) if policy else None,
            }
        )
    return out
