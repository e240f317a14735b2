"""Reading a filled-in Excel template the system gave out (indicator facts, allocations, payments), within
bounds, and naming a refused cell the way people find it in Excel ("Dòng 6, cột E (Số tiền): …").

A template carries a row of column keys (row 4) under its headings (row 3; data from row 5), so a sheet whose
columns were moved or partly deleted is still read by key, and a sheet that is not ours is refused as such."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask import g
from marshmallow import Schema, ValidationError
from openpyxl import load_workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from services.common.errors import DomainError, error
from services.gateway.application.remote import clients
from services.gateway.errors import Unavailable, validation_errors

HEADING_ROW, KEY_ROW, FIRST_ROW = 3, 4, 5  # a template's headings, its columns' keys, its first row of data
LISTS = "Danh muc"  # a template's second sheet: what its cells pick from
SEND_TIMEOUT = 60.0  # a sheet of 2,000 rows takes a service a few seconds; a command's wait is far shorter


def day_as_typed(example: str) -> str:
    """How to write a date cell, for a cell that is none (marshmallow speaks of ISO dates)."""
    return f"Ngày không hợp lệ: ghi dạng dd/mm/yyyy (ví dụ {example}) hoặc dùng ô ngày của Excel."

MAX_COLUMNS = 64  # a template has at most 15; a sheet as wide as Excel allows (16,384) costs 8 bytes a blank cell
MAX_UNPACKED = 20 * 1024 * 1024  # a filled-in template unpacks to well under 1 MB; 1 MB of zip can unpack to 1 GB
KEY_ROWS = 10  # the key row is looked for this far down
_DMY = re.compile(r"^([0-9]{1,2})[/.-]([0-9]{1,2})[/.-]([0-9]{4})$")


def write_columns(ws: Worksheet, columns: Sequence[tuple[str, str]], widths: Mapping[str, int], height: int) -> None:
    """A template's headings (row 3, grey, wrapped) and its columns' keys under them (row 4, small), each column
    `widths[key]` wide (16 by default)."""
    grey = PatternFill("solid", fgColor="DDDDDD")
    for i, (key, heading) in enumerate(columns, 1):
        h = ws.cell(row=HEADING_ROW, column=i, value=heading)
        h.font, h.fill = Font(bold=True), grey
        h.alignment = Alignment(wrap_text=True, vertical="top")
        k = ws.cell(row=KEY_ROW, column=i, value=key)
        k.font = Font(size=8, color="777777")
        ws.column_dimensions[get_column_letter(i)].width = widths.get(key, 16)
    ws.row_dimensions[HEADING_ROW].height = height


def write_list(
    lists: Worksheet,
    columns: Sequence[tuple[str, int]],
    rows: Sequence[Sequence[Any]],
    first_column: int = 1,
    money: Sequence[int] = (),
) -> None:
    """A list to pick from on a template's second sheet, from `first_column`: bold headings in row 1, each column
    as wide as `columns` says, one row per item from row 2; the list's columns `money` (0-based) in whole đồng."""
    for c, (heading, width) in enumerate(columns, first_column):
        lists.cell(row=1, column=c, value=heading).font = Font(bold=True)
        lists.column_dimensions[get_column_letter(c)].width = width
    for r, values in enumerate(rows, 2):
        for c, value in enumerate(values, first_column):
            lists.cell(row=r, column=c, value=value)
        for m in money:
            lists.cell(row=r, column=first_column + m).number_format = "#,##0"


def offer(ws: Worksheet, lists: Worksheet, list_column: int, count: int, column: int, last_row: int) -> None:
    """The first sheet's `column` (from FIRST_ROW to `last_row`) offers the `count` values of the list's
    `list_column` as a pick list: a list, not a rule, so that anything typed is still read (and checked)."""
    if count == 0:
        return
    letter = get_column_letter(list_column)
    picker = DataValidation(
        type="list", formula1=f"'{lists.title}'!${letter}$2:${letter}${count + 1}", showErrorMessage=False
    )
    target = get_column_letter(column)
    picker.add(f"{target}{FIRST_ROW}:{target}{last_row}")
    ws.add_data_validation(picker)


def cell_problem(
    row: int | None, column: str | None, heading: str | None, code: str, message: str, field: str | None = None
) -> dict:
    """One refused cell, named for people ("Dòng 6, cột E (…): …") and for programs (row, column, field)."""
    where = ", ".join(p for p in (f"dòng {row}" if row else "", f"cột {column} ({heading})" if column else "") if p)
    text = f"{where[0].upper()}{where[1:]}: {message}" if where else message
    return error(code, text, field, row=row, column=column, column_name=heading)


