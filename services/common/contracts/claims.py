"""Claims service messages: files received, records accepted, assessments, capitation spend; and the
shapes of its RPC arguments and answers (the gateway loads requests with the same schemas)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from services.common import facility_code
from services.common.contracts.fields import Money2, Text

# --- events ---------------------------------------------------------------------------------------


class FileReceivedV1(Schema):
    file_id = fields.Integer(required=True)
    sha256 = fields.String(required=True)
    size = fields.Integer(required=True)
    facility_code = fields.String(allow_none=True, load_default=None)


class FileChunkReadyV1(Schema):
    """A chunk of a claim file's records (`first` ≤ index < `end`) waiting for any claims replica to load it.
    Claims consumes its own event: the replicas compete on the queue, the chunk's lease and done-mark make a
    redelivery change nothing."""

    file_id = fields.Integer(required=True)
    chunk = fields.Integer(required=True)
    first = fields.Integer(required=True)
    end = fields.Integer(required=True)


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
    # Σ line T_BHTT with MA_PTTT = 2 (capitation) over the accepted claims of the cards registered at the facility
    # (MA_DKBD), wherever they were treated (NĐ 146/2018 Điều 25 k2); `claims`: those claims.
    spend = Money2(required=True)
    claims = fields.Integer(required=True)


EVENTS = {
    "file_received": (1, FileReceivedV1),
    "file_chunk_ready": (1, FileChunkReadyV1),
    "records_accepted": (1, RecordsAcceptedV1),
    "claims_assessed": (1, ClaimsAssessedV1),
    "capitation_spend_changed": (1, CapitationSpendChangedV1),
}

# --- RPC ------------------------------------------------------------------------------------------

FACILITY = validate.Regexp(facility_code.PATTERN, error=facility_code.MESSAGE + ".")


class RegisterFileV1(Schema):
    """`register_file`: the bytes are already in the blob store under `blob_name`."""

    sha256 = fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]{64}$"))
    size = fields.Integer(required=True, validate=validate.Range(min=1))
    blob_name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    uploaded_by = fields.String(required=True, validate=validate.Length(min=1, max=140))
    filename = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=255),
        metadata={"description": "the uploaded file's name on the uploader's computer, shown in the file list"},
    )
    facility_code = fields.String(
        load_default=None,
        allow_none=True,
        validate=FACILITY,
        metadata={
            "description": "MACSKCB the gateway read from the envelope head and authorised the uploader for; the "
            "service fails the file (envelope_facility_mismatch) if the envelope it parses names another"
        },
    )


class FileRegisteredV1(Schema):
    id = fields.Integer(required=True)
    status = fields.String(required=True)
    sha256 = fields.String(required=True)
    duplicate = fields.Boolean(required=True, metadata={"description": "the same bytes were sent before"})


class FileIssueV1(Schema):
    ma_lk = fields.String(allow_none=True)
    record_index = fields.Integer(allow_none=True, metadata={"description": "position of the HOSO, from 0"})
    table = fields.String(allow_none=True)
    field = fields.String(allow_none=True)
    code = fields.String(required=True)
    severity = fields.String(required=True, validate=validate.OneOf(["critical", "warning"]))
    message = fields.String(required=True)


class FileRecordsV1(Schema):
    total = fields.Integer(allow_none=True)
    accepted = fields.Integer()
    rejected = fields.Integer()
    processed = fields.Integer()
    warnings = fields.Integer()


class FormatNoteV1(Schema):
    """A repair the reader made to read the file as the hospital wrote it (liberal in format, and saying so)."""

    kind = fields.String(required=True, metadata={"description": "e.g. namespace_invalid, table_plain_xml"})
    table = fields.String(allow_none=True, metadata={"description": "XML1…XML15, None for the envelope"})
    records = fields.Integer(required=True, metadata={"description": "how many records needed it"})
    message = fields.String(required=True, metadata={"description": "Vietnamese, for the hospital"})


class FileStatusV1(Schema):
    id = fields.Integer(required=True)
    status = fields.String(required=True, validate=validate.OneOf(["processing", "done", "failed"]))
    phase = fields.String()
    sha256 = fields.String(required=True)
    size = fields.Integer()
    filename = fields.String(allow_none=True, metadata={"description": "the uploaded file's name, if it was sent"})
    bytes_processed = fields.Integer()
    facility_code = fields.String(allow_none=True)
    uploaded_at = fields.String()
    finished_at = fields.String(allow_none=True)
    records = fields.Nested(FileRecordsV1, required=True)
    errors = fields.List(fields.Nested(FileIssueV1), required=True)
    errors_total = fields.Integer()
    errors_by_code = fields.Dict(keys=fields.String(), values=fields.Integer())
    format_notes = fields.List(fields.Nested(FormatNoteV1))


class AssessmentItemV1(Schema):
    ma_lk = fields.String(required=True, validate=validate.Length(min=1, max=100))
    approved_amount = Money2(required=True)
    reason_code = Text(load_default=None, allow_none=True, validate=validate.Length(max=40))
    note = Text(load_default=None, allow_none=True, validate=validate.Length(max=500))  # no bidi controls


class AssessmentRequestV1(Schema):
    """BHXH's results (giám định) for claims of one facility; bulk."""

    facility_code = fields.String(required=True, validate=FACILITY)
    items = fields.List(fields.Nested(AssessmentItemV1), required=True, validate=validate.Length(min=1, max=10_000))


