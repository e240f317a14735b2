"""Reading claim files: the streaming envelope reader and the table decoder.

Part of the claims service's pure reading core (with validation/): bytes in, `domain.records` out; no database,
broker or framework (the intake pipeline, services/claims/intake.py, does the storing).

    reader = open_claim_file(fp)          # FileRejected for whole-file problems
    for raw in reader:                    # one RawRecord per HOSO, constant memory
        claim, issues = decode_record(raw, reader.header)
"""

from services.claims.parsing.envelope import (
    ClaimFileReader,
    EnvelopeHeader,
    FileRejected,
    RawRecord,
    open_claim_file,
)
from services.claims.parsing.tables import decode_record

__all__ = [
    "ClaimFileReader",
    "EnvelopeHeader",
    "FileRejected",
    "RawRecord",
    "decode_record",
    "open_claim_file",
]
