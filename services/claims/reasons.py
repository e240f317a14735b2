"""The reason catalog BHXH assesses with (services/claims/reasons.yaml), read once as `domain.assessment.Reason`s."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import yaml

from services.claims.domain.assessment import Reason

KINDS = ("tu_choi", "xuat_toan")


@cache
def catalog() -> dict[str, Reason]:
    """code -> Reason, in the file's order."""
    text = resources.files("services.claims").joinpath("reasons.yaml").read_text("utf-8")
    data = yaml.safe_load(text)
    out: dict[str, Reason] = {}
    for row in data["reasons"]:
        if row["kind"] not in KINDS:
            raise ValueError(f"reason {row['code']}: unknown kind {row['kind']}")
        out[row["code"]] = Reason(
            row["code"], row["kind"], row["title"], row.get("basis"), bool(row.get("requires_note", False))
        )
    return out


def listing() -> list[dict[str, Any]]:
    """The catalog as the API lists it."""
    return [r.as_dict() for r in catalog().values()]
