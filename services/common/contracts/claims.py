"""Claims service messages: files received, records accepted, assessments, capitation spend."""

from __future__ import annotations

from marshmallow import Schema, fields

from services.common.contracts.fields import Money2


class FileReceivedV1(Schema):
    file_id = fields.Integer(required=True)
    sha256 = fields.String(required=True)
    size = fields.Integer(required=True)
    facility_code = fields.String(allow_none=True, load_default=None)


class RecordsAcceptedV1(Schema):
    """Counts and totals per facility-period of one processed file."""

    file_id = fields.Integer(required=True)
    facility_code = fields.String(required=True)
    period = fields.String(required=True)  # YYYY-MM of NAM_QT/THANG_QT
    accepted = fields.Integer(required=True)
    rejected = fields.Integer(required=True)
    t_bhtt = Money2(required=True)


class ClaimsAssessedV1(Schema):
    facility_code = fields.String(required=True)
    period = fields.String(required=True)  # YYYY-Qn
    assessed = fields.Integer(required=True)
    approved = Money2(required=True)


class CapitationSpendChangedV1(Schema):
    """The capitation spend of a facility-quarter as it stands now (a level, not a delta: replays are harmless)."""

    facility_code = fields.String(required=True)
    period = fields.String(required=True)  # YYYY-Qn
    spend = Money2(required=True)  # Σ (T_BHTT − T_BHTT_GDV) over accepted claims
    claims = fields.Integer(required=True)


EVENTS = {
    "file_received": (1, FileReceivedV1),
    "records_accepted": (1, RecordsAcceptedV1),
    "claims_assessed": (1, ClaimsAssessedV1),
    "capitation_spend_changed": (1, CapitationSpendChangedV1),
}
