"""Allocations through the Excel template: finance offices keep their allocations (phân bổ, dự toán giao) in
spreadsheets; the template takes one allocation a row, for one plan, and comes back whole.

The import reads every row the way a person typed it (codes or the sources' names, dates as dd/mm/yyyy or Excel
dates, amounts with dots between thousands), checks each with the API's schema and the caller's unit scope,
then finance records the sheet in one transaction (`import_allocations`): one wrong cell refuses the whole sheet,
every problem named by row and column, and nothing is written. A row finance already holds is matched, not
recorded again (services/finance/domain/imports.py), so the same sheet sent again, with rows added or a refused
row mended, records only what is new."""

from __future__ import annotations

import re
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font

from services.common import surplus, units
from services.common.contracts.finance import MAX_IMPORT_ROWS, AllocationCommandV1, AllocationImportIn
from services.common.errors import DomainError
from services.gateway.application import finance, sheets
from services.gateway.application.access import require_unit
from services.gateway.application.remote import guarded, rpc

WHAT = "mẫu phân bổ"
# Finance records 2,000 rows in about 1 s on SQLite and 3 s on PostgreSQL (docs/benchmarks.md §7); a sheet waits
# longer than one command's RPC_TIMEOUT, and finance commits nothing past this deadline.
KINDS = (("budget", "Dự toán ngân sách (mặc định)"), ("package_payment", "Khoán / đặt hàng (TT 39/2017)"))
# The template's columns: (key, heading). The keys are AllocationCommandV1's fields, less plan_id (the sheet's).
COLUMNS: tuple[tuple[str, str], ...] = (
    ("item_code", "Mã mục của kế hoạch (vd. II.5)"),
    ("source", "Nguồn kinh phí (mã hoặc tên)"),
    ("fiscal_year", "Năm ngân sách"),
    ("recipient_unit", "Mã đơn vị nhận"),
    ("amount", "Số tiền (đồng)"),
    ("decision_no", "Số quyết định giao"),
    ("decision_date", "Ngày quyết định (dd/mm/yyyy)"),
    ("kind", "Loại (trống: dự toán ngân sách)"),
    ("fund_year", "Năm quỹ BHYT (chỉ kết dư 20%)"),
    ("use", "Nội dung sử dụng (chỉ kết dư 20%)"),
    ("parent_allocation_id", "Số phân bổ cấp trên (khi phân bổ tiếp xuống)"),
    ("note", "Ghi chú"),
)
KEYS = tuple(k for k, _h in COLUMNS)
FIRST_ROW = sheets.FIRST_ROW
# How to write a cell of the wrong type (marshmallow's messages, translated, speak of JSON and ISO dates).
AS_TYPED = {
    "fiscal_year": "Năm phải là số, ví dụ 2024.",
    "fund_year": "Năm quỹ phải là số, ví dụ 2019.",
    "decision_date": sheets.day_as_typed("15/01/2024"),
    "parent_allocation_id": "Số phân bổ cấp trên phải là số (cột Số của trang Phân bổ).",
}


# --------------------------------------------------------------------------- the template

MAX_PARENTS = 5_000  # allocations to the province and districts a sub-allocation may come from, listed


def offered_parents(plan: dict[str, Any], scope: str | None) -> list[dict[str, Any]]:
    """The allocations a row of `plan` may pass money down from: of the plan or the plan it applies (a district's
    plan takes from the province's), to the province or a district (a commune passes nothing down) within `scope`,
    the person's unit, with money left."""
    found: list[dict[str, Any]] = []
    numbers = {plan["id"]: plan["number"]}
    if plan.get("parent_id") is not None:
        numbers[plan["parent_id"]] = rpc("finance", "get_plan", plan["parent_id"])["number"]
    for plan_id, number in numbers.items():
        for level in ("province", "district"):
            filters = {"plan_id": plan_id, "level": level, **({"unit": scope} if scope else {})}
            advice = "Có {total} phân bổ cấp trên, quá {limit} cho một mẫu."
            listed = finance.every_allocation(filters, MAX_PARENTS, advice, None)
            found += [{**a, "plan_number": number} for a in listed]
    return sorted((a for a in found if a["remaining"] > 0), key=lambda a: a["id"])