def read_grid(data: bytes, max_rows: int, what: str) -> list[list[Any]]:
    """The first sheet's cell values, row by row, no wider than MAX_COLUMNS; `what` names the template in the
    refusals ("mẫu chỉ số"). A file that is no workbook, unpacks too large or runs past `max_rows` is refused."""
    if not data:
        raise DomainError.one("file_required", "Chưa gửi tệp Excel (.xlsx).", "file", 422)
    try:
        if sum(info.file_size for info in zipfile.ZipFile(io.BytesIO(data)).infolist()) > MAX_UNPACKED:
            raise DomainError.one(
                "invalid_workbook", f"Tệp Excel (.xlsx) giải nén ra quá lớn, không phải {what}.", "file", 422
            )
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, TypeError) as exc:
        raise DomainError.one(
            "invalid_workbook", f"Không đọc được tệp Excel (.xlsx): {type(exc).__name__}.", "file", 422
        ) from None
    try:
        ws = book.worksheets[0]
        grid = []
        for n, values in enumerate(ws.iter_rows(max_col=MAX_COLUMNS, values_only=True), 1):
            if n > max_rows + KEY_ROWS:
                raise DomainError.one("too_many_rows", f"Tệp có quá {max_rows} dòng số liệu.", "file", 422)
            grid.append(list(values))
    finally:
        book.close()
    return grid


@dataclass
class Layout:
    """Where a template's columns are: the key row (0-based), each known key's index, letter and heading, and
    the cells of the key row that are no column of the template."""

    key_row: int
    index: dict[str, int]
    columns: dict[str, tuple[str, str]]  # key -> (column letter, heading)
    problems: list[dict]

    def where(self, key: str) -> tuple[str | None, str | None]:
        return self.columns.get(key, (None, None))

    def problem(self, row: int | None, key: str | None, code: str, message: str) -> dict:
        """A refused cell of column `key` (None: of no column), named by its letter and heading."""
        letter, heading = self.where(key or "")
        return cell_problem(row, letter, heading, code, message, key)

    def cells(self, values: list[Any]) -> dict[str, Any]:
        """One data row's values by key."""
        return {key: (values[i] if i < len(values) else None) for key, i in self.index.items()}

    def rows(self, grid: list[list[Any]]) -> list[tuple[int, dict[str, Any]]]:
        """(Excel row number, values by key) of every row below the keys."""
        return [(n, self.cells(r)) for n, r in enumerate(grid[self.key_row + 1 :], self.key_row + 2)]


def layout(grid: list[list[Any]], known: set[str], markers: tuple[str, str], what: str) -> Layout:
    """Find the key row (the first of KEY_ROWS holding both `markers`) and the columns under it; a sheet without
    one is not our template (`not_a_template`)."""
    key_row = next((i for i, r in enumerate(grid[:KEY_ROWS]) if all(m in r for m in markers)), None)
    if key_row is None:
        raise DomainError.one(
            "not_a_template",
            f"Tệp không phải {what} của hệ thống (thiếu dòng mã cột '{markers[0]}' … '{markers[1]}'); hãy tải mẫu mới.",
            "file",
            422,
        )
    headings = grid[key_row - 1] if key_row > 0 else []
    out = Layout(key_row, {}, {}, [])
    for i, key in enumerate(grid[key_row]):
        if key is None:
            continue
        letter = get_column_letter(i + 1)
        heading = str(headings[i]) if i < len(headings) and headings[i] is not None else str(key)
        if not isinstance(key, str) or key not in known:
            out.problems.append(
                cell_problem(key_row + 1, letter, heading, "unknown_column", f"mã cột '{key}' không có trong mẫu.")
            )
            continue
        if key not in out.index:
            out.index[key] = i
            out.columns[key] = (letter, heading)
    return out


def header_value(grid: list[list[Any]], key_row: int, label: str) -> Any:
    """The value beside `label` ("Năm", "Kế hoạch") in column A above the keys; None when the sheet has none."""
    for r in grid[:key_row]:
        if r and isinstance(r[0], str) and r[0].strip().lower() == label.lower() and len(r) > 1:
            return r[1]
    return None


def blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


# --------------------------------------------------------------------------- cells as people type them


def text_cell(value: Any) -> Any:
    """A code or number typed in a cell: Excel keeps 910 or 2024 as a number; the schema wants text."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip() or None


def whole_cell(value: Any) -> Any:
    """A year or an id: a number, or digits typed as text; anything else as typed, for the schema to name."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    text = value.strip() if isinstance(value, str) else ""
    if text.isascii() and text.isdigit() and len(text) <= 18:  # "²" is a digit to str.isdigit, not to int()
        return int(text)
    return value


def amount_cell(value: Any) -> Any:
    """Whole đồng: a number (Excel stores 1.5e8 as a float; whole, it is exact below 2**53), or text such as
    "1.500.000.000 đ", read by the one reader of money text (contracts.fields.VND: parse_vnd), which refuses what
    could be read two ways ("1,500") rather than guess."""
    if isinstance(value, float):
        return Decimal(repr(value))  # a fraction is refused by VND, by name
    return value


