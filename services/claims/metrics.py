"""The claims service's own metrics, served on its metrics port (`CLAIMS_METRICS_PORT`, default 9102).

Labels stay bounded: outcomes, issue codes from the catalog and severities, format-note kinds and the
tables XML1–XML15; never a facility, a file or a card.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

RECORDS = Counter(
    "ytcs_claims_records_total", "Claim records (HOSO) processed, by outcome (accepted, rejected)", ["outcome"]
)
ISSUES = Counter("ytcs_claims_issues_total", "Validation issues found in claim records", ["code", "severity"])
FILES = Counter(
    "ytcs_claims_files_total",
    "Claim files by outcome (received, duplicate, done, failed)",
    ["outcome"],
)
FILE_SECONDS = Histogram(
    "ytcs_claims_file_processing_seconds",
    "Time from the start of processing to the end of a claim file",
    buckets=(0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 3600),
)
BYTES = Counter("ytcs_claims_bytes_processed_total", "Bytes of claim files read by the intake")
FILES_IN_PROGRESS = Gauge("ytcs_claims_files_in_progress", "Claim files this process is working on now")
FORMAT_NOTES = Counter(
    "ytcs_claims_format_notes_total",
    "Records read only after a format repair (invalid namespace, wrong declared encoding, plain-XML table…), "
    "by kind and table (GIAMDINHHS for the envelope)",
    ["kind", "table"],
)

# Outcome series exist at 0 from start-up, so the first records and files show in increase() and the ratios.
for _outcome in ("accepted", "rejected"):
    RECORDS.labels(_outcome)
for _outcome in ("received", "duplicate", "done", "failed"):
    FILES.labels(_outcome)


def file_registered(duplicate: bool) -> None:
    FILES.labels("duplicate" if duplicate else "received").inc()