def template_workbook(
    plan: dict[str, Any],
    items: list[dict[str, Any]],
    sources: list[dict[str, Any]],
    scope: str | None = None,
    parents: list[dict[str, Any]] | None = None,
) -> Workbook:
    """The empty template for a plan: headings, the key row, a first sheet to fill in, and a second listing the
    plan's items, the sources it takes, the kinds, the surplus uses, the units (within `scope`, the person's
    unit) and the allocations a sub-allocation may come from (`parents`), which the code columns offer."""
    book = Workbook()
    ws = book.active
    ws.title = "Phan bo"
    ws["A1"] = f"PHÂN BỔ KINH PHÍ — KẾ HOẠCH {plan['number']}"
    ws["A1"].font = Font(bold=True, size=13)
    ws["A2"], ws["B2"] = "Kế hoạch", plan["number"]
    ws["C2"] = (
        "Mỗi dòng một phân bổ, từ dòng 5; không sửa ô B2 và dòng 4. Mã mục, nguồn, loại và đơn vị: xem trang "
        f"'{sheets.LISTS}'. Gửi lại cả tệp khi thêm dòng hoặc sửa dòng bị từ chối: dòng đã ghi không bị ghi lần nữa."
    )
    sheets.write_columns(ws, COLUMNS, {k: 40 if k == "note" else 18 for k in KEYS}, 48)
    ws.freeze_panes = ws.cell(row=FIRST_ROW, column=1)
    last = FIRST_ROW + MAX_IMPORT_ROWS - 1
    # Numbers grouped and dates shown as offices write them, on the first 200 rows (2,000 would only weigh).
    for c in (KEYS.index("amount"), KEYS.index("parent_allocation_id")):
        for r in range(FIRST_ROW, FIRST_ROW + 200):
            ws.cell(row=r, column=c + 1).number_format = "#,##0"
    for r in range(FIRST_ROW, FIRST_ROW + 200):
        ws.cell(row=r, column=KEYS.index("decision_date") + 1).number_format = "dd/mm/yyyy"

    lists = book.create_sheet(sheets.LISTS)
    named = [s for s in sources if int(plan["id"]) in s.get("plans", [])] or sources
    columns = (
        ("Mã mục", "Mục của kế hoạch", [(i["code"], i["title"]) for i in items]),
        ("Mã nguồn", "Nguồn kinh phí kế hoạch nêu", [(s["code"], s["name"]) for s in named]),
        ("Loại", "", list(KINDS)),
        ("Nội dung (kết dư 20%)", "", list(surplus.USES)),
        ("Mã đơn vị", "Đơn vị", _recipients(plan, scope)),
    )
    for n, (code_heading, name_heading, pairs) in enumerate(columns):
        sheets.write_list(lists, ((code_heading, 18), (name_heading, 44)), pairs, 2 * n + 1)
    # Lists to pick from, not rules: a source's name typed instead of its code is read as well.
    for n, key in enumerate(("item_code", "source", "kind", "use")):
        sheets.offer(ws, lists, 2 * n + 1, len(columns[n][2]), KEYS.index(key) + 1, last)
    _parents_list(ws, lists, parents or [], {s["code"]: s["name"] for s in sources})
    return book


PARENT_COLUMN = 12  # "Danh muc"'s list of allocations to pass down from starts at column L (K stays empty)
PARENT_COLUMNS = (("Số phân bổ cấp trên", 12), ("Kế hoạch", 14), ("Mục", 10), ("Nguồn", 30), ("Năm", 8),
                  ("Đơn vị nhận", 30), ("Còn lại (đồng)", 18))  # fmt: skip


def _parents_list(ws: Any, lists: Any, parents: list[dict[str, Any]], source_names: dict[str, str]) -> None:
    """The allocations a sub-allocation may come from, in "Danh muc" from column L (number, plan, item, source,
    year, recipient, what is left), offered as a pick list in the parent column."""
    rows = [
        (a["id"], a["plan_number"], a["item_code"], source_names.get(a["source"], a["source"]), a["fiscal_year"],
         f"{a['recipient_unit']} {units.known_name(a['recipient_unit'])}", a["remaining"])
        for a in parents
    ]  # fmt: skip
    sheets.write_list(lists, PARENT_COLUMNS, rows, PARENT_COLUMN, money=(6,))
    last = FIRST_ROW + MAX_IMPORT_ROWS - 1
    sheets.offer(ws, lists, PARENT_COLUMN, len(parents), KEYS.index("parent_allocation_id") + 1, last)


