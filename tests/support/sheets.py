"""Filling in the system's Excel templates the way a person does: each value under its column's key (row 4), one
row of data a dict, from row 5."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook


def write_rows(book: Workbook, sheet: str, rows: list[dict[str, Any]]) -> bytes:
    """`rows` written into `sheet` of `book` under the keys of its row 4, from row 5; the workbook's bytes."""
    ws = book[sheet]
    column = {c.value: c.column for c in ws[4] if c.value}
    for n, values in enumerate(rows, 5):
        for key, value in values.items():
            ws.cell(row=n, column=column[key], value=value)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