class AssessedItemV1(Schema):
    ma_lk = fields.String()
    requested = Money2()
    approved_amount = Money2()
    rejected = Money2()
    reason_code = fields.String(allow_none=True)
    outcome = fields.String(validate=validate.OneOf(["approved", "partial", "refused"]))


class AssessmentBatchV1(Schema):
    id = fields.Integer(required=True)
    facility_code = fields.String(required=True)
    assessed = fields.Integer(required=True)
    requested = Money2(required=True)
    approved = Money2(required=True)
    items = fields.List(fields.Nested(AssessedItemV1))


class ByPaymentMethodV1(Schema):
    """Σ line T_BHTT of the accepted claims by MA_PTTT: 1 fee for service, 2 capitation, 3 DRG."""

    fee_for_service = Money2()
    capitation = Money2()
    drg = Money2()


class ReconciliationClaimsV1(Schema):
    count = fields.Integer()
    assessed = fields.Integer()
    requested = Money2()
    approved = Money2()
    rejected = Money2()
    pending = Money2()
    by_payment_method = fields.Nested(ByPaymentMethodV1)


class ReconciliationCapitationV1(Schema):
    """The fund against the spend of the cards registered at the facility (MA_DKBD), wherever they were treated
    (NĐ 146/2018 Điều 25 k2): spend = own cards here + own cards elsewhere; other facilities' cards treated here
    count against their own funds (by_payment_method.capitation = own cards here + other cards here)."""

    fund = Money2()
    fund_set = fields.Boolean()
    spend = Money2(metadata={"description": "Σ line T_BHTT, MA_PTTT = 2, of the cards registered here (MA_DKBD)"})
    balance = Money2(metadata={"description": "fund − spend"})
    spend_own_cards_here = Money2(metadata={"description": "of cards registered here, treated here"})
    spend_own_cards_elsewhere = Money2(metadata={"description": "of cards registered here, treated elsewhere"})
    spend_other_cards_here = Money2(
        metadata={"description": "of cards registered elsewhere, treated here (counts against their own fund)"}
    )
    registered_claims = fields.Integer(
        metadata={"description": "accepted claims of cards registered here, wherever treated"}
    )


class ReconciliationPaymentsV1(Schema):
    advanced = Money2()


class ReconciliationV1(Schema):
    """docs/contract.md: requested = approved + rejected + pending; balance = fund − spend."""

    facility_code = fields.String(allow_none=True)
    period = fields.String()
    claims = fields.Nested(ReconciliationClaimsV1)
    capitation = fields.Nested(ReconciliationCapitationV1)
    payments = fields.Nested(ReconciliationPaymentsV1)


class ClaimCodeV1(Schema):
    code = fields.String(required=True)
    severity = fields.String(required=True, validate=validate.OneOf(["critical", "warning"]))
    message = fields.String(required=True, metadata={"description": "Vietnamese template of the issue message"})


class ClaimRuleV1(Schema):
    code = fields.String(required=True)
    table = fields.String(required=True, metadata={"description": "file, XML1…XML5, or several joined by ', '"})
    field = fields.String(allow_none=True)
    severity = fields.String(required=True, validate=validate.OneOf(["critical", "warning"]))
    check = fields.String(required=True, metadata={"description": "what is checked, in Vietnamese"})
    basis = fields.String(required=True, metadata={"description": "legal basis"})
    message = fields.String(required=True)


class ClaimRulesV1(Schema):
    """The validation rulebook: every code, and every rule by table and field (one source: the catalogue)."""

    codes = fields.List(fields.Nested(ClaimCodeV1), required=True)
    items = fields.List(fields.Nested(ClaimRuleV1), required=True)


class CapitationSummaryV1(Schema):
    fund = Money2()
    advanced = Money2()
    spend = Money2()  # capitation: Σ line T_BHTT with MA_PTTT = 2 of the cards registered there (MA_DKBD)
    fee_for_service = Money2()  # MA_PTTT = 1
    drg = Money2()  # MA_PTTT = 3
    requested = Money2()
    approved = Money2()
