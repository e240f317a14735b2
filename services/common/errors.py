"""Named errors that travel from a service's domain to the API client.

`code` is stable and machine-readable (docs/contract.md "Conventions"); `message` is Vietnamese for people.
The gateway turns a `DomainError` into HTTP 4xx `{"errors": [...]}`.
"""

from __future__ import annotations

import json
from typing import Any

# The names people know the processes by, in messages that name one (a service that did not answer).
SERVICE_NAMES = {"finance": "tài chính", "investment": "đầu tư", "claims": "hồ sơ BHYT", "gateway": "cổng"}


def error(code: str, message: str, field: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"field": field, "code": code, "message": message, **extra}


class DomainError(Exception):
    """A refusal by a business rule (422 at the gateway). Services raise the kind that fits (`DomainError`,
    `NotFound`, `Conflict`, `Malformed`) and never name an HTTP status: each kind carries its own, which the
    gateway answers with (services/gateway/errors.py)."""

    def __init__(self, errors: list[dict[str, Any]] | str, status: int | str = 422) -> None:
        # Over RPC nameko stringifies every leaf of an exception's args (None -> "None", 5 -> "5"), so the
        # errors travel as one JSON string and are read back here, exactly as they were raised.
        if isinstance(errors, str):
            errors = json.loads(errors)
        self.errors: list[dict[str, Any]] = errors
        self.status = int(status)
        super().__init__(json.dumps(errors, ensure_ascii=False, default=str), self.status)

    @classmethod
    def one(cls, code: str, message: str, field: str | None = None, status: int = 422) -> DomainError:
        return cls([error(code, message, field)], status)

    def __str__(self) -> str:
        return "; ".join(f"{e['code']}: {e['message']}" for e in self.errors)


class Conflict(DomainError):
    """The request was right but the state moved under it (someone else wrote first): reload and try again."""

    def __init__(self, errors: list[dict[str, Any]] | str, status: int | str = 409) -> None:
        super().__init__(errors, status)

    @classmethod
    def one(cls, code: str, message: str, field: str | None = None, status: int = 409) -> Conflict:
        return cls([error(code, message, field)], status)


class Malformed(DomainError):
    """The request could not be read at all (not JSON, not an object), as opposed to read and refused."""

    def __init__(self, errors: list[dict[str, Any]] | str, status: int | str = 400) -> None:
        super().__init__(errors, status)

    @classmethod
    def one(cls, code: str, message: str, field: str | None = None, status: int = 400) -> Malformed:
        return cls([error(code, message, field)], status)


class NotFound(DomainError):
    def __init__(self, errors: list[dict[str, Any]] | str, status: int | str = 404) -> None:
        if isinstance(errors, str) and not errors.lstrip().startswith("["):
            errors = [error("not_found", errors)]
        super().__init__(errors, status)
