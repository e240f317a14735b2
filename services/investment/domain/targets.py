"""The plans' targets measured from the indicator facts and the station register. Pure: the read side
(views/indicators.py) gathers the stations, centres and their facts and hands them here.

The nine target keys of the plans (services/common/reference/plans/*.yaml) are measured in four ways:

- a share of stations (`stations_bhyt_eligible`, `communes_national_health_criteria`, `stations_with_doctor`,
  `stations_difficult_communes_invested`): stations meeting a condition ÷ stations in force on the as-of date;
- a pooled ratio over stations (`population_health_managed`, `doctors_family_medicine_trained`,
  `stations_technical_services`): Σ numerator ÷ Σ denominator over the stations that reported both;
- a pooled ratio over district health centres (`district_centres_technical_services`);
- a share of centres reaching the service threshold (`district_centres_technical_services_share`).
Whether a figure reaches its target is the one rule of services/common/targets.py (Decimal, never float).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from services.common.targets import target_met

# "Hoàn thành đầu tư trạm y tế ở các xã có điều kiện kinh tế - xã hội khó khăn và đặc biệt khó khăn"
# (158/KH-UBND I.2.a): of the difficult communes, those whose station has a completed building project.
DIFFICULT_INVESTED_KEY = "stations_difficult_communes_invested"


def as_of_date(year: int, today: date) -> date:
    """A year's figure is as of 31/12, or today for the year still running (or a future year)."""
    return min(date(year, 12, 31), today)


SHARE = "share"  # stations meeting a condition ÷ stations in force
POOLED = "pooled"  # Σ numerator ÷ Σ denominator over stations reporting both
CENTRE_POOLED = "centre_pooled"
CENTRE_SHARE = "centre_share"

DOCTOR_DAYS = 2  # "có bác sỹ làm việc thường xuyên hoặc ít nhất 02 ngày/tuần"

# key -> (kind, numerator field, denominator field) for the pooled kinds.
POOLED_FIELDS = {
    "population_health_managed": ("population_managed", "population"),
    "doctors_family_medicine_trained": ("doctors_family_medicine", "doctors"),
    "stations_technical_services": ("services_performed", "services_in_list"),
    "district_centres_technical_services": ("services_performed", "services_in_list"),
}
KINDS = {
    "stations_bhyt_eligible": SHARE,
    "communes_national_health_criteria": SHARE,
    "stations_with_doctor": SHARE,
    DIFFICULT_INVESTED_KEY: SHARE,
    "population_health_managed": POOLED,
    "doctors_family_medicine_trained": POOLED,
    "stations_technical_services": POOLED,
    "district_centres_technical_services": CENTRE_POOLED,
    "district_centres_technical_services_share": CENTRE_SHARE,
}
# The register's attribute a share target falls back on where a station has no fact for the year.
REGISTER_FALLBACK = {
    "stations_bhyt_eligible": "bhyt_eligible",
    "communes_national_health_criteria": "national_health_criteria",
}
FACT_OF = {"stations_bhyt_eligible": "bhyt_eligible", "communes_national_health_criteria": "national_criteria_met"}


@dataclass
class Unit:
    """A station (or a district health centre) in the evaluation, with what is known of it for the year."""

    code: str
    name: str
    group: str | None  # the unit one level below the scope it is shown under (its district), or None
    group_name: str | None
    facts: dict[str, Any] | None  # the year's latest version, or None: not reported
    register: dict[str, bool] = field(default_factory=dict)  # register attributes true/false as of the year
    in_pool: bool = True  # stations_difficult_communes_invested: only difficult communes count
    invested: bool = False  # stations_difficult_communes_invested: a completed building project


@dataclass(frozen=True)
class Spec:
    key: str
    value: float | None
    comparison: str
    threshold: float | None = None  # district_centres_technical_services_share: the list share a centre must reach


