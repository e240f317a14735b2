"""Investment service messages: station projects, their capital (giao vốn), disbursement and settlement,
the stations' criteria, and the RPC shapes the gateway relies on (commands in, funding answers out).

Events are versioned (`EVENTS`); a breaking change is a new version. Command schemas are loaded twice:
by the gateway from the HTTP body and by the service from the RPC payload (the gateway sends
`schema.dump(loaded)`, JSON-safe: dates as ISO strings).
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from services.common.contracts.fields import VND, Count, Day, Id, Text, Year

# --------------------------------------------------------------------------- field helpers (Vietnamese)

NULL = "Trường này không được để trống (null)."


def _str(max_len: int, required: bool = False, **kw: Any) -> fields.String:
    if not required:
        kw.setdefault("load_default", None)
        kw.setdefault("allow_none", True)
    return Text(  # free text: bidi controls refused (contracts.fields.Text)
        required=required,
        validate=validate.Length(min=1, max=max_len, error=f"Độ dài từ 1 đến {max_len} ký tự."),
        error_messages={"invalid": "Phải là chuỗi ký tự.", "null": NULL},
        **kw,
    )


def _int(required: bool = False, kind: type[fields.Integer] = Id, **kw: Any) -> fields.Integer:
    """A record number (Id, 1 … 2^63−1) or a year (Year, 2000 … 2100): bounded, so no input overflows a column."""
    if not required:
        kw.setdefault("load_default", None)
        kw.setdefault("allow_none", True)
    return kind(required=required, strict=True, error_messages={"invalid": "Phải là số nguyên.", "null": NULL}, **kw)


def _date(required: bool = False, **kw: Any) -> fields.Date:
    if not required:
        kw.setdefault("load_default", None)
        kw.setdefault("allow_none", True)
    return Day(  # within contracts.fields.EARLIEST_DAY … today + 1 year
        required=required, error_messages={"invalid": "Ngày phải có dạng YYYY-MM-DD.", "null": NULL}, **kw
    )


def _vnd(**kw: Any) -> VND:
    """A whole-đồng amount in a command (the VND field refuses floats and fractions)."""
    return VND(required=True, error_messages={"null": NULL}, **kw)


# --------------------------------------------------------------------------- events


class ProjectRegisteredV1(Schema):
    project_id = fields.Integer(required=True)
    station_code = fields.String(required=True)
    kind = fields.String(required=True)
    plan_id = fields.Integer(required=True)
    item_code = fields.String(required=True)
    estimated_cost = VND(required=True)


class CapitalAssignedV1(Schema):
    capital_id = fields.Integer(required=True)
    project_id = fields.Integer(required=True)
    source = fields.String(required=True)
    fiscal_year = fields.Integer(required=True)
    amount = VND(required=True)  # negative for a reduction
    fund_year = fields.Integer(allow_none=True, load_default=None)
    use = fields.String(allow_none=True, load_default=None)
    # Optional and added (v1 stays v1): the finance allocation whose money this capital is; null = not finance's.
    funded_by_allocation = fields.Integer(allow_none=True, load_default=None)


class ProjectDisbursedV1(Schema):
    disbursement_id = fields.Integer(required=True)
    project_id = fields.Integer(required=True)
    source = fields.String(required=True)
    amount = VND(required=True)  # negative for a reversal
    date = fields.Date(required=True)


class ProjectCompletedV1(Schema):
    project_id = fields.Integer(required=True)
    settled_cost = VND(required=True)
    completed_on = fields.Date(required=True)


class StationCriteriaReachedV1(Schema):
    station_code = fields.String(required=True)
    criterion = fields.String(required=True)  # national_health_criteria | nrd_standard
    year = fields.Integer(required=True)


class StationFacilitySetV1(Schema):
    """A commune station claims BHYT under this MA_CSKCB from `year` (the claims service treats the facility as a
    commune station: Luật BHYT Điều 22 k1 e pays 100 % there). The newest (year, event) of a station counts."""

    station_code = fields.String(required=True)
    facility_code = fields.String(required=True)
    year = fields.Integer(required=True)


class ProjectEstimateRevisedV1(Schema):
    estimate_id = fields.Integer(required=True)
    project_id = fields.Integer(required=True)
    amount = VND(required=True)
    decision_no = fields.String(required=True)


class ProjectStatusChangedV1(Schema):
    project_id = fields.Integer(required=True)
    from_status = fields.String(required=True)
    to_status = fields.String(required=True)
    effective_date = fields.Date(required=True)


EVENTS = {
    "project_registered": (1, ProjectRegisteredV1),
    "capital_assigned": (1, CapitalAssignedV1),
    "project_disbursed": (1, ProjectDisbursedV1),
    "project_completed": (1, ProjectCompletedV1),
    "station_criteria_reached": (1, StationCriteriaReachedV1),
    "station_facility_set": (1, StationFacilitySetV1),
    "project_estimate_revised": (1, ProjectEstimateRevisedV1),
    "project_status_changed": (1, ProjectStatusChangedV1),
}

# --------------------------------------------------------------------------- commands (HTTP body = RPC payload)


class ProjectIn(Schema):
    """Register a project (dự án đầu tư) at a commune health station under a plan item."""

    station_code = _str(10, required=True, metadata={"description": "Mã xã (GSO) của trạm y tế"})
    kind = _str(20, required=True, metadata={"enum": ["new_build", "renovation", "upgrade", "equipment"]})
    title = _str(500, required=True)
    estimated_cost = _vnd(metadata={"description": "Tổng mức đầu tư, đồng"})
    plan_id = _int(required=True)
    item_code = _str(20, required=True, metadata={"description": "Mục của kế hoạch, thường II.5"})
    start_year = _int(kind=Year)
    end_year = _int(kind=Year)
    status = fields.String(load_default="proposed", metadata={"enum": ["proposed", "approved", "under_construction"]})
    decision_no = _str(80, metadata={"description": "Quyết định phê duyệt chủ trương / dự án"})
    decision_date = _date()


class CapitalIn(Schema):
    """Giao vốn: capital for a project from one source for one fiscal year (negative to reduce it)."""

    source = _str(40, required=True)
    fiscal_year = _int(kind=Year, required=True)
    fund_year = _int(
        kind=Year, metadata={"description": "20% BHYT surplus: the fund year (2015–2020, before the fiscal year)"}
    )
    use = _str(
        40,
        metadata={"description": "20% BHYT surplus: kcb_poor_fund | premium_support | equipment | patient_transport"},
    )
    amount = _vnd()
    decision_no = _str(80, required=True)
    decision_date = _date(required=True)
    funded_by_allocation = _int(
        metadata={
            "description": "The finance allocation (phân bổ) whose money this capital is: same plan, item (or a "
            "sub-item), source and fiscal year, its recipient unit containing the station, and room left in it. "
            "The funding answers then count that money once. Null: money finance does not hold."
        }
    )


class CapitalCommandIn(CapitalIn):
    """`assign_capital` as the gateway sends it to investment: the API's CapitalIn and, when the capital names a
    finance allocation, `allocation_room`, what finance says that allocation holds (allocated less what it passed
    down), read by the gateway just before. Investment takes off the capital already linked to it and decides
    `exceeds_allocation` in its own transaction, locked per allocation, so that two links sent at the same instant
    cannot both take the same room. Not part of the API body: the gateway sets it."""

    allocation_room = VND(allow_none=True, load_default=None)


class DisbursementIn(Schema):
    """Giải ngân from one source of the project's capital (negative to reverse)."""

    source = _str(40, required=True)
    amount = _vnd()
    date = _date(required=True)
    reference = _str(120, metadata={"description": "Chứng từ kho bạc"})


