"""The priority score that ranks next year's list of stations to invest in, with every part that made it.

The weights are data (`priority_rules.yaml`, changed by staff, read by services/investment/priority_rules.py);
`PriorityRules.from_mapping` checks them and these functions apply them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from services.investment.domain.stations import BUILDING_CONDITIONS, BUILDING_LABELS


class RulesError(ValueError):
    pass


@dataclass(frozen=True)
class PriorityRules:
    """The weights of the priority score, from `priority_rules.yaml` (data, not code: staff change them)."""

    version: int
    national_health_criteria_not_met: int
    nrd_standard_not_met: int
    nrd_target_points: tuple[tuple[int, int], ...]  # (max years until the target year, points), ascending
    nrd_target_later: int
    building_condition: Mapping[str, int]  # good/fair/poor/none/unknown
    commune_kind: Mapping[str, int]  # Xã/Thị trấn/Phường
    no_recent_project_years: int
    no_recent_project_points: int
    project_in_progress_points: int

    @classmethod
    def from_mapping(cls, data: Any) -> PriorityRules:
        try:
            w = data["weights"]
            nrd = w["nrd_target_year"]
            steps = tuple(sorted((int(s["within_years"]), int(s["points"])) for s in nrd["steps"]))
            building = {str(k): int(v) for k, v in w["building_condition"].items()}
            kinds = {str(k): int(v) for k, v in w["commune_kind"].items()}
            rules = cls(
                version=int(data["version"]),
                national_health_criteria_not_met=int(w["national_health_criteria_not_met"]),
                nrd_standard_not_met=int(w.get("nrd_standard_not_met", 0)),
                nrd_target_points=steps,
                nrd_target_later=int(nrd["later"]),
                building_condition=building,
                commune_kind=kinds,
                no_recent_project_years=int(w["no_recent_completed_project"]["years"]),
                no_recent_project_points=int(w["no_recent_completed_project"]["points"]),
                project_in_progress_points=int(w.get("project_in_progress", 0)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise RulesError(f"priority rules: missing or invalid entry ({exc!r})") from exc
        missing = ({*BUILDING_CONDITIONS, "unknown"} - set(building)) | ({"Xã", "Phường", "Thị trấn"} - set(kinds))
        if missing:
            raise RulesError(f"priority rules: no weight for {sorted(missing)}")
        if rules.no_recent_project_years < 1:
            raise RulesError("priority rules: no_recent_completed_project.years must be at least 1")
        return rules


@dataclass(frozen=True)
class StationFacts:
    """What the score looks at, as of the ranking year."""

    code: str
    commune_kind: str
    national_health_criteria: bool | None
    nrd_standard: bool | None
    nrd_target_year: int | None
    building_condition: str | None
    last_completed_year: int | None  # of a project at this station (or merged into it)
    projects_in_progress: int  # approved or under construction


@dataclass(frozen=True)
class ScorePart:
    rule: str
    points: int
    why: str

    def as_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "points": self.points, "why": self.why}


def priority_score(facts: StationFacts, rules: PriorityRules, year: int) -> tuple[int, list[ScorePart]]:
    """The score for ranking next year's list, with every part that made it ("why")."""
    parts: list[ScorePart] = []
    if not facts.national_health_criteria:
        parts.append(
            ScorePart(
                "national_health_criteria_not_met",
                rules.national_health_criteria_not_met,
                "Xã chưa đạt Bộ tiêu chí quốc gia về y tế"
                + ("" if facts.national_health_criteria is False else " (chưa có ghi nhận)"),
            )
        )
    if not facts.nrd_standard:
        if rules.nrd_standard_not_met:
            parts.append(
                ScorePart("nrd_standard_not_met", rules.nrd_standard_not_met, "Xã chưa đạt chuẩn nông thôn mới")
            )
        if facts.nrd_target_year is not None:
            years_left = facts.nrd_target_year - year
            points = next((p for limit, p in rules.nrd_target_points if years_left <= limit), rules.nrd_target_later)
            parts.append(
                ScorePart(
                    "nrd_target_year",
                    points,
                    f"Xã phấn đấu đạt chuẩn nông thôn mới năm {facts.nrd_target_year} "
                    f"(còn {max(years_left, 0)} năm; tiêu chí 15 về y tế)",
                )
            )
    condition = facts.building_condition or "unknown"
    label = BUILDING_LABELS.get(condition, "chưa đánh giá")
    parts.append(ScorePart("building_condition", rules.building_condition[condition], f"Cơ sở vật chất trạm: {label}"))
    parts.append(
        ScorePart(
            "commune_kind",
            rules.commune_kind.get(facts.commune_kind, 0),
            f"Loại đơn vị hành chính: {facts.commune_kind}",
        )
    )
    horizon = year - rules.no_recent_project_years
    if facts.last_completed_year is None or facts.last_completed_year < horizon:
        since = "chưa có" if facts.last_completed_year is None else f"gần nhất năm {facts.last_completed_year}"
        parts.append(
            ScorePart(
                "no_recent_completed_project",
                rules.no_recent_project_points,
                f"Không có dự án hoàn thành trong {rules.no_recent_project_years} năm gần đây ({since})",
            )
        )
    if facts.projects_in_progress and rules.project_in_progress_points:
        parts.append(
            ScorePart(
                "project_in_progress",
                rules.project_in_progress_points,
                f"Đang có {facts.projects_in_progress} dự án được duyệt hoặc đang thi công",
            )
        )
    parts = [p for p in parts if p.points != 0]
    return sum(p.points for p in parts), parts
