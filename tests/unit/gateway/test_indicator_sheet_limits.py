"""An uploaded indicator sheet (`POST /api/v1/indicators/import.xlsx`) that is small on the wire but huge once
read is refused or read within bounds: a zip that unpacks past 20 MB, a sheet as wide as Excel allows."""

from __future__ import annotations

import io
import tracemalloc
import zipfile

import pytest
from openpyxl import Workbook

from services.common.errors import DomainError
from services.gateway.application.indicators import read_sheet
from services.gateway.application.sheets import MAX_COLUMNS


def _workbook(rows: int, width: int) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    for _ in range(rows):
        sheet.append([None] * (width - 1) + ["x"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_a_sheet_as_wide_as_excel_allows_is_read_no_wider_than_the_template() -> None:
    data = _workbook(2000, 16_384)  # 15 kB on the wire: one cell at column XFD on each of 2,000 rows
    assert len(data) < 100_000
    tracemalloc.start()
    try:
        with pytest.raises(DomainError) as refused:
            read_sheet(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert refused.value.errors[0]["code"] == "not_a_template"
    assert peak < 40 * 1024 * 1024  # read as 16,384 columns it took 260 MB
    assert MAX_COLUMNS >= 15


def test_a_zip_that_unpacks_past_20_mb_is_refused_before_it_is_read() -> None:
    plain = zipfile.ZipFile(io.BytesIO(_workbook(1, 1)))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bomb:
        for info in plain.infolist():
            body = plain.read(info.filename)
            if info.filename.endswith("sheet1.xml"):
                body = body.replace(b"</sheetData>", b" " * (30 * 1024 * 1024) + b"</sheetData>")
            bomb.writestr(info.filename, body)
    assert len(out.getvalue()) < 100_000
    with pytest.raises(DomainError) as refused:
        read_sheet(out.getvalue())
    assert refused.value.errors[0]["code"] == "invalid_workbook"


@pytest.mark.parametrize(
    ("typed", "read"),
    [(31051, "31051"), (31051.0, "31051"), (" 31051 ", "31051"), (31051.5, "31051.5"), (True, "True")],
)
def test_a_unit_code_is_read_as_typed_never_cut_short(typed: object, read: str) -> None:
    book = Workbook()
    ws = book.active
    ws.append(["Chỉ số"])
    ws.append(["Năm", 2024])
    ws.append(["Mã", "Nguồn"])
    ws.append(["code", "source"])
    ws.append([typed, "Báo cáo 03"])
    out = io.BytesIO()
    book.save(out)
    _year, rows, _where = read_sheet(out.getvalue())
    assert [r["code"] for r in rows] == [read]  # 31051.5 is then refused as no unit, by name