MAX_IMPORT_ROWS = 2000  # a treasury statement's payments of a district's projects for a year


class DisbursementImportRowIn(DisbursementIn):
    """One row of an imported sheet of project disbursements: the project and the source paid from, the payment
    as `disburse` takes it (negative: a return, thu hồi) and the sheet's row number every refusal of it names. The
    voucher number is required: it tells a payment already recorded from a new one (services/common/imports.py)."""

    row = Count(strict=True, required=True)
    project_id = _int(required=True)
    reference = Text(
        required=True,
        validate=[validate.Length(max=120), validate.Regexp(r"\s*\S", error="Số chứng từ không được để trống.")],
        error_messages={"null": NULL},
    )


class DisbursementImportIn(Schema):
    """`import_disbursements`: a sheet of project disbursements, recorded together or not at all; a row whose
    payment investment already holds is not recorded again."""

    rows = fields.List(
        fields.Nested(DisbursementImportRowIn), required=True, validate=validate.Length(min=1, max=MAX_IMPORT_ROWS)
    )


class EstimateIn(Schema):
    """A revised estimate (điều chỉnh tổng mức đầu tư / dự toán), with its decision."""

    amount = _vnd()
    decision_no = _str(80, required=True)
    decision_date = _date(required=True)
    note = _str(1000)


class StatusIn(Schema):
    status = _str(20, required=True, metadata={"enum": ["approved", "under_construction", "completed"]})
    effective_date = _date(metadata={"description": "Ngày có hiệu lực; mặc định hôm nay"})
    decision_no = _str(80)
    note = _str(1000)


