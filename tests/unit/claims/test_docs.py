"""docs/claims-validation.md documents every code of the catalogue, with its severity."""

from __future__ import annotations

from pathlib import Path

from services.claims.validation import CATALOG

DOC = Path(__file__).resolve().parents[3] / "docs" / "claims-validation.md"


def test_every_code_is_documented_with_its_severity():
    rows = [line for line in DOC.read_text(encoding="utf-8").splitlines() if line.startswith("| `")]
    for code, (severity, _) in CATALOG.items():
        mine = [row for row in rows if row.startswith(f"| `{code}` |")]
        assert mine, f"{code} has no row in {DOC.name}"
        assert all(f"| {severity} |" in row for row in mine), code
