"""The rulebook: every issue code of the catalogue and every rule by table and field, with its legal basis
(`GET /api/v1/claims/rules`, docs/claims-validation.md). Apart from the catalogue because it gathers the field
rules of `formats` and `required`, which themselves make their issues through the catalogue."""

from __future__ import annotations

from services.claims.validation import formats, required
from services.claims.validation.catalog import CATALOG, RULES, Rule


def rules() -> list[Rule]:
    """Every rule: the hand-written ones of the catalogue, the field shapes, and one row per required field."""
    return [*RULES, *formats.RULES, *required.rules()]


def rulebook() -> dict[str, list[dict[str, str | None]]]:
    """What `GET /api/v1/claims/rules` answers: every code with its severity and message, every rule by table and
    field with its legal basis."""
    codes = [{"code": code, "severity": sev, "message": template} for code, (sev, template) in CATALOG.items()]
    return {"codes": codes, "items": [r.as_dict() for r in rules()]}