def percent(numerator: int, denominator: int) -> str | None:
    if denominator == 0:
        return None
    return str((Decimal(100 * numerator) / Decimal(denominator)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _doctor_ok(f: dict[str, Any]) -> bool:
    return (f.get("doctors") or 0) >= 1 and (f.get("doctor_days_per_week") or 0) >= DOCTOR_DAYS


def _share_check(key: str, u: Unit, year: int) -> tuple[bool | None, str, str]:
    """(meets?, where the value came from, why it misses) for one station and a share target.
    meets None: nothing known (counted as not meeting, named as not reported)."""
    if key == DIFFICULT_INVESTED_KEY:
        return u.invested, "register", "chưa có dự án xây mới/cải tạo/nâng cấp hoàn thành"
    if key == "stations_with_doctor":
        f = u.facts
        if f is None or f.get("doctor_days_per_week") is None or f.get("doctors") is None:
            return None, "indicators", f"chưa có số liệu bác sỹ năm {year}"
        days = f.get("doctor_days_per_week")
        return _doctor_ok(f), "indicators", f"{f.get('doctors')} bác sỹ, {days} ngày/tuần"
    fact = FACT_OF[key]
    if u.facts is not None and u.facts.get(fact) is not None:
        return bool(u.facts[fact]), "indicators", "không đạt (số liệu chỉ số năm " + str(year) + ")"
    attr = REGISTER_FALLBACK[key]
    if attr in u.register:
        return u.register[attr], "register", "không đạt (sổ theo dõi trạm)"
    return None, "register", f"chưa ghi nhận đến năm {year}"


def _ratio(f: dict[str, Any] | None, num: str, den: str) -> tuple[int, int] | None:
    if f is None or f.get(num) is None or not f.get(den):
        return None
    return int(f[num]), int(f[den])


@dataclass
class Result:
    actual: str | None
    numerator: int
    denominator: int
    met: bool | None
    source: str
    reported: int
    expected: int
    misses: list[dict[str, Any]]
    by_unit: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return {
            "actual_value": self.actual,
            "numerator": self.numerator,
            "denominator": self.denominator,
            "met": self.met,
            "source": self.source,
            "reported": self.reported,
            "expected": self.expected,
            "misses": self.misses,
            "by_unit": self.by_unit,
        }


def _group(units_: list[Unit]) -> dict[tuple[str, str], list[Unit]]:
    out: dict[tuple[str, str], list[Unit]] = {}
    for u in units_:
        if u.group is not None:
            out.setdefault((u.group, u.group_name or u.group), []).append(u)
    return out


def _count(
    spec: Spec, units_: list[Unit], year: int, check: Callable[[Unit], tuple[bool | None, str, str]]
) -> tuple[int, int, set[str], int, list[dict[str, Any]]]:
    """(hits, pool size, sources used, stations with a known value, misses) of a share."""
    hits, pool, known = 0, 0, 0
    sources: set[str] = set()
    misses = []
    for u in units_:
        if not u.in_pool:
            continue
        pool += 1
        ok, src, why = check(u)
        if ok is not None:
            known += 1
            sources.add(src)
        if ok:
            hits += 1
        else:
            misses.append({"code": u.code, "name": u.name, "group": u.group, "reason": why})
    return hits, pool, sources, known, misses


def _sum(units_: Iterable[Unit], num: str, den: str) -> tuple[int, int, int]:
    n = d = reported = 0
    for u in units_:
        r = _ratio(u.facts, num, den)
        if r is not None:
            n, d, reported = n + r[0], d + r[1], reported + 1
    return n, d, reported


def evaluate(spec: Spec, units_: list[Unit], year: int, *, with_groups: bool = True) -> Result:
    """One target over the units of the scope (stations, or centres for the centre kinds)."""
    kind = KINDS[spec.key]
    groups = _group(units_) if with_groups else {}
    if kind == SHARE:

        def check(u: Unit) -> tuple[bool | None, str, str]:
            return _share_check(spec.key, u, year)

        hits, pool, sources, known, misses = _count(spec, units_, year, check)
        # A target measured only by indicator facts is not measured while nobody has reported.
        measured = known > 0 or spec.key in REGISTER_FALLBACK or spec.key == DIFFICULT_INVESTED_KEY
        actual = percent(hits, pool) if measured else None
        source = "+".join(sorted(sources)) or ("indicators" if spec.key == "stations_with_doctor" else "register")
        by_unit = []
        for (code, name), members in sorted(groups.items()):
            h, p, _s, k, _m = _count(spec, members, year, check)
            a = percent(h, p) if (k > 0 or measured) else None
            by_unit.append(_row(code, name, a, h, p, spec))
        return Result(
            actual,
            hits,
            pool,
            target_met(actual, spec.comparison, spec.value),
            source,
            known,
            sum(1 for u in units_ if u.in_pool),
            misses,
            by_unit,
        )
    if kind in (POOLED, CENTRE_POOLED):
        num, den = POOLED_FIELDS[spec.key]
        n, d, reported = _sum(units_, num, den)
        actual = percent(n, d)
        misses = []
        for u in units_:
            r = _ratio(u.facts, num, den)
            own = percent(*r) if r else None
            if r is None:
                misses.append(
                    {"code": u.code, "name": u.name, "group": u.group, "reason": f"chưa có số liệu năm {year}"}
                )
            elif not target_met(own, spec.comparison, spec.value):
                misses.append(
                    {
                        "code": u.code,
                        "name": u.name,
                        "group": u.group,
                        "reason": f"{r[0]}/{r[1]} = {own}%",
                        "actual_value": own,
                    }
                )
        by_unit = []
        for (code, name), members in sorted(groups.items()):
            gn, gd, _r = _sum(members, num, den)
            by_unit.append(_row(code, name, percent(gn, gd), gn, gd, spec))
        return Result(
            actual,
            n,
            d,
            target_met(actual, spec.comparison, spec.value),
            "indicators",
            reported,
            len(units_),
            misses,
            by_unit,
        )
    # CENTRE_SHARE: centres whose own list share reaches the threshold ÷ centres.
    num, den = POOLED_FIELDS["district_centres_technical_services"]
    hits = reported = 0
    misses = []
    for u in units_:
        r = _ratio(u.facts, num, den)
        if r is None:
            misses.append({"code": u.code, "name": u.name, "group": u.group, "reason": f"chưa có số liệu năm {year}"})
            continue
        reported += 1
        own = percent(*r)
        if spec.threshold is not None and target_met(own, ">=", spec.threshold):
            hits += 1
        else:
            misses.append(
                {
                    "code": u.code,
                    "name": u.name,
                    "group": u.group,
                    "reason": f"{r[0]}/{r[1]} = {own}% < {_fmt(spec.threshold)}%",
                    "actual_value": own,
                }
            )
    actual = percent(hits, len(units_)) if reported and spec.threshold is not None else None
    return Result(
        actual,
        hits,
        len(units_),
        target_met(actual, spec.comparison, spec.value),
        "indicators",
        reported,
        len(units_),
        misses,
        [],
    )


def _fmt(value: float | None) -> str:
    if value is None:
        return "?"
    return str(int(value)) if float(value).is_integer() else str(value)


def _row(code: str, name: str, actual: str | None, n: int, d: int, spec: Spec) -> dict[str, Any]:
    return {
        "unit": code,
        "name": name,
        "actual_value": actual,
        "numerator": n,
        "denominator": d,
        "met": target_met(actual, spec.comparison, spec.value),
    }


def basis(key: str, year: int, on_text: str, scope_name: str, result: Result, threshold: float | None) -> str:
    """How the value was computed, in words (shown beside the figure and in the report)."""
    rep = f"{result.reported}/{result.expected}"
    if key == DIFFICULT_INVESTED_KEY:
        return (
            f"Trạm của các xã khó khăn, đặc biệt khó khăn (ghi nhận đến năm {year}) đã có dự án xây mới/cải tạo/"
            f"nâng cấp hoàn thành đến {on_text}, trên số xã đó, thuộc {scope_name}"
        )
    if key in REGISTER_FALLBACK:
        label = (
            "đủ điều kiện khám, chữa bệnh BHYT" if key == "stations_bhyt_eligible" else "đạt tiêu chí quốc gia về y tế"
        )
        return (
            f"Số trạm {label} trên số trạm đang hoạt động ngày {on_text} thuộc {scope_name}: theo số liệu chỉ số "
            f"năm {year} của trạm ({rep} trạm có số liệu), trạm chưa có thì theo sổ theo dõi trạm "
            f"(ghi nhận đến năm {year})"
        )
    if key == "stations_with_doctor":
        return (
            f"Số trạm có bác sỹ làm việc ít nhất {DOCTOR_DAYS} ngày/tuần (số liệu năm {year}) trên số trạm đang hoạt "
            f"động ngày {on_text} thuộc {scope_name}; {rep} trạm có số liệu, trạm chưa có tính là chưa đạt"
        )
    if key == "population_health_managed":
        return (
            f"Tổng số người có hồ sơ sức khỏe được quản lý trên tổng dân số các xã có số liệu năm {year} "
            f"({rep} trạm) thuộc {scope_name}"
        )
    if key == "doctors_family_medicine_trained":
        return (
            f"Tổng số bác sỹ được đào tạo kiến thức bác sỹ gia đình trên tổng số bác sỹ làm việc tại trạm "
            f"(số liệu năm {year}, {rep} trạm) thuộc {scope_name}"
        )
    if key == "stations_technical_services":
        return (
            f"Tổng số dịch vụ kỹ thuật thực hiện được trên tổng số dịch vụ của danh mục tuyến xã của các trạm có số "
            f"liệu năm {year} ({rep} trạm) thuộc {scope_name}; trạm dưới mức chỉ tiêu được liệt kê"
        )
    if key == "district_centres_technical_services":
        return (
            f"Tổng số dịch vụ kỹ thuật thực hiện được trên tổng số dịch vụ của danh mục tuyến huyện của các trung "
            f"tâm y tế huyện có số liệu năm {year} ({rep} trung tâm) thuộc {scope_name}"
        )
    return (
        f"Số trung tâm y tế huyện thực hiện được từ {_fmt(threshold)}% danh mục dịch vụ kỹ thuật tuyến huyện trở lên "
        f"(số liệu năm {year}, {rep} trung tâm có số liệu) trên số trung tâm thuộc {scope_name}"
    )
