"""Users and API tokens: creation (from the `ytcs` CLI) and verification (by the gateway).

Passwords are hashed with argon2id (argon2-cffi's RFC 9106 profile, rehashed on login when the profile
changes); API tokens are 256-bit random strings, so a SHA-256 of them is enough to store (nobody can
guess the preimage) and lets a lookup by hash be one indexed query. A person's login is a server-side
session row (`WebSession`, keyed by the SHA-256 of a random id the cookie carries), so it can be cut off.
Failed logins are counted in the database, so the limits hold across gunicorn workers and restarts.

Login limits (docs/security.md "Password guessing"), designed so that an office behind one router is never
locked out by one of its machines:
- per (address, username): `MAX_FAILURES_PER_PAIR` failures in `LOGIN_WINDOW` refuse that pair until the
  window passes (someone guessing one account from one place);
- per username, from anywhere: `MAX_FAILURES_PER_USER` failures in the window lock the username for
  `USER_LOCKOUT` after its latest failure (guessing from many addresses) — except from an address where
  that person has logged in within `KNOWN_FOR`, so a distributed attack cannot lock a person out of their office;
- per address: past `MAX_FAILURES_PER_ADDR` failures in the window (many names guessed from one place), an
  attempt is only slowed — refused for `ADDR_SLOW` after the address's latest failure — and never for a
  person who has logged in from that address within `KNOWN_FOR`.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from services.common import clock, units
from services.common.errors import DomainError
from services.common.outbox import utcnow
from services.gateway.models import ApiToken, LoginFailure, User, WebSession

ROLES = ("admin", "finance", "bhxh", "viewer")
TOKEN_PREFIX = "ytcs_"  # noqa: S105 - a visible prefix, not a secret
MAX_PASSWORD = 1024  # argon2 would take any length; a bound keeps a login request cheap to refuse
_hasher = PasswordHasher()

# Failed-login limits (configurable; the design is in this module's docstring).
LOGIN_WINDOW = timedelta(minutes=int(os.environ.get("YTCS_LOGIN_WINDOW_MINUTES", "15")))
MAX_FAILURES_PER_PAIR = int(os.environ.get("YTCS_LOGIN_MAX_PER_ADDR_USER", "5"))
MAX_FAILURES_PER_USER = int(os.environ.get("YTCS_LOGIN_MAX_PER_USER", "20"))
USER_LOCKOUT = timedelta(minutes=int(os.environ.get("YTCS_LOGIN_LOCKOUT_MINUTES", "5")))
MAX_FAILURES_PER_ADDR = int(os.environ.get("YTCS_LOGIN_MAX_PER_ADDR", "100"))
ADDR_SLOW = timedelta(seconds=int(os.environ.get("YTCS_LOGIN_SLOW_SECONDS", "2")))
KNOWN_FOR = timedelta(days=30)  # a person "known" at an address; session rows are kept this long after expiry
SESSION_TOUCH = timedelta(seconds=60)  # a session's last use is written at most this often (idle precision)


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
        """Inside the user's unit, or merged into a unit inside it (its records are now that unit's)."""
        return units.answers_for(self.unit, code, clock.today())

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
    if unit is not None:
        errs = units.check_scope(unit, clock.today())
        if errs:
            raise DomainError(errs, 400 if errs[0]["code"] == "unknown_unit" else 422)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(
    session: Session, name: str, role: str, unit: str | None = None, user: User | None = None
) -> str:
    """A new API token; made for a person (`user`), it works only while that person is enabled."""
    _check(role, unit)
    if not name.strip() or len(name) > 120:
        raise DomainError.one("invalid_name", "Tên mã truy cập phải có từ 1 đến 120 ký tự.", "name", 400)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(
        ApiToken(
            name=name,
            token_hash=hash_token(token),
            prefix=token[:12],
            role=role,
            unit=unit,
            user_id=user.id if user is not None else None,
        )
    )
    return token


def verify_token(session: Session, token: str) -> Principal | None:
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None  # not one of ours: no database round trip
    row = session.scalar(
        select(ApiToken)
        .outerjoin(User, ApiToken.user_id == User.id)
        .where(ApiToken.token_hash == hash_token(token), ApiToken.active, or_(ApiToken.user_id.is_(None), User.active))
    )
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
    _check_password(password)
    if session.scalar(select(User).where(User.username == username)):
        raise DomainError.one("username_taken", f"Tên đăng nhập {username} đã có.", "username", 409)
    user = User(username=username, password_hash=_hasher.hash(password), role=role, unit=unit, active=True)
    session.add(user)
    return user


def _check_password(password: str) -> None:
    if len(password) < 8 or len(password) > MAX_PASSWORD:
        raise DomainError.one("weak_password", f"Mật khẩu phải có từ 8 đến {MAX_PASSWORD} ký tự.", "password", 400)


def find_user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise DomainError.one("unknown_user", f"Không có tên đăng nhập {username}.", "username", 404)
    return user


def set_user_active(session: Session, username: str, active: bool) -> User:
    """`ytcs user disable|enable`. Disabling ends the person's sessions at once; their tokens stop working
    (verify_token) while they stay disabled, and work again when they are enabled."""
    user = find_user(session, username)
    user.active = active
    if not active:
        revoke_user_sessions(session, user.id)
    return user


def set_password(session: Session, username: str, password: str) -> User:
    """`ytcs user passwd`: a new password ends every session opened with the old one, and forgets the
    username's failed logins (an administrator has just vouched for the person)."""
    _check_password(password)
    user = find_user(session, username)
    user.password_hash = _hasher.hash(password)
    revoke_user_sessions(session, user.id)
    session.execute(delete(LoginFailure).where(LoginFailure.username == username))
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


