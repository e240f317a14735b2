"""Helpers for the deployment checks: paths, promtool, the metric names a PromQL expression mentions."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
PROM = DEPLOY / "prometheus"
RULES = sorted((PROM / "rules").glob("*.yml"))
RULE_TESTS = sorted((PROM / "tests").glob("*.test.yml"))
DASHBOARDS = sorted((DEPLOY / "grafana" / "dashboards").glob("*.json"))


def promtool() -> str:
    path = shutil.which("promtool")
    if not path:
        pytest.fail("promtool is missing: `make deps-system` installs Debian's prometheus package")
    return path


# PromQL words that are not metric names.
_KEYWORDS = {
    "and",
    "or",
    "unless",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "offset",
    "bool",
    "inf",
    "nan",
    "atan2",
    "start",
    "end",
}
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
_MATCHERS = re.compile(r"\{[^{}]*\}")
_RANGES = re.compile(r"\[[^\]]*\]")
_GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)")
_IDENT = re.compile(r"(?<![\w$.:])([a-zA-Z_:][a-zA-Z0-9_:]*)(?![\w:])(\s*\()?")
_NUMBER_SUFFIX = re.compile(r"^\d")


def metric_names(expr: str) -> set[str]:
    """The metric (and recorded series) names an expression selects, without functions, labels and keywords."""
    text = _STRINGS.sub('""', expr)
    text = _MATCHERS.sub("", text)
    text = _RANGES.sub("", text)
    text = _GROUPING.sub(" ", text)
    text = re.sub(r"\$\w+", " ", text)  # Grafana variables ($__rate_interval, $plan)
    names = set()
    for match in _IDENT.finditer(text):
        word, call = match.group(1), match.group(2)
        if call or word in _KEYWORDS:
            continue
        names.add(word)
    return names


def base_name(series: str) -> str:
    """`x_bucket`/`x_sum`/`x_count` of a histogram and `x_created` of a counter belong to metric `x`."""
    return re.sub(r"_(bucket|sum|count|created)$", "", series)


def dashboard_exprs() -> Iterator[tuple[str, str, str]]:
    """(dashboard file, panel title, expression) for every query and templating query."""
    for path in DASHBOARDS:
        board = json.loads(path.read_text())
        for panel in _panels(board.get("panels", [])):
            for target in panel.get("targets", []):
                if target.get("expr"):
                    yield path.name, panel.get("title", ""), target["expr"]
        for var in board.get("templating", {}).get("list", []):
            query = var.get("query")
            query = query.get("query") if isinstance(query, dict) else query
            m = re.match(r"label_values\((.*),\s*\w+\)$", query or "")
            if m:
                yield path.name, f"variable {var['name']}", m.group(1)


def _panels(panels: list[dict]) -> Iterator[dict]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))


def rule_exprs() -> Iterator[tuple[str, str, str]]:
    for path in RULES:
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                yield path.name, rule.get("alert") or rule.get("record"), rule["expr"]
