"""Every message shape that crosses a service boundary, in one place, versioned.

Events: `EVENTS[event_type] = (source_service, version, schema)`. A consumer validates what it receives
with the same schema the producer used to write it. A breaking change is a new version (a new schema
registered under the same type with a higher version), never an edit of the old one.
RPC: each service's module holds the schemas of its RPC arguments and answers.
"""

from __future__ import annotations

from marshmallow import Schema

from services.common.contracts import claims, finance, investment

EVENTS: dict[str, tuple[str, int, type[Schema]]] = {}
for _module, _source in ((finance, "finance"), (claims, "claims"), (investment, "investment")):
    for _event_type, (_version, _schema) in _module.EVENTS.items():
        if _event_type in EVENTS:
            raise RuntimeError(f"event type {_event_type} declared twice")
        EVENTS[_event_type] = (_source, _version, _schema)


def event_schema(event_type: str) -> tuple[Schema, int]:
    _source, version, schema = EVENTS[event_type]
    return schema(), version


def source_of(event_type: str) -> str:
    return EVENTS[event_type][0]
