"""The one rule for a health facility's code (mã cơ sở KCB, MA_CSKCB), wherever it is typed, read or stored.

Five characters: the two-digit province code first (Kiên Giang 91, An Giang 89), then three digits or capital
letters, as BHXH assigns them. Readers of hospital files are liberal in format only: surrounding spaces and
lower case are forgiven by `normalise`, the content rule stays this one.
"""

from __future__ import annotations

import re

PATTERN = r"^\d{2}[0-9A-Z]{3}$"
CODE = re.compile(PATTERN)
MESSAGE = "Mã cơ sở KCB (MA_CSKCB) gồm 5 ký tự, 2 chữ số mã tỉnh đứng đầu (ví dụ 91001)"


def is_code(text: object) -> bool:
    """True for a code as stored: already normalised and matching the rule."""
    return isinstance(text, str) and CODE.match(text) is not None


def normalise(text: object) -> str | None:
    """A code as people and hospital software write it (spaces, lower case) -> the stored form, or None."""
    if not isinstance(text, str):
        return None
    code = text.strip().upper()
    return code if CODE.match(code) else None
