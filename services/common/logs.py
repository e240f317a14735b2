"""Structured JSON logs, one object per line, with the correlation id that travels with a request."""

from __future__ import annotations

import json
import logging
import os
import sys
from contextvars import ContextVar, Token
from datetime import UTC, datetime

correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)


def bind(cid: str | None) -> Token[str | None]:
    """Make `cid` the correlation id of this thread/green thread's log lines (and of the events it records)."""
    return correlation_id.set(cid)


def unbind(token: Token[str | None]) -> None:
    correlation_id.reset(token)


class JsonFormatter(logging.Formatter):
    def __init__(self, process_name: str) -> None:
        super().__init__()
        self.process_name = process_name

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "process": self.process_name,
            "logger": record.name,
            "message": record.getMessage(),
        }
        cid = getattr(record, "correlation_id", None) or correlation_id.get()
        if cid:
            entry["correlation_id"] = cid
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure(process_name: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(process_name))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(os.environ.get("YTCS_LOG_LEVEL", "INFO"))
    for noisy in ("kombu", "amqp", "nameko", "eventlet", "sqlalchemy.engine"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
