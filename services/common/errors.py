"""Named errors that travel from a service's domain to the API client.

`code` is stable and machine-readable (CONTRACT.md "Conventions"); `message` is Vietnamese for people.
The gateway turns a `DomainError` into HTTP 4xx `{"errors": [...]}`.
"""

from __future__ import annotations

from typing import Any


def error(code: str, message: str, field: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"field": field, "code": code, "message": message, **extra}


class DomainError(Exception):
    """A refusal by a business rule. `status` is the HTTP status the gateway answers with."""

    def __init__(self, errors: list[dict[str, Any]], status: int = 422) -> None:
        super().__init__(errors, status)
        self.errors = errors
        self.status = status

    @classmethod
    def one(cls, code: str, message: str, field: str | None = None, status: int = 422) -> DomainError:
        return cls([error(code, message, field)], status)

    def __str__(self) -> str:
        return "; ".join(f"{e['code']}: {e['message']}" for e in self.errors)


class NotFound(DomainError):
    def __init__(self, errors: list[dict[str, Any]] | str, status: int = 404) -> None:
        if isinstance(errors, str):
            errors = [error("not_found", errors)]
        super().__init__(errors, status)
