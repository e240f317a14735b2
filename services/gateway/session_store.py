"""People's sessions, decided by the server: the signed cookie (Flask's) carries a random session id
(`sid`) next to the CSRF token and flashed messages, and a request is someone's only while the gateway's
`web_sessions` row for that id is alive (accounts.session_user): not revoked by logout or by
`ytcs user disable|passwd`, before its absolute expiry, used within the idle lifetime. A cookie whose row is
dead opens as an empty session (and is deleted in the answer), so neither a copy of a logged-out cookie nor
a kept one can come back. The cookie is not re-issued on every request: it is written when its content
changes, and never expires later than its row.

The session key (signing cookies and CSRF tokens) is `YTCS_SECRET_KEY`, or else one kept in the data folder
(`YTCS_VAR/session.key`, made once, mode 0600), so restarting the system keeps people logged in.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Flask, Request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface

from services.gateway import accounts

KEY_FILE = "session.key"
IDLE_DEFAULT_MINUTES = "30"


def stored_secret_key(folder: Path) -> str:
    """The key kept in `folder`, made on first use. Several gunicorn workers may start at once: the key is
    written to a private temporary file and linked into place (never overwritten), so all read one key."""
    path = folder / KEY_FILE
    if not path.exists():
        tmp = folder / f".{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_hex(32) + "\n")
                out.flush()
                os.fsync(out.fileno())
            with contextlib.suppress(FileExistsError):  # another worker linked its key first: read that one
                os.link(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    key = path.read_text().strip()
    if len(key) < 32:
        raise RuntimeError(f"{path}: the session key is shorter than 32 characters; delete the file to make a new one")
    return key


class ServerSessionInterface(SecureCookieSessionInterface):
    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        session = super().open_session(app, request)
        if session is None or ("uid" not in session and "sid" not in session):
            return session
        if app.static_url_path and request.path.startswith(app.static_url_path + "/"):
            return session  # a stylesheet is nobody's business: no database round trip
        sid = session.get("sid")
        uid = None
        if isinstance(sid, str):
            with app.extensions["ytcs"].session() as s:
                uid = accounts.session_user(s, sid, app.config["YTCS_SESSION_IDLE"])
        if uid is None or uid != session.get("uid"):
            fresh = self.session_class()
            fresh.modified = True  # the dead cookie is deleted (or replaced) in the answer
            return fresh
        return session

    def get_expiration_time(self, app: Flask, session: Any) -> datetime | None:
        """Never later than the session's absolute expiry, however often the cookie is rewritten."""
        expires = super().get_expiration_time(app, session)
        ends = session.get("exp")
        if isinstance(ends, int) and expires is not None:
            return min(expires, datetime.fromtimestamp(ends, UTC))
        return expires


def install(app: Flask) -> None:
    app.config.setdefault(
        "YTCS_SESSION_IDLE", timedelta(minutes=int(os.environ.get("YTCS_SESSION_IDLE_MINUTES", IDLE_DEFAULT_MINUTES)))
    )
    # The cookie is written when its content changes, not on every answer: lifetimes are the server's.
    app.config["SESSION_REFRESH_EACH_REQUEST"] = False
    app.session_interface = ServerSessionInterface()
