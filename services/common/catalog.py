"""The plan catalog: the province plan 158/KH-UBND and the district plan 34/KH-UBND, item by item.

Each plan is a reviewed data file in `reference/plans/` (package data), read side by side with a
verbatim copy of the document in `reference/plans/sources/`. Item codes follow the documents' own
numbering (I, I.2.a, II.2.4, IV.3 ...); the same code means the same task at both levels, so figures
roll up from district to province (docs/domain.md §1).

Pure Python: PyYAML and the standard library only, so every service and the tests can use it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import yaml

from services.common import sources
from services.common.targets import target_met

PLANS_PACKAGE = "services.common.reference.plans"
PLAN_FILES: tuple[str, ...] = ("158-KH-UBND.yaml", "34-KH-UBND.yaml")

LEVELS = frozenset({"province", "district"})
KINDS = frozenset({"section", "objective", "target", "task", "funding", "organisation", "reporting"})
COMPARISONS = frozenset({"=", ">=", ">", "<=", "<"})
# docs/domain.md §2: the funding sources (nguồn kinh phí) that section III of a plan may name.
FUNDING_SOURCE_CODES = sources.CODES


@dataclass(frozen=True)
class Target:
    """One measurable target as the document states it (`quote` is an exact substring of it)."""

    key: str  # the same key for the same indicator across plans and years
    indicator: str
    value: float | None  # None only when the document states no figure (unit "completion")
    unit: str  # percent | count | completion ...
    comparison: str  # "=", ">=", ">" ...
    year: int | None  # None when the document gives no year
    quote: str

    def met(self, actual: object) -> bool | None:
        return target_met(actual, self.comparison, self.value)


@dataclass(frozen=True)
class FundingSource:
    code: str  # one of FUNDING_SOURCE_CODES
    quote: str


@dataclass(frozen=True)
class PlanItem:
    code: str
    title: str
    parent_code: str | None
    kind: str
    text: str
    lead_agency: str | None = None
    co_agencies: tuple[str, ...] = ()
    targets: tuple[Target, ...] = ()
    funding_sources: tuple[FundingSource, ...] = ()

    @property
    def depth(self) -> int:
        return self.code.count(".")


@dataclass(frozen=True)
class Plan:
    id: int
    number: str
    date: dt.date
    title: str
    issuer: str
    level: str
    unit: str
    parent_number: str | None
    period_from: int
    period_to: int
    implements: str
    source: str  # path of the verbatim source text, relative to the plans package
    items: tuple[PlanItem, ...]
    _by_code: Mapping[str, PlanItem] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_code", {item.code: item for item in self.items})

    @property
    def codes(self) -> list[str]:
        """All item codes in document order."""
        return [item.code for item in self.items]

    def item(self, code: str) -> PlanItem:
        try:
            return self._by_code[code]
        except KeyError:
            raise KeyError(f"plan {self.number} has no item {code!r}") from None

    def has_item(self, code: str) -> bool:
        return code in self._by_code

    def children(self, code: str | None) -> list[PlanItem]:
        """Direct sub-items of `code` (top-level items for None), in document order."""
        if code is not None:
            self.item(code)
        return [item for item in self.items if item.parent_code == code]

    def descendants(self, code: str) -> list[str]:
        """`code` itself followed by the codes of all its sub-items, in document order."""
        self.item(code)
        prefix = code + "."
        return [code] + [item.code for item in self.items if item.code.startswith(prefix)]

    def targets(self, key: str | None = None) -> list[tuple[PlanItem, Target]]:
        """All targets of the plan (optionally of one indicator key) with the item stating them."""
        return [(item, target) for item in self.items for target in item.targets if key is None or target.key == key]

    def source_text(self) -> str:
        """The verbatim text of the document this plan was transcribed from."""
        return resources.files(PLANS_PACKAGE).joinpath(self.source).read_text(encoding="utf-8")


# --------------------------------------------------------------------------- parsing and validation


def _require(data: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in data:
        raise ValueError(f"{where}: missing key {key!r}")
    return data[key]


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{where}: expected a non-empty string, got {value!r}")
    return value


def _opt_text(value: Any, where: str) -> str | None:
    return None if value is None else _text(value, where)


def _integer(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{where}: expected an integer, got {value!r}")
    return value


def _opt_integer(value: Any, where: str) -> int | None:
    return None if value is None else _integer(value, where)


def _parse_target(data: Any, where: str) -> Target:
    if not isinstance(data, Mapping):
        raise ValueError(f"{where}: a target must be a mapping")
    value = _require(data, "value", where)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise ValueError(f"{where}: value must be a number or null, got {value!r}")
    unit = _text(_require(data, "unit", where), f"{where}.unit")
    if value is None and unit != "completion":
        raise ValueError(f"{where}: value may be null only for unit 'completion'")
    comparison = _require(data, "comparison", where)
    if comparison not in COMPARISONS:
        raise ValueError(f"{where}: unknown comparison {comparison!r}")
    return Target(
        key=_text(_require(data, "key", where), f"{where}.key"),
        indicator=_text(_require(data, "indicator", where), f"{where}.indicator"),
        value=value,
        unit=unit,
        comparison=comparison,
        year=_opt_integer(_require(data, "year", where), f"{where}.year"),
        quote=_text(_require(data, "quote", where), f"{where}.quote"),
    )


def _parse_funding(data: Any, where: str) -> FundingSource:
    if not isinstance(data, Mapping):
        raise ValueError(f"{where}: a funding source must be a mapping")
    code = _require(data, "code", where)
    if code not in FUNDING_SOURCE_CODES:
        raise ValueError(f"{where}: unknown funding source code {code!r}")
    return FundingSource(code=code, quote=_text(_require(data, "quote", where), f"{where}.quote"))


def _parse_item(data: Any, where: str) -> PlanItem:
    if not isinstance(data, Mapping):
        raise ValueError(f"{where}: an item must be a mapping")
    code = _text(_require(data, "code", where), f"{where}.code")
    where = f"{where} ({code})"
    kind = _require(data, "kind", where)
    if kind not in KINDS:
        raise ValueError(f"{where}: unknown kind {kind!r}")
    text = _require(data, "text", where)
    if not isinstance(text, str):
        raise ValueError(f"{where}: text must be a string")
    co_agencies = data.get("co_agencies") or []
    targets = data.get("targets") or []
    funding = data.get("funding_sources") or []
    if not isinstance(co_agencies, list) or not isinstance(targets, list) or not isinstance(funding, list):
        raise ValueError(f"{where}: co_agencies, targets and funding_sources must be lists")
    return PlanItem(
        code=code,
        title=_text(_require(data, "title", where), f"{where}.title"),
        parent_code=_opt_text(_require(data, "parent_code", where), f"{where}.parent_code"),
        kind=kind,
        text=text.strip(),
        lead_agency=_opt_text(data.get("lead_agency"), f"{where}.lead_agency"),
        co_agencies=tuple(_text(a, f"{where}.co_agencies") for a in co_agencies),
        targets=tuple(_parse_target(t, f"{where}.targets[{i}]") for i, t in enumerate(targets)),
        funding_sources=tuple(_parse_funding(f, f"{where}.funding_sources[{i}]") for i, f in enumerate(funding)),
    )


def _check_items(items: Sequence[PlanItem], where: str, period: tuple[int, int]) -> None:
    codes: set[str] = set()
    for item in items:
        if item.code in codes:
            raise ValueError(f"{where}: duplicate item code {item.code!r}")
        codes.add(item.code)
    seen: set[str] = set()
    for item in items:
        if item.parent_code is None:
            if "." in item.code:
                raise ValueError(f"{where}: item {item.code!r} has no parent_code but is not top-level")
        else:
            if item.parent_code not in codes:
                raise ValueError(
                    f"{where}: item {item.code!r} has parent_code {item.parent_code!r}, which does not exist"
                )
            head, _, last = item.code.rpartition(".")
            if head != item.parent_code or not last:
                raise ValueError(
                    f"{where}: item {item.code!r} is not a direct sub-item of its parent_code "
                    f"{item.parent_code!r} (expected {item.parent_code}.<x>)"
                )
            if item.parent_code not in seen:
                raise ValueError(f"{where}: item {item.code!r} comes before its parent {item.parent_code!r}")
        if item.lead_agency is not None and item.lead_agency in item.co_agencies:
            raise ValueError(f"{where}: item {item.code!r} lists its lead agency among co_agencies")
        keys: set[tuple[str, int | None]] = set()
        for target in item.targets:
            if (target.key, target.year) in keys:
                raise ValueError(
                    f"{where}: item {item.code!r} states target {target.key!r} twice for year {target.year}"
                )
            keys.add((target.key, target.year))
            if target.year is not None and not period[0] <= target.year <= period[1]:
                raise ValueError(
                    f"{where}: item {item.code!r} target {target.key!r} year {target.year} "
                    f"is outside the plan period {period[0]}-{period[1]}"
                )
        seen.add(item.code)


def plan_from_dict(data: Any, where: str = "plan") -> Plan:
    """Build and validate one plan from its YAML mapping; raises ValueError on any inconsistency."""
    if not isinstance(data, Mapping):
        raise ValueError(f"{where}: expected a mapping at the top level")
    number = _text(_require(data, "number", where), f"{where}.number")
    where = f"{where} {number}"
    date = _require(data, "date", where)
    if not isinstance(date, dt.date) or isinstance(date, dt.datetime):
        raise ValueError(f"{where}: date must be a YAML date (YYYY-MM-DD), got {date!r}")
    level = _require(data, "level", where)
    if level not in LEVELS:
        raise ValueError(f"{where}: unknown level {level!r}")
    period = _require(data, "period", where)
    if not isinstance(period, Mapping):
        raise ValueError(f"{where}: period must be a mapping {{from: YYYY, to: YYYY}}")
    period_from = _integer(_require(period, "from", f"{where}.period"), f"{where}.period.from")
    period_to = _integer(_require(period, "to", f"{where}.period"), f"{where}.period.to")
    if period_from > period_to:
        raise ValueError(f"{where}: period runs backwards ({period_from}-{period_to})")
    raw_items = _require(data, "items", where)
    if not isinstance(raw_items, list) or not raw_items:
        raise ValueError(f"{where}: items must be a non-empty list")
    items = tuple(_parse_item(raw, f"{where} items[{i}]") for i, raw in enumerate(raw_items))
    _check_items(items, where, (period_from, period_to))
    unit = _require(data, "unit", where)
    if not isinstance(unit, str) or not unit.isdigit():
        raise ValueError(f'{where}: unit must be a quoted GSO code such as "91", got {unit!r}')
    return Plan(
        id=_integer(_require(data, "id", where), f"{where}.id"),
        number=number,
        date=date,
        title=_text(_require(data, "title", where), f"{where}.title"),
        issuer=_text(_require(data, "issuer", where), f"{where}.issuer"),
        level=level,
        unit=unit,
        parent_number=_opt_text(_require(data, "parent_number", where), f"{where}.parent_number"),
        period_from=period_from,
        period_to=period_to,
        implements=_text(_require(data, "implements", where), f"{where}.implements"),
        source=_text(_require(data, "source", where), f"{where}.source"),
        items=items,
    )


def check_catalog(plans: Iterable[Plan]) -> None:
    """Cross-plan checks: unique ids and numbers, and every parent_number names a loaded plan."""
    plans = list(plans)
    ids: set[int] = set()
    numbers: dict[str, Plan] = {}
    for plan in plans:
        if plan.id in ids:
            raise ValueError(f"duplicate plan id {plan.id} ({plan.number})")
        ids.add(plan.id)
        if plan.number in numbers:
            raise ValueError(f"duplicate plan number {plan.number!r}")
        numbers[plan.number] = plan
    for plan in plans:
        if plan.parent_number is None:
            if plan.level != "province":
                raise ValueError(f"plan {plan.number}: a {plan.level} plan needs a parent_number")
            continue
        parent = numbers.get(plan.parent_number)
        if parent is None:
            raise ValueError(f"plan {plan.number}: parent plan {plan.parent_number!r} is not in the catalog")
        if parent is plan:
            raise ValueError(f"plan {plan.number}: a plan cannot be its own parent")
        if not plan.unit.startswith(parent.unit):
            raise ValueError(f"plan {plan.number}: unit {plan.unit} is not inside its parent's unit {parent.unit}")


@cache
def _load() -> tuple[Plan, ...]:
    root = resources.files(PLANS_PACKAGE)
    plans: list[Plan] = []
    for name in PLAN_FILES:
        data = yaml.safe_load(root.joinpath(name).read_text(encoding="utf-8"))
        plan = plan_from_dict(data, where=name)
        if not root.joinpath(plan.source).is_file():
            raise ValueError(f"{name}: source file {plan.source!r} not found in {PLANS_PACKAGE}")
        plans.append(plan)
    check_catalog(plans)
    return tuple(sorted(plans, key=lambda p: p.id))


def load_plans() -> list[Plan]:
    """Both plans, validated, ordered by id (province 1, district 2). Loaded once and cached."""
    return list(_load())


def get_plan(plan_id: int) -> Plan:
    for plan in _load():
        if plan.id == plan_id:
            return plan
    raise KeyError(f"no plan with id {plan_id}")


def get_plan_by_number(number: str) -> Plan:
    for plan in _load():
        if plan.number == number:
            return plan
    raise KeyError(f"no plan numbered {number!r}")


def district_plans_of(plan_id: int) -> list[Plan]:
    """The plans that apply plan `plan_id` one level down (for the province plan: the district plans)."""
    parent = get_plan(plan_id)
    return [plan for plan in _load() if plan.parent_number == parent.number]