def _recipients(plan: dict[str, Any], scope: str | None) -> list[tuple[str, str]]:
    """The units an allocation of the plan may go to that the person may write for: the plan's unit and the
    districts and communes below it, within `scope` (the person's unit; None: everywhere). Each is named by its
    versions with their dates, so that a person sees which one a decision's date finds: a unit that ended on
    30/6/2025 is refused after that day with its successor named, and a 2025 commune reuses the code of one it
    absorbed."""
    def fits(code: str) -> bool:
        return units.within(plan.get("unit"), code) and units.within(scope, code)

    district_of = {c.code: c.district_name for c in units.base_communes()}
    codes = [units.PROVINCE_CODE, *units.districts(), *dict.fromkeys(c.code for c in units.communes())]
    return [
        (code, "; ".join(_version_name(v, district_of.get(code)) for v in units.unit_versions()[code]))
        for code in codes
        if fits(code)
    ]


def _version_name(v: units.Unit, district: str | None) -> str:
    """A version's name with its dates, e.g. "Xã Vĩnh Bình Bắc (Huyện Vĩnh Thuận, đến 30/06/2025, sau đó: 31064)",
    "Xã Vĩnh Bình (từ 01/07/2025)"; a unit of the base list still in force is named as it is (a commune with its
    district)."""
    when = [f"từ {v.valid_from:%d/%m/%Y}"] if v.valid_from != units.BASE_DATE else [district] if district else []
    if v.valid_to is not None:
        when.append(f"đến {v.valid_to:%d/%m/%Y}")
        if v.successor and v.successor != v.code:
            when.append(f"sau đó: {v.successor}")
    return f"{v.name} ({', '.join(when)})" if when else v.name


# --------------------------------------------------------------------------- reading a filled-in sheet


READERS = {
    "item_code": sheets.text_cell,
    "source": sheets.text_cell,
    "fiscal_year": sheets.whole_cell,
    "recipient_unit": sheets.text_cell,
    "amount": sheets.amount_cell,
    "decision_no": sheets.text_cell,
    "decision_date": sheets.day_cell,
    "kind": sheets.text_cell,
    "fund_year": sheets.whole_cell,
    "use": sheets.text_cell,
    "parent_allocation_id": sheets.whole_cell,
    "note": sheets.text_cell,
}