class CompletionIn(Schema):
    """Quyết toán dự án hoàn thành."""

    settled_cost = _vnd()
    completed_on = _date(required=True)
    decision_no = _str(80, required=True)
    decision_date = _date(required=True)


class StationStatusIn(Schema):
    """A recorded fact about a station: criteria reached (and in which year), BHYT eligibility, building…"""

    attribute = _str(
        40,
        required=True,
        metadata={
            "enum": [
                "national_health_criteria",
                "nrd_standard",
                "bhyt_eligible",
                "building_condition",
                "nrd_target_year",
                "difficult_commune",
                "bhyt_facility_code",
            ]
        },
    )
    value = fields.Raw(
        required=True,
        error_messages={"null": NULL},
        metadata={"description": "true/false; good|fair|poor|none; a year; or a MA_CSKCB (bhyt_facility_code)"},
    )
    year = _int(kind=Year, required=True)
    decision_no = _str(80)
    decision_date = _date()
    note = _str(1000)
    station_valid_from = _date(
        metadata={"description": "Which version of a reused commune code (default: the one of that year)"}
    )


class IndicatorsIn(Schema):
    """A unit's indicator facts for a year (`PUT /api/v1/stations/{code}/indicators/{year}`): any subset of the
    fields, set over the current ones (null clears one), with the document or survey they come from. The
    investment service checks the values (services/investment/indicators.py); names may grow, never change."""

    population = fields.Raw(allow_none=True, metadata={"description": "Dân số của xã", "example": 12500})
    population_managed = fields.Raw(
        allow_none=True, metadata={"description": "Người có hồ sơ sức khỏe được quản lý", "example": 10200}
    )
    doctors = fields.Raw(allow_none=True, metadata={"description": "Bác sỹ làm việc tại trạm", "example": 1})
    doctor_days_per_week = fields.Raw(allow_none=True, metadata={"description": "0 … 7", "example": 5})
    doctors_family_medicine = fields.Raw(
        allow_none=True, metadata={"description": "Bác sỹ được đào tạo y học gia đình", "example": 1}
    )
    services_performed = fields.Raw(
        allow_none=True, metadata={"description": "Dịch vụ kỹ thuật của danh mục thực hiện được", "example": 95}
    )
    services_in_list = fields.Raw(
        allow_none=True, metadata={"description": "Số dịch vụ của danh mục tuyến xã (huyện)", "example": 120}
    )
    national_criteria_met = fields.Raw(allow_none=True, metadata={"example": True})
    criteria_scores = fields.Raw(allow_none=True, metadata={"example": {"TC1": 10, "TC2": 8.5}})
    bhyt_eligible = fields.Raw(allow_none=True, metadata={"example": True})
    source = fields.Raw(
        required=True, metadata={"description": "Văn bản hoặc cuộc điều tra", "example": "Báo cáo 12/BC-TYT 2024"}
    )
    station_valid_from = fields.Raw(
        allow_none=True, metadata={"description": "Which version of a reused commune code (default: the year's latest)"}
    )


# --------------------------------------------------------------------------- answers (the gateway sums these)


class Figure(Schema):
    allocated = VND(required=True)
    disbursed = VND(required=True)


class FundingFigures(Schema):
    """allocated = capital assigned (by fiscal year), disbursed = disbursements (by year of payment).

    `linked_to_finance`: the part of `allocated` that is a finance allocation's money (capital naming
    `funded_by_allocation`), and `linked_by_allocation` the same by allocation id, with its source and fiscal
    year, so the gateway adds to finance's figures only the capital finance does not already count."""

    code = fields.String(required=True)
    year = fields.Integer(allow_none=True, required=True)
    unit = fields.String(allow_none=True, required=True)
    allocated = VND(required=True)
    disbursed = VND(required=True)
    execution_rate = fields.String(allow_none=True, required=True)  # "0.4523", None when allocated is 0
    by_source = fields.Dict(keys=fields.String(), values=fields.Nested(Figure), required=True)
    by_year = fields.Dict(keys=fields.String(), values=fields.Nested(Figure), required=True)
    linked_to_finance = VND(load_default=0)
    linked_by_allocation = fields.Dict(
        keys=fields.String(), values=fields.Nested(lambda: LinkedCapital()), load_default=dict
    )


class LinkedCapital(Schema):
    """Capital funded by one finance allocation, within the answer's scope (reductions netted)."""

    amount = VND(required=True)
    source = fields.String(required=True)
    by_year = fields.Dict(keys=fields.String(), values=VND(), required=True)


