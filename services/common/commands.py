"""A command's payload read with its contract schema, in every service the same way.

The gateway validates a request before it calls a service, but it is not the only caller (the CLI, a replayed
message, another service): a service validates again, and a payload its schema refuses is a named refusal
(`DomainError`, 422) listing each field's errors, never a raw marshmallow `ValidationError` crossing RPC as an
unnamed remote error.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError

from services.common.errors import DomainError, error


def field_errors(exc: ValidationError) -> list[dict[str, Any]]:
    """One error per message, its field the dotted path of the value (`groups.0.cards`); a message that
    carries its own code (contracts.fields.Coded) keeps it, any other is `invalid`."""
    out: list[dict[str, Any]] = []

    def walk(messages: Any, path: str) -> None:
        if isinstance(messages, dict):
            for key, value in messages.items():
                walk(value, path if key == "_schema" else f"{path}.{key}" if path else str(key))
        elif isinstance(messages, list):
            for message in messages:
                walk(message, path)
        else:
            out.append(error(getattr(messages, "code", "invalid"), str(messages), path or None))

    walk(exc.messages, "")
    return out or [error("invalid", "Dữ liệu không hợp lệ.")]


def load_command(schema: type[Schema], data: Any) -> dict[str, Any]:
    """`schema().load(data)`, or a `DomainError` naming every field it refused."""
    try:
        return schema().load(data)
    except ValidationError as exc:
        raise DomainError(field_errors(exc)) from None
