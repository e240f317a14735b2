"""The intake's driver-level batch insert stores what Core's insert stores and fails the way SQLAlchemy fails."""

from __future__ import annotations

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from services.claims.models import ClaimFile, ClaimIssue
from services.claims.repository import bulk_insert as _bulk_insert
from services.common.outbox import utcnow


def _file(s, sha: str) -> int:
    s.execute(insert(ClaimFile.__table__), [{"sha256": sha, "size": 1, "blob_name": sha, "uploaded_by": "t",
                                             "uploaded_at": utcnow(), "status": "processing", "phase": "queued",
                                             "next_index": 0, "accepted": 0, "rejected": 0, "warnings": 0,
                                             "bytes_processed": 0, "attempts": 0}])
    return s.scalar(select(ClaimFile.id).where(ClaimFile.sha256 == sha))


def test_rows_and_a_constraint_violation(claims_env):
    row = {"record_index": 1, "ma_lk": "A\tB\\C", "table_name": "XML1", "field": None, "code": "x",
           "severity": "warning", "message": "tiếng Việt\n"}
    with claims_env.session() as s:
        file_id = _file(s, "a" * 64)
        _bulk_insert(s, ClaimIssue.__table__, [{"file_id": file_id, **row}, {"file_id": file_id, **row}])
    with claims_env.session() as s:
        stored = s.execute(select(ClaimIssue.ma_lk, ClaimIssue.message, ClaimIssue.field)).all()
    assert stored == [("A\tB\\C", "tiếng Việt\n", None)] * 2
    with pytest.raises(IntegrityError), claims_env.session() as s:  # the same sha256 twice
        _bulk_insert(s, ClaimFile.__table__, [{"sha256": "a" * 64, "size": 1, "blob_name": "b", "uploaded_by": "t",
                                               "uploaded_at": utcnow(), "status": "processing"}])
