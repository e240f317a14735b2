"""Users and API tokens: creation (from the `ytcs` CLI) and verification (by the gateway).

Passwords are hashed with argon2id; API tokens are 256-bit random strings, so a SHA-256 of them is
enough to store (nobody can guess the preimage) and lets a lookup by hash be one indexed query.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common import units
from services.common.errors import DomainError
from services.gateway.models import ApiToken, User

ROLES = ("admin", "finance", "bhxh", "viewer")
TOKEN_PREFIX = "ytcs_"  # noqa: S105 - a visible prefix, not a secret
_hasher = PasswordHasher()


@dataclass(frozen=True)
class Principal:
    """Who is calling: a token or a logged-in user, with a role and an optional unit scope."""

    name: str
    role: str
    unit: str | None
    kind: str  # token | user

    def sees_unit(self, code: str) -> bool:
        return units.within(self.unit, code)

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
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(name=name, token_hash=hash_token(token), prefix=token[:12], role=role, unit=unit))
    return token


def verify_token(session: Session, token: str) -> Principal | None:
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token), ApiToken.active))
    return Principal(f"token:{row.name}", row.role, row.unit, "token") if row else None


def create_user(session: Session, username: str, password: str, role: str, unit: str | None = None) -> User:
    _check(role, unit)
    if len(password) < 8:
        raise DomainError.one("weak_password", "Mật khẩu phải có ít nhất 8 ký tự.", "password", 400)
    if session.scalar(select(User).where(User.username == username)):
        raise DomainError.one("username_taken", f"Tên đăng nhập {username} đã có.", "username", 409)
    user = User(username=username, password_hash=_hasher.hash(password), role=role, unit=unit)
    session.add(user)
    return user


def verify_password(session: Session, username: str, password: str) -> Principal | None:
    user = session.scalar(select(User).where(User.username == username, User.active))
    if user is None:
        _hasher.hash(password)  # same work either way: no timing hint that the user exists
        return None
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    return Principal(f"user:{user.username}", user.role, user.unit, "user")