# --------------------------------------------------------------------------- sessions


def open_session(session: Session, user_id: int, remote_addr: str | None, lifetime: timedelta) -> tuple[str, datetime]:
    """A new login: its random id (for the cookie; only its hash is stored) and its absolute expiry."""
    now = utcnow()
    # Rows are kept KNOWN_FOR past their expiry: they are how a person is recognised at an address.
    session.execute(delete(WebSession).where(WebSession.expires_at < now - KNOWN_FOR))
    token = secrets.token_urlsafe(32)
    expires = now + lifetime
    session.add(
        WebSession(
            token_hash=hash_token(token),
            user_id=user_id,
            remote_addr=(remote_addr or "")[:64] or None,
            created_at=now,
            last_seen_at=now,
            expires_at=expires,
        )
    )
    return token, expires


def session_user(session: Session, token: str, idle: timedelta) -> int | None:
    """The user id of a live session, its last use noted; None when it is unknown, revoked, past its
    absolute expiry, unused for longer than `idle`, or its person is disabled. Nothing renews a dead one."""
    if not token or len(token) > 100:
        return None
    row = session.scalar(select(WebSession).where(WebSession.token_hash == hash_token(token)))
    if row is None or row.revoked_at is not None:
        return None
    now = utcnow()
    last = row.last_seen_at
    if now >= row.expires_at or now - last > idle:
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    if now - last >= min(SESSION_TOUCH, idle / 4):  # not a write per request; idle is exact to this step
        row.last_seen_at = now
        session.commit()
    return row.user_id


def revoke_session(session: Session, token: str) -> int:
    """Logout: the session's row is revoked, so a copy of the cookie is worth nothing afterwards."""
    result = session.execute(
        update(WebSession)
        .where(WebSession.token_hash == hash_token(token), WebSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return result.rowcount or 0  # type: ignore[attr-defined]


def revoke_user_sessions(session: Session, user_id: int) -> int:
    result = session.execute(
        update(WebSession)
        .where(WebSession.user_id == user_id, WebSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return result.rowcount or 0  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- failed-login limits


def _known_here(session: Session, username: str, remote_addr: str | None) -> bool:
    """Has this person logged in from this address lately (a session row from it within KNOWN_FOR)?"""
    if not remote_addr:
        return False
    found = session.scalar(
        select(WebSession.id)
        .join(User, WebSession.user_id == User.id)
        .where(
            User.username == username,
            WebSession.remote_addr == remote_addr[:64],
            WebSession.created_at >= utcnow() - KNOWN_FOR,
        )
        .limit(1)
    )
    return found is not None


def _failures(session: Session, since: datetime, *conditions: Any) -> tuple[int, datetime | None, datetime | None]:
    count, oldest, latest = session.execute(
        select(func.count(), func.min(LoginFailure.at), func.max(LoginFailure.at)).where(
            LoginFailure.at >= since, *conditions
        )
    ).one()
    return count, oldest, latest


def _seconds_until(at: datetime) -> int | None:
    left = (at - utcnow()).total_seconds()
    return max(1, int(left) + 1) if left > 0 else None


def login_retry_after(session: Session, username: str, remote_addr: str | None) -> int | None:
    """Seconds until this username may be tried from this address, or None when it may be tried now."""
    since = utcnow() - LOGIN_WINDOW
    addr = remote_addr[:64] if remote_addr else None
    at_addr = LoginFailure.remote_addr == addr if addr else LoginFailure.remote_addr.is_(None)
    count, oldest, _ = _failures(session, since, LoginFailure.username == username[:80], at_addr)
    if count >= MAX_FAILURES_PER_PAIR and oldest is not None:
        wait = _seconds_until(oldest + LOGIN_WINDOW)
        if wait:
            return wait
    if _known_here(session, username, addr):
        return None  # failures elsewhere, or by others at this address, do not stop a person at their desk
    count, _, latest = _failures(session, since, LoginFailure.username == username[:80])
    if count >= MAX_FAILURES_PER_USER and latest is not None:
        wait = _seconds_until(latest + USER_LOCKOUT)
        if wait:
            return wait
    if addr:
        count, _, latest = _failures(session, since, LoginFailure.remote_addr == addr)
        if count >= MAX_FAILURES_PER_ADDR and latest is not None:
            return _seconds_until(latest + ADDR_SLOW)  # slowed, never shut
    return None


def record_login_failure(session: Session, username: str, remote_addr: str | None) -> None:
    session.execute(delete(LoginFailure).where(LoginFailure.at < utcnow() - LOGIN_WINDOW * 4))
    session.add(LoginFailure(username=username[:80], remote_addr=(remote_addr or "")[:64] or None, at=utcnow()))


def clear_login_failures(session: Session, username: str, remote_addr: str | None = None) -> None:
    """A correct password ends the run of failures for that username from that address (not for others:
    a guesser elsewhere does not get a fresh allowance from the person's own login)."""
    addr = remote_addr[:64] if remote_addr else None
    at_addr = LoginFailure.remote_addr == addr if addr else LoginFailure.remote_addr.is_(None)
    session.execute(delete(LoginFailure).where(LoginFailure.username == username[:80], at_addr))
