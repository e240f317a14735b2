"""Users and API tokens: creation (from the `ytcs` CLI) and verification (by the gateway).

Passwords are hashed with argon2id (argon2-cffi's RFC 9106 profile, rehashed on login when the profile
changes); API tokens are 256-bit random strings, so a SHA-256 of them is enough to store (nobody can
guess the preimage) and lets a lookup by hash be one indexed query. Failed logins are counted in the
database, so the limit holds across gunicorn workers and restarts.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from services.common import units
from services.common.errors import DomainError
from services.common.outbox import utcnow
from services.gateway.models import ApiToken, LoginFailure, User

ROLES = ("admin", "finance", "bhxh", "viewer")
TOKEN_PREFIX = "ytcs_"  # noqa: S105 - a visible prefix, not a secret
MAX_PASSWORD = 1024  # argon2 would take any length; a bound keeps a login request cheap to refuse
_hasher = PasswordHasher()

# Failed-login limits (configurable): per username, and per client address (one address guessing many names).
LOGIN_WINDOW = timedelta(minutes=int(os.environ.get("YTCS_LOGIN_WINDOW_MINUTES", "15")))
MAX_FAILURES_PER_USER = int(os.environ.get("YTCS_LOGIN_MAX_PER_USER", "5"))
MAX_FAILURES_PER_ADDR = int(os.environ.get("YTCS_LOGIN_MAX_PER_ADDR", "20"))


@dataclass(frozen=True)
class Principal:
    """Who is calling: a token or a logged-in user, with a role and an optional unit scope."""

    name: str
    role: str
    unit: str | None
    kind: str  # token | user
    user_id: int | None = None
    ident: str = ""  # stable and unique ("token#12", "user#3"): names may repeat, ids do not

    def sees_unit(self, code: str) -> bool:
        return units.within(self.unit, code)

    @property
    def scoped(self) -> bool:
        """Bound to a district or commune (the province scope sees everything)."""
        return self.unit is not None and self.unit != units.PROVINCE_CODE

    @property
    def sees_personal_data(self) -> bool:
        return self.role in ("admin", "bhxh")


def _check(role: str, unit: str | None) -> None:
    if role not in ROLES:
        raise DomainError.one("invalid_role", f"Vai trò phải là một trong: {', '.join(ROLES)}.", "role", 400)
    if unit is not None and not units.is_known_unit(unit):
        raise DomainError.one("unknown_unit", f"Không có đơn vị hành chính mã {unit}.", "unit", 400)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, name: str, role: str, unit: str | None = None) -> str:
    _check(role, unit)
    if not name.strip() or len(name) > 120:
        raise DomainError.one("invalid_name", "Tên mã truy cập phải có từ 1 đến 120 ký tự.", "name", 400)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(name=name, token_hash=hash_token(token), prefix=token[:12], role=role, unit=unit))
    return token


def verify_token(session: Session, token: str) -> Principal | None:
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None  # not one of ours: no database round trip
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token), ApiToken.active))
    return Principal(f"token:{row.name}", row.role, row.unit, "token", None, f"token#{row.id}") if row else None


def list_tokens(session: Session) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).order_by(ApiToken.id)))


def revoke_token(session: Session, prefix: str) -> int:
    """Deactivate the tokens starting with `prefix` (the 12 characters shown by `token list`)."""
    rows = list(session.scalars(select(ApiToken).where(ApiToken.prefix == prefix[:12], ApiToken.active)))
    for row in rows:
        row.active = False
    return len(rows)


def create_user(session: Session, username: str, password: str, role: str, unit: str | None = None) -> User:
    _check(role, unit)
    if not username.strip() or len(username) > 80:
        raise DomainError.one("invalid_username", "Tên đăng nhập phải có từ 1 đến 80 ký tự.", "username", 400)
    if len(password) < 8 or len(password) > MAX_PASSWORD:
        raise DomainError.one("weak_password", f"Mật khẩu phải có từ 8 đến {MAX_PASSWORD} ký tự.", "password", 400)
    if session.scalar(select(User).where(User.username == username)):
        raise DomainError.one("username_taken", f"Tên đăng nhập {username} đã có.", "username", 409)
    user = User(username=username, password_hash=_hasher.hash(password), role=role, unit=unit, active=True)
    session.add(user)
    return user


def user_principal(user: User) -> Principal:
    return Principal(f"user:{user.username}", user.role, user.unit, "user", user.id, f"user#{user.id}")


def principal_of_user(session: Session, user_id: int) -> Principal | None:
    """The web session names a user id: re-read it, so a deactivated user loses access at once."""
    user = session.get(User, user_id)
    return user_principal(user) if user is not None and user.active else None


def verify_password(session: Session, username: str, password: str) -> Principal | None:
    user = session.scalar(select(User).where(User.username == username, User.active))
    if user is None or len(password) > MAX_PASSWORD:
        _hasher.hash(password[:MAX_PASSWORD])  # same work either way: no timing hint that the user exists
        return None
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user_principal(user)


# --------------------------------------------------------------------------- failed-login limits


def login_retry_after(session: Session, username: str, remote_addr: str | None) -> int | None:
    """Seconds until another attempt is allowed, or None when this username and address may try now."""
    since = utcnow() - LOGIN_WINDOW
    checks = [(LoginFailure.username == username, MAX_FAILURES_PER_USER)]
    if remote_addr:
        checks.append((LoginFailure.remote_addr == remote_addr, MAX_FAILURES_PER_ADDR))
    for condition, limit in checks:
        count, oldest = session.execute(
            select(func.count(), func.min(LoginFailure.at)).where(condition, LoginFailure.at >= since)
        ).one()
        if count >= limit:
            if oldest.tzinfo is None:  # SQLite hands back naive datetimes
                oldest = oldest.replace(tzinfo=utcnow().tzinfo)
            return max(1, int((oldest + LOGIN_WINDOW - utcnow()).total_seconds()) + 1)
    return None


def record_login_failure(session: Session, username: str, remote_addr: str | None) -> None:
    session.execute(delete(LoginFailure).where(LoginFailure.at < utcnow() - LOGIN_WINDOW * 4))
    session.add(LoginFailure(username=username[:80], remote_addr=remote_addr, at=utcnow()))


def clear_login_failures(session: Session, username: str) -> None:
    """A correct password ends the run of failures for that username (not for the address)."""
    session.execute(delete(LoginFailure).where(LoginFailure.username == username))