def day_cell(value: Any) -> Any:
    """A date cell, or text as dd/mm/yyyy (how Vietnamese offices write dates) or ISO."""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        m = _DMY.match(value.strip())
        if m:
            day, month, year = (int(x) for x in m.groups())
            try:
                return date(year, month, day).isoformat()
            except ValueError:
                return value.strip()  # 31/02/2024: refused by the schema as no date
        return value.strip()
    return value


def loaded_rows(
    grid: list[list[Any]],
    where: Layout,
    readers: Mapping[str, Callable[[Any], Any]],
    schema: Schema,
    as_typed: Mapping[str, str],
    kept: Sequence[str],
    prepare: Callable[[dict[str, Any], int], dict[str, Any]] = lambda raw, _n: raw,
    unnamed: Callable[[dict[str, Any]], bool] = lambda _e: False,
) -> list[dict[str, Any]]:
    """Every filled row of a template as [{row, cmd}]: its cells read as people type them (`readers`, by key),
    `prepare`d, loaded by `schema`. Each refusal of the schema is named by its cell (in the words of `as_typed`
    where the schema's are about JSON), except those `unnamed` says are named elsewhere. A row the schema refused is
    kept with `refused` and the cells of `kept` it took, so that its scope is checked too and every problem of it
    is named in one answer."""
    rows: list[dict[str, Any]] = []
    for n, cells in where.rows(grid):
        if all(blank(v) for v in cells.values()):
            continue
        raw = {key: read(cells.get(key)) for key, read in readers.items() if key in where.columns}
        raw = prepare({k: v for k, v in raw.items() if v is not None}, n)
        try:
            rows.append({"row": n, "cmd": schema.load(raw)})
        except ValidationError as exc:
            refused = validation_errors(exc)
            for e in refused:
                if unnamed(e):
                    continue
                key = e["field"] if e["field"] in where.columns else None
                message = e["message"] if key else f"{e['field']}: {e['message']}"
                if e["code"] in ("invalid", "invalid_type") and key in as_typed:
                    message = as_typed[key]
                where.problems.append(where.problem(n, key, e["code"], message))
            bad = {e["field"] for e in refused}
            rows.append({"row": n, "cmd": {k: None if k in bad else raw.get(k) for k in kept}, "refused": True})
    return rows


def name_refusals(rows: list[dict[str, Any]], where: Layout, key: str, refused: Mapping[Any, list[dict]]) -> None:
    """Each row's refusals of the record its `key` cell names (`refused`, by that record's id), at that cell."""
    for r in rows:
        for e in refused.get(r["cmd"][key], []):
            where.problems.append(where.problem(r["row"], key, e["code"], e["message"]))


# --------------------------------------------------------------------------- sending a sheet to its service


def refuse_if_wrong(rows: list[dict[str, Any]], where: Layout, check: Callable[[list[dict[str, Any]]], Any]) -> None:
    """When cells were refused here, raise every problem of the sheet in one answer: the service's `check` of the
    other rows (which keeps nothing) names what it would refuse in them too. A service that does not answer
    leaves the sheet refused for its own cells, the rest named when it is sent again."""
    if not where.problems:
        return
    bad_rows = {p.get("row") for p in where.problems}
    good = [r for r in rows if r["row"] not in bad_rows]
    if good:
        try:
            refused = check(good)
        except Unavailable:
            refused = []
        where.problems += [where.problem(e.get("row"), e.get("field"), e["code"], e["message"]) for e in refused]
    raise DomainError(sorted(where.problems, key=lambda p: (p.get("row") or 0)))


def send(service: str, method: str, payload: Any, where: Layout, *more: Any) -> Any:
    """`service.method(payload, *more)`, waiting up to `SEND_TIMEOUT` (a sheet takes longer than one command); a
    refusal is raised with every problem named by its cell."""
    call = (service, method, (payload, *more), {})
    try:
        return clients().fan_out({"it": call}, raise_domain=True, timeout=SEND_TIMEOUT)["it"]
    except DomainError as exc:
        named = [where.problem(e.get("row"), e.get("field"), e["code"], e["message"]) for e in exc.errors]
        raise DomainError(named, exc.status) from None


def audit_recorded(answer: dict[str, Any]) -> None:
    """The request's audit entry (hooks.py) says what the sheet recorded, and which records are new."""
    new = [r["id"] for r in answer["rows"] if r["status"] == "recorded"]
    g.audit_details = {
        **(g.get("audit_details") or {}),
        "recorded": answer["recorded"],
        "already_recorded": answer["already_recorded"],
        "result_id": ",".join(map(str, new))[:500],
    }
