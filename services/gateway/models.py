"""The gateway's own tables: who may come in (users, API tokens), what they wrote (audit), and the
answers to POSTs kept under their Idempotency-Key. Secrets are stored only as hashes."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.db import BigId, Instant
from services.common.outbox import utcnow


class GatewayBase(DeclarativeBase):
    """Every table of the gateway database (its own metadata: each service owns its data)."""


class User(GatewayBase):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))  # argon2id
    role: Mapped[str] = mapped_column(String(20))
    unit: Mapped[str | None] = mapped_column(String(10))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(Instant, default=utcnow)


class ApiToken(GatewayBase):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 of a 256-bit random token
    prefix: Mapped[str] = mapped_column(String(12))  # shown to people to tell tokens apart
    role: Mapped[str] = mapped_column(String(20))
    unit: Mapped[str | None] = mapped_column(String(10))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(Instant, default=utcnow)
    # A token made for a person (`ytcs token create --user`) stops working while that person is disabled;
    # None: a program's own token, revoked by itself.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)


class WebSession(GatewayBase):
    """A person's login: the cookie carries a random id, stored here only as its SHA-256. Valid while not
    revoked (logout, `ytcs user disable|passwd`), before `expires_at` (absolute) and while used within the
    idle lifetime; the row is never extended past either."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    remote_addr: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(Instant, default=utcnow, index=True)
    last_seen_at: Mapped[datetime] = mapped_column(Instant, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(Instant)
    revoked_at: Mapped[datetime | None] = mapped_column(Instant)


class AuditEntry(GatewayBase):
    """Append-only: who did what, when, from where, with which request id."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(Instant, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(140), index=True)
    role: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(80), index=True)
    target: Mapped[str] = mapped_column(String(200))
    status: Mapped[int] = mapped_column(Integer)
    remote_addr: Mapped[str | None] = mapped_column(String(64))
    request_id: Mapped[str] = mapped_column(String(64))
    details: Mapped[dict] = mapped_column(JSON, default=dict)


class IdempotentResponse(GatewayBase):
    """The first answer to a POST with a given Idempotency-Key, replayed for the same key."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("actor", "key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    actor: Mapped[str] = mapped_column(String(140))
    key: Mapped[str] = mapped_column(String(200))
    method_path: Mapped[str] = mapped_column(String(300))
    request_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[int | None] = mapped_column(Integer)  # None while the first request is still running
    body: Mapped[str | None] = mapped_column(Text)
    location: Mapped[str | None] = mapped_column(String(1000))  # a page form's redirect (then body is None)
    created_at: Mapped[datetime] = mapped_column(Instant, default=utcnow, index=True)


class LoginFailure(GatewayBase):
    """Failed logins, to slow down password guessing per username and per address."""

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(80), index=True)
    remote_addr: Mapped[str | None] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(Instant, default=utcnow, index=True)


class Facility(GatewayBase):
    """The facility register (cơ sở KCB): a claim's MA_CSKCB mapped to the administrative unit it serves,
    so that unit scoping also holds for claims and capitation, which name facilities and not units."""

    __tablename__ = "facilities"

    code: Mapped[str] = mapped_column(String(5), primary_key=True)  # MA_CSKCB, 5 characters, province first
    name: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(10), index=True)  # GSO code of the commune or district served
    kind: Mapped[str] = mapped_column(String(20))  # station | district_centre | other
    created_at: Mapped[datetime] = mapped_column(Instant, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(140))


class ReportSection(GatewayBase):
    """What a unit writes itself in its yearly report (shortcomings, proposals), per unit and year.
    Append-only: an edit is a new row, the latest is the one printed, the earlier ones stay visible."""

    __tablename__ = "report_sections"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    unit: Mapped[str] = mapped_column(String(10), index=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    shortcomings: Mapped[str] = mapped_column(Text, default="")  # Tồn tại, hạn chế
    proposals: Mapped[str] = mapped_column(Text, default="")  # Kiến nghị, đề xuất
    recorded_by: Mapped[str] = mapped_column(String(140))
    recorded_at: Mapped[datetime] = mapped_column(Instant, default=utcnow)


class ReportSubmission(GatewayBase):
    """A unit's yearly report under a plan as sent (date and document). Append-only: a resubmission or a
    correction is a new row; the latest one says whether the unit reported and whether it was late."""

    __tablename__ = "report_submissions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    plan_id: Mapped[int] = mapped_column(Integer, index=True)
    unit: Mapped[str] = mapped_column(String(10), index=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    submitted_on: Mapped[date] = mapped_column(Date)
    document: Mapped[str] = mapped_column(String(200))  # số văn bản, e.g. 125/BC-TTYT
    file_name: Mapped[str | None] = mapped_column(String(255))
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(140))
    recorded_at: Mapped[datetime] = mapped_column(Instant, default=utcnow)
