"""The one-time link that creates the first admin account from the browser (like a notebook server's token link).

`ytcs run` issues it when the gateway has no user yet and prints it next to the address. Only the SHA-256 of
the 256-bit token is kept, in a file under `YTCS_VAR` readable by its owner alone (0600), with an expiry;
the setup page (web/setup_pages.py) takes the file away atomically when it creates the account, so the link
works once, and it is refused anyway as soon as an admin exists. A file rather than a table: the supervisor
writes it before the gateway starts, and every gunicorn worker sees the same one.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import secrets
import time
import uuid
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.common import config
from services.gateway.models import User

TTL_SECONDS = int(os.environ.get("YTCS_SETUP_LINK_MINUTES", "120")) * 60
FILE_NAME = "first-admin-token"


def token_file() -> Path:
    return config.var_dir() / FILE_NAME


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def has_users(session: Session) -> bool:
    return bool(session.scalar(select(func.count()).select_from(User)))


def has_admin(session: Session) -> bool:
    return bool(session.scalar(select(func.count()).select_from(User).where(User.role == "admin")))


def issue(ttl: int = TTL_SECONDS) -> str:
    """A new token (the previous link dies): its hash and expiry written 0600, atomically."""
    token = secrets.token_urlsafe(32)
    path = token_file()
    tmp = path.with_name(f".{FILE_NAME}.{uuid.uuid4().hex}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"sha256": _digest(token), "expires_at": time.time() + ttl}, f)
    os.replace(tmp, path)
    return token


def revoke() -> None:
    with contextlib.suppress(FileNotFoundError):
        token_file().unlink()


def _matches(path: Path, token: str) -> bool:
    try:
        kept = json.loads(path.read_text())
        digest, expires_at = str(kept["sha256"]), float(kept["expires_at"])
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return time.time() < expires_at and hmac.compare_digest(digest, _digest(token))


def valid(token: str) -> bool:
    """The token is the one issued, and it has not expired or been used."""
    return 0 < len(token) <= 200 and _matches(token_file(), token)


def consume(token: str) -> bool:
    """Take the token for this request alone: of two requests racing with one link, one rename wins."""
    if not valid(token):
        return False
    path = token_file()
    taken = path.with_name(f".{FILE_NAME}.used.{uuid.uuid4().hex}")
    try:
        os.rename(path, taken)
    except FileNotFoundError:
        return False
    try:
        return _matches(taken, token)  # the file taken is still the one checked (not a newer link)
    finally:
        taken.unlink()
