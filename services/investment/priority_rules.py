"""Reads the priority score's weights from `priority_rules.yaml` (package data staff edit, not code); the rules
that apply them are pure (domain/priorities.py)."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import yaml

from services.investment.domain import PriorityRules

PRIORITY_RULES_FILE = "priority_rules.yaml"


@cache
def priority_rules_document() -> dict[str, Any]:
    """The rule file as written (shown with every ranking, so a list can be traced to its weights)."""
    text = resources.files("services.investment").joinpath(PRIORITY_RULES_FILE).read_text("utf-8")
    data = yaml.safe_load(text)
    PriorityRules.from_mapping(data)  # refuse a broken file at once
    return data


def load_priority_rules() -> PriorityRules:
    return PriorityRules.from_mapping(priority_rules_document())