class FundingStatus(FundingFigures):
    """`funding_status(plan_id, item_code, year=None, unit=None)`: the same shape as finance's answer."""

    plan_id = fields.Integer(required=True)


class FundingTree(Schema):
    """`funding_tree(plan_id, year=None, unit=None)`: every item of the plan."""

    plan_id = fields.Integer(required=True)
    year = fields.Integer(allow_none=True, required=True)
    unit = fields.String(allow_none=True, required=True)
    items = fields.Dict(keys=fields.String(), values=fields.Nested(FundingFigures), required=True)


class TargetActual(Schema):
    """`targets(plan_id, year, unit=None)`: one plan target measured from the indicator facts and the register."""

    key = fields.String(required=True)
    item_code = fields.String(required=True)
    indicator = fields.String(required=True)
    target_value = fields.Raw(allow_none=True, required=True)
    target_unit = fields.String(required=True)
    target_year = fields.Integer(allow_none=True, required=True)
    comparison = fields.String(required=True)
    actual_value = fields.String(allow_none=True, required=True)  # percent, 2 decimals
    numerator = fields.Integer(required=True)
    denominator = fields.Integer(required=True)
    as_of = fields.Date(required=True)
    met = fields.Boolean(allow_none=True, required=True)
    basis = fields.String(required=True)
    # Measured from the indicator facts too (docs/investment.md "Indicator facts"):
    source = fields.String(metadata={"description": "register | indicators | indicators+register"})
    level = fields.String(metadata={"enum": ["province", "district", "commune"]})
    unit = fields.String()
    reported = fields.Integer(metadata={"description": "Stations (or centres) with a value for the year"})
    expected = fields.Integer(metadata={"description": "Stations (or centres) counted"})
    by_unit = fields.List(fields.Nested(lambda: TargetByUnit()))
    misses = fields.List(fields.Nested(lambda: TargetMiss()))


class TargetByUnit(Schema):
    """The same target one level down: each district of the province, each commune of a district."""

    unit = fields.String(required=True)
    name = fields.String(required=True)
    actual_value = fields.String(allow_none=True, required=True)
    numerator = fields.Integer(required=True)
    denominator = fields.Integer(required=True)
    met = fields.Boolean(allow_none=True, required=True)


class TargetMiss(Schema):
    """A station (or district health centre) that misses the target, and why."""

    code = fields.String(required=True)
    name = fields.String(required=True)
    group = fields.String(allow_none=True)
    reason = fields.String(required=True)
    actual_value = fields.String(allow_none=True)


class Targets(Schema):
    plan_id = fields.Integer(required=True)
    year = fields.Integer(required=True)
    unit = fields.String(required=True)
    level = fields.String()
    as_of = fields.Date(required=True)
    items = fields.List(fields.Nested(TargetActual), required=True)


class ProjectTotals(Schema):
    """A project's money as it stands: the cap is the settled cost once settled, else the latest estimate."""

    estimated_cost = VND(required=True)
    settled_cost = VND(allow_none=True, required=True)
    capital = VND(required=True)
    disbursed = VND(required=True)
    remaining_to_finance = VND(required=True)
    undisbursed_capital = VND(required=True)
    execution_rate = fields.String(allow_none=True, required=True)


class ProjectOut(ProjectTotals):
    """A project as listed (`GET /investment/projects`); the detail adds its records and breakdowns."""

    id = fields.Integer(required=True)
    station_code = fields.String(required=True)
    station_name = fields.String(required=True)
    current_station_code = fields.String(required=True, metadata={"description": "After a merger: the successor"})
    kind = fields.String(required=True)
    title = fields.String(required=True)
    plan_id = fields.Integer(required=True)
    item_code = fields.String(required=True)
    status = fields.String(required=True)
    start_year = fields.Integer(allow_none=True)
    end_year = fields.Integer(allow_none=True)
    decision_no = fields.String(allow_none=True)
    decision_date = fields.Date(allow_none=True)
    created_by = fields.String(allow_none=True)


class MoneyRecordOut(Schema):
    """The answer to a capital, disbursement or estimate command: the new record and the project's totals."""

    id = fields.Integer(required=True)
    project_id = fields.Integer(required=True)
    amount = VND(required=True)
    source = fields.String()
    fiscal_year = fields.Integer()
    date = fields.Date()
    decision_no = fields.String(allow_none=True)
    decision_date = fields.Date(allow_none=True)
    reference = fields.String(allow_none=True)
    note = fields.String(allow_none=True)
    recorded_by = fields.String(allow_none=True)
    funded_by_allocation = fields.Integer(allow_none=True, metadata={"description": "Capital: the finance allocation"})
    project = fields.Nested(ProjectTotals, required=True)
