"""Facility codes for tests on a shared stack.

Tests that need a facility no other test sends claims or money for draw one here: from 91500–91899, a range no
test names as a fixed code (fixed ones are spelt out in their modules, e.g. 91907, 91917), and never the same
code twice in one session. Drawing from all of 91000–91999 collided with those fixed codes (two failures in
one CI run: a random 91907 and a random 91917 met the tests that own them).
"""

from __future__ import annotations

import random

FIRST, LAST = 91500, 91899
_drawn: set[str] = set()


def fresh_facility() -> str:
    """A 5-digit facility code of Kiên Giang (91…) that no other test of this session uses."""
    free = [str(n) for n in range(FIRST, LAST + 1) if str(n) not in _drawn]
    code = random.choice(free)  # noqa: S311 - test data, not a secret
    _drawn.add(code)
    return code