def _plan_of(value: Any, plans: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The plan B2 names, by its number ("158/KH-UBND", spaces and case forgiven) or its id."""
    if isinstance(value, int) and not isinstance(value, bool):
        return next((p for p in plans if int(p["id"]) == value), None)
    if isinstance(value, str):
        wanted = re.sub(r"\s+", "", value).casefold()
        return next((p for p in plans if re.sub(r"\s+", "", p["number"]).casefold() == wanted), None)
    return None


def read_sheet(
    data: bytes, plans: list[dict[str, Any]], source_names: dict[str, str]
) -> tuple[dict[str, Any] | None, list[dict[str, Any]], sheets.Layout]:
    """(the plan of B2, rows [{row, cmd}] each loaded by AllocationCommandV1, the layout with every problem). A row
    the schema refused is kept with `refused` and its recipient and parent, for the scope check."""
    grid = sheets.read_grid(data, MAX_IMPORT_ROWS, WHAT)
    where = sheets.layout(grid, set(KEYS), ("item_code", "amount"), WHAT)
    written = sheets.header_value(grid, where.key_row, "Kế hoạch")
    plan = _plan_of(written, plans)
    if plan is None:
        known = ", ".join(p["number"] for p in plans)
        message = f"'{str(written)[:40]}' không phải kế hoạch trong hệ thống ({known})."
        where.problems.insert(0, sheets.cell_problem(2, "B", "Kế hoạch", "unknown_plan", message))
    by_name = {name.casefold(): code for code, name in source_names.items()}

    def prepare(raw: dict[str, Any], _n: int) -> dict[str, Any]:
        if isinstance(raw.get("source"), str):
            raw["source"] = by_name.get(raw["source"].casefold(), raw["source"])
        return raw if plan is None else {**raw, "plan_id": int(plan["id"])}

    rows = sheets.loaded_rows(
        grid,
        where,
        READERS,
        AllocationCommandV1(),
        AS_TYPED,
        ("recipient_unit", "parent_allocation_id"),
        prepare,
        lambda e: e["field"] == "plan_id" and plan is None,  # B2 is named once, above
    )
    if len(rows) > MAX_IMPORT_ROWS:
        raise DomainError.one("too_many_rows", f"Tệp có quá {MAX_IMPORT_ROWS} dòng phân bổ.", "file", 422)
    return plan, rows, where


# --------------------------------------------------------------------------- the import


def _scope_problems(rows: list[dict[str, Any]], where: sheets.Layout) -> None:
    """Each row's recipient (and parent, for a sub-allocation) known and within the caller's unit, as
    `finance.create_allocation` checks one allocation."""
    parent_ids = {r["cmd"]["parent_allocation_id"] for r in rows} - {None}
    parents = finance.outside_scope(parent_ids, "parent_allocation_id")
    for r in rows:
        cmd = r["cmd"]
        try:
            if isinstance(cmd["recipient_unit"], str):
                units.require_unit(cmd["recipient_unit"], None, "recipient_unit")
                require_unit(cmd["recipient_unit"], "recipient_unit")
        except DomainError as exc:
            refused = exc.errors
        else:
            refused = parents.get(cmd["parent_allocation_id"], [])
        where.problems += [where.problem(r["row"], e.get("field"), e["code"], e["message"]) for e in refused]


def import_workbook(data: bytes, expected_plan: int | None) -> dict[str, Any]:
    """Check a filled-in template and have finance record it (the API's import and the allocations page's
    upload): raises DomainError naming every bad cell, and then nothing is written. Answers how many rows were
    recorded and how many finance already held, with each row's allocation id."""
    plans = rpc("finance", "list_plans")
    names = {s["code"]: s["name"] for s in rpc("finance", "list_sources")}
    plan, rows, where = read_sheet(data, plans, names)
    if plan is not None and expected_plan is not None and int(plan["id"]) != expected_plan:
        wanted = next((p["number"] for p in plans if int(p["id"]) == expected_plan), str(expected_plan))
        where.problems.insert(
            0,
            sheets.cell_problem(
                2, "B", "Kế hoạch", "plan_mismatch", f"tệp ghi kế hoạch {plan['number']}, không phải {wanted}."
            ),
        )
    if not rows and not where.problems:
        where.problems.append(sheets.cell_problem(None, None, None, "no_rows", "Tệp chưa có dòng phân bổ nào."))
    _scope_problems(rows, where)
    checked = rows if plan is not None else []  # finance is asked about the rows only once their plan is known
    sheets.refuse_if_wrong(checked, where, lambda good: _ask_finance("check_allocation_import", good, where, False))
    answer = _ask_finance("import_allocations", rows, where, guard=True)
    sheets.audit_recorded(answer)
    return answer


def _ask_finance(method: str, rows: list[dict[str, Any]], where: sheets.Layout, guard: bool) -> Any:
    """Finance's `method` on the rows, each with the capital linked to its parent; a refusal is raised with every
    problem named by its cell. `guard`: the import holds the parents' guards, as one sub-allocation does (a link
    to a parent waits until this is recorded); a check records nothing and holds none."""
    parent_ids = sorted({r["cmd"]["parent_allocation_id"] for r in rows} - {None})
    with guarded(parent_ids if guard else []):
        linked = rpc("investment", "linked_capital", parent_ids) if parent_ids else {}
        payload = [
            {
                "row": r["row"],
                **r["cmd"],
                "parent_linked_capital": (
                    int(linked[str(r["cmd"]["parent_allocation_id"])])
                    if r["cmd"]["parent_allocation_id"] is not None
                    else None
                ),
            }
            for r in rows
        ]
        return sheets.send("finance", method, AllocationImportIn().dump({"rows": payload}), where)
