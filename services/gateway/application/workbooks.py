"""Excel workbooks for people to hand on: the plan's yearly funding report (báo cáo tình hình phân bổ và giải ngân,
due to Sở Y tế before 30/11, docs/domain.md §1 V), a facility-quarter's reconciliation (đối soát) and a claim
file's errors.

The figures are the gateway's own funding aggregation (funding.py) and the claims service's answers, never
recomputed here. Money cells are integers of đồng (claim amounts: exact decimals with 2 places) with the
number format `#,##0`: Excel draws the thousands separator of the reader's locale, so a Vietnamese Windows
shows 1.234.567.000 and an English one 1,234,567,000, from the same integer. A report is never partial: when a
service cannot answer, it is refused (503) rather than handed on with holes.

The builders (`plan_workbook`, `targets_sheet`, `reconciliation_workbook`, `errors_workbook`) are plain
functions of data; `plan_report`, `reconciliation_report` and `errors_report` gather the data and name the file
(the API's downloads, api/reports.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from services.common import catalog, clock, units
from services.gateway.application import capitation, claims, figures, finance, funding
from services.gateway.application.facilities import facility_name
from services.gateway.application.remote import rpc

VND_FORMAT = "#,##0"  # whole đồng; the separator is the reader's locale (1.234.567.000 in Vietnamese)
MONEY2_FORMAT = "#,##0.00"  # claim amounts keep their 2 decimal places (QĐ 130)
RATE_FORMAT = "0.0%"
FONT = "Times New Roman"  # what provincial offices print official reports in

_THIN = Side(style="thin", color="808080")
_BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_HEAD_FILL = PatternFill("solid", fgColor="DDEBF7")
_SECTION_FILL = PatternFill("solid", fgColor="F2F2F2")
_TOTAL_FILL = PatternFill("solid", fgColor="FFF2CC")
_CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
_WRAP = Alignment(vertical="top", wrap_text=True)


def _vn_date(d: date) -> str:
    return d.strftime("%d/%m/%Y")


# --------------------------------------------------------------------------- workbooks


def _cell(ws: Worksheet, row: int, col: int, value: Any, **style: Any) -> Any:
    c = ws.cell(row=row, column=col, value=value)
    c.font = style.pop("font", Font(name=FONT, size=11))
    for key, val in style.items():
        setattr(c, key, val)
    return c


def _heading(ws: Worksheet, issuer: str, last_col: int, title: str, lines: list[str]) -> int:
    """The national heading of an administrative document (Nghị định 30/2020 style), then the title; returns the
    next free row."""
    half = max(2, last_col // 2)
    bold = Font(name=FONT, size=12, bold=True)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=half)
    _cell(ws, 1, 1, issuer.upper(), font=bold, alignment=_CENTER)
    ws.merge_cells(start_row=1, start_column=half + 1, end_row=1, end_column=last_col)
    _cell(ws, 1, half + 1, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", font=bold, alignment=_CENTER)
    ws.merge_cells(start_row=2, start_column=half + 1, end_row=2, end_column=last_col)
    _cell(
        ws,
        2,
        half + 1,
        "Độc lập - Tự do - Hạnh phúc",
        font=Font(name=FONT, size=12, bold=True, underline="single"),
        alignment=_CENTER,
    )
    ws.merge_cells(start_row=4, start_column=1, end_row=4, end_column=last_col)
    _cell(ws, 4, 1, title, font=Font(name=FONT, size=14, bold=True), alignment=_CENTER)
    ws.row_dimensions[4].height = 24
    row = 5
    for line in lines:
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=last_col)
        _cell(ws, row, 1, line, font=Font(name=FONT, size=11, italic=True), alignment=_CENTER)
        row += 1
    return row + 1


def _signatures(ws: Worksheet, row: int, last_col: int, place: str, today: date) -> None:
    half = max(2, last_col // 2)
    ws.merge_cells(start_row=row, start_column=half + 1, end_row=row, end_column=last_col)
    _cell(
        ws,
        row,
        half + 1,
        f"{place}, ngày {today.day:02d} tháng {today.month:02d} năm {today.year}",
        font=Font(name=FONT, size=11, italic=True),
        alignment=_CENTER,
    )
    bold = Font(name=FONT, size=11, bold=True)
    ws.merge_cells(start_row=row + 1, start_column=1, end_row=row + 1, end_column=half)
    _cell(ws, row + 1, 1, "NGƯỜI LẬP BIỂU", font=bold, alignment=_CENTER)
    ws.merge_cells(start_row=row + 1, start_column=half + 1, end_row=row + 1, end_column=last_col)
    _cell(ws, row + 1, half + 1, "THỦ TRƯỞNG ĐƠN VỊ", font=bold, alignment=_CENTER)
    note = Font(name=FONT, size=10, italic=True)
    _cell(ws, row + 2, 1, None)
    ws.merge_cells(start_row=row + 2, start_column=1, end_row=row + 2, end_column=half)
    _cell(ws, row + 2, 1, "(Ký, ghi rõ họ tên)", font=note, alignment=_CENTER)
    ws.merge_cells(start_row=row + 2, start_column=half + 1, end_row=row + 2, end_column=last_col)
    _cell(ws, row + 2, half + 1, "(Ký tên, đóng dấu)", font=note, alignment=_CENTER)


def _print_setup(ws: Worksheet, title_rows: str, landscape: bool = True) -> None:
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0  # as many pages down as needed, one page across
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = title_rows  # the table heading again on every printed page
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.6
    ws.print_options.horizontalCentered = True
    ws.oddFooter.center.text = "Trang &P / &N"
    ws.oddFooter.center.font = FONT


def _rate(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def plan_workbook(
    plan: dict[str, Any],
    items: list[dict[str, Any]],
    total: dict[str, Any],
    year: int | None,
    unit: str | None,
    names: dict[str, str],
    today: date,
) -> Workbook:
    """The yearly report: one row per plan item, allocated and disbursed per source used, totals, execution rate.

    A parent item's figures include its sub-items (the services roll them up), so the section rows (I, II, III…)
    are the sections' subtotals and TỔNG CỘNG is the sum of the sections, each đồng once.
    """
    used = [s for s in names if s in total["by_source"]] + sorted(set(total["by_source"]) - set(names))
    book = Workbook()
    ws = book.active
    ws.title = f"Báo cáo {year}" if year else "Báo cáo"
    last_col = 2 + 2 * len(used) + 3
    period = f"NĂM {year}" if year else "CẢ GIAI ĐOẠN"
    plan_date = date.fromisoformat(str(plan["date"]))
    lines = [
        f"Thực hiện Kế hoạch số {plan['number']} ngày {_vn_date(plan_date)} của {plan['issuer']}",
        f"Đơn vị: {units.known_name(unit)} · Số liệu đến ngày {_vn_date(today)} · Đơn vị tính: đồng",
    ]
    head = _heading(ws, plan["issuer"], last_col, f"BÁO CÁO TÌNH HÌNH PHÂN BỔ VÀ GIẢI NGÂN KINH PHÍ {period}", lines)
    top, sub = head, head + 1
    bold = Font(name=FONT, size=11, bold=True)
    for col, text in ((1, "Mã mục"), (2, "Nội dung")):
        ws.merge_cells(start_row=top, start_column=col, end_row=sub, end_column=col)
        _cell(ws, top, col, text, font=bold, alignment=_CENTER, fill=_HEAD_FILL, border=_BOX)
        _cell(ws, sub, col, None, border=_BOX, fill=_HEAD_FILL)
    col = 3
    for source in used:
        ws.merge_cells(start_row=top, start_column=col, end_row=top, end_column=col + 1)
        _cell(ws, top, col, names.get(source, source), font=bold, alignment=_CENTER, fill=_HEAD_FILL, border=_BOX)
        _cell(ws, top, col + 1, None, border=_BOX, fill=_HEAD_FILL)
        _cell(ws, sub, col, "Phân bổ", font=bold, alignment=_CENTER, fill=_HEAD_FILL, border=_BOX)
        _cell(ws, sub, col + 1, "Giải ngân", font=bold, alignment=_CENTER, fill=_HEAD_FILL, border=_BOX)
        col += 2
    ws.merge_cells(start_row=top, start_column=col, end_row=top, end_column=col + 2)
    _cell(ws, top, col, "Tổng cộng các nguồn", font=bold, alignment=_CENTER, fill=_HEAD_FILL, border=_BOX)
    for c in (col + 1, col + 2):
        _cell(ws, top, c, None, border=_BOX, fill=_HEAD_FILL)
    for c, text in ((col, "Phân bổ"), (col + 1, "Giải ngân"), (col + 2, "Tỷ lệ giải ngân")):
        _cell(ws, sub, c, text, font=bold, alignment=_CENTER, fill=_HEAD_FILL, border=_BOX)
    ws.row_dimensions[top].height = 48

    def figures_row(row: int, label_code: str, label: str, data: dict[str, Any], style: str) -> None:
        font = Font(name=FONT, size=11, bold=style in ("section", "total"), italic=style == "parent")
        fill = {"section": _SECTION_FILL, "total": _TOTAL_FILL}.get(style)
        extra = {"fill": fill} if fill else {}
        _cell(ws, row, 1, label_code, font=font, border=_BOX, alignment=Alignment(vertical="top"), **extra)
        _cell(ws, row, 2, label, font=font, border=_BOX, alignment=_WRAP, **extra)
        c = 3
        for source in used:
            pair = data["by_source"].get(source, {"allocated": 0, "disbursed": 0})
            for key in ("allocated", "disbursed"):
                _cell(ws, row, c, int(pair[key]), font=font, border=_BOX, number_format=VND_FORMAT, **extra)
                c += 1
        _cell(ws, row, c, int(data["allocated"]), font=font, border=_BOX, number_format=VND_FORMAT, **extra)
        _cell(ws, row, c + 1, int(data["disbursed"]), font=font, border=_BOX, number_format=VND_FORMAT, **extra)
        _cell(ws, row, c + 2, _rate(data["execution_rate"]), font=font, border=_BOX, number_format=RATE_FORMAT, **extra)

    parents = {i["parent_code"] for i in items if i["parent_code"]}
    row = sub + 1
    for item in items:
        style = "section" if item["parent_code"] is None else ("parent" if item["code"] in parents else "item")
        indent = "    " * int(item.get("depth") or 0)
        figures_row(row, item["code"], indent + item["title"], item, style)
        row += 1
    figures_row(row, "", "TỔNG CỘNG", total, "total")
    row += 1
    ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=last_col)
    _cell(
        ws,
        row,
        1,
        "Ghi chú: số liệu của mỗi mục đã gồm các mục con; dòng in đậm là cộng của từng phần (I, II, "
        "III…); tổng cộng là tổng các phần. Tỷ lệ giải ngân = giải ngân ÷ phân bổ.",
        font=Font(name=FONT, size=10, italic=True),
        alignment=_WRAP,
    )
    ws.row_dimensions[row].height = 30
    _signatures(ws, row + 2, last_col, plan["issuer"].split("tỉnh ")[-1].split("huyện ")[-1], today)

    ws.column_dimensions["A"].width = 9
    ws.column_dimensions["B"].width = 58
    for c in range(3, last_col):
        ws.column_dimensions[get_column_letter(c)].width = 17
    ws.column_dimensions[get_column_letter(last_col)].width = 11
    ws.freeze_panes = ws.cell(row=sub + 1, column=3)  # heading rows and item columns stay in view
    _print_setup(ws, f"{top}:{sub}")
    book.properties.title = f"Báo cáo kinh phí {plan['number']} {year or ''}".strip()
    book.properties.creator = "YTCS Finance"
    return book


YEAR_END_COLUMNS = (
    ("Mã mục", 9),
    ("Nội dung", 58),
    ("Phân bổ", 17),
    ("Giải ngân", 17),
    ("Chuyển nguồn từ năm trước", 17),
    ("Chuyển nguồn sang năm sau", 17),
    ("Quyết toán (đóng)", 17),
)


def year_end_sheet(book: Workbook, plan: dict[str, Any], items: list[dict[str, Any]], total: dict[str, Any],
                   year: int | None, unit: str | None, today: date,
                   by_source: dict[str, dict[str, dict[str, int]]] | None = None,
                   names: dict[str, str] | None = None) -> Worksheet:  # fmt: skip
    """The budget year end per item beside its money (docs/finance.md "Budget year end"): carried over from the
    year before, carried to the next, closed; under an item with any, one line per source (`by_source`,
    figures.year_end_by_source) with its allocated and disbursed. Carried money stays its own year's allocation,
    so it is shown apart, never added into `Phân bổ`."""
    ws = book.create_sheet("Chuyển nguồn")
    last_col = len(YEAR_END_COLUMNS)
    lines = [f"Kế hoạch số {plan['number']} · Đơn vị: {units.known_name(unit)} · Số liệu đến ngày {_vn_date(today)} · "
             "Đơn vị tính: đồng"]  # fmt: skip
    period = f"NĂM {year}" if year else "CẢ GIAI ĐOẠN"
    head = _heading(ws, plan["issuer"], last_col, f"CHUYỂN NGUỒN VÀ QUYẾT TOÁN KINH PHÍ {period}", lines)
    bold = Font(name=FONT, size=11, bold=True)
    for col, (text, width) in enumerate(YEAR_END_COLUMNS, 1):
        _cell(ws, head, col, text, font=bold, alignment=_CENTER, fill=_HEAD_FILL, border=_BOX)
        ws.column_dimensions[get_column_letter(col)].width = width
    keys = ("allocated", "disbursed", "carried_over_in", "carried_over_out", "closed")
    rows: list[tuple[str, str, dict[str, Any]]] = []
    for i in items:
        indent = "    " * int(i.get("depth") or 0)
        rows.append((i["code"], indent + i["title"], i))
        for source, ends in (by_source or {}).get(i["code"], {}).items():
            money = i["by_source"].get(source, {})
            label = f"{indent}    – {(names or {}).get(source, source)}"
            rows.append(("", label, {**money, **ends}))
    rows.append(("", "TỔNG CỘNG", total))
    for n, (code, label, data) in enumerate(rows, 1):
        font = Font(name=FONT, size=11, bold=label == "TỔNG CỘNG", italic=not code and label != "TỔNG CỘNG")
        _cell(ws, head + n, 1, code, font=font, border=_BOX)
        _cell(ws, head + n, 2, label, font=font, border=_BOX, alignment=_WRAP)
        for col, key in enumerate(keys, 3):
            _cell(ws, head + n, col, int(data.get(key) or 0), font=font, border=_BOX, number_format=VND_FORMAT)
    ws.freeze_panes = ws.cell(row=head + 1, column=3)
    _print_setup(ws, f"{head}:{head}")
    return ws


TARGET_COLUMNS = (
    ("STT", 6),
    ("Mục", 8),
    ("Chỉ tiêu", 60),
    ("Mục tiêu", 14),
    ("Thực hiện", 12),
    ("Tử số", 9),
    ("Mẫu số", 9),
    ("Đánh giá", 16),
    ("Cách tính", 60),
)
MET_VN = {True: "Đạt", False: "Không đạt"}


def targets_sheet(book: Workbook, plan: dict[str, Any], rows: list[dict[str, Any]], year: int | None,
                  unit: str | None, today: date) -> Worksheet:  # fmt: skip
    """The plan's targets against their results, as GET /api/v1/plans/{id}/targets answers them: actual as an
    exact number (2 places), numerator and denominator, met or not and the basis in words."""
    ws = book.create_sheet("Chỉ tiêu")
    last_col = len(TARGET_COLUMNS)
    lines = [f"Kế hoạch số {plan['number']} · Đơn vị: {units.known_name(unit)} · Số liệu đến ngày {_vn_date(today)}"]
    period = f"NĂM {year}" if year else "HIỆN TẠI"
    head = _heading(ws, plan["issuer"], last_col, f"KẾT QUẢ THỰC HIỆN CÁC CHỈ TIÊU {period}", lines)
    bold = Font(name=FONT, size=11, bold=True)
    for col, (text, width) in enumerate(TARGET_COLUMNS, 1):
        _cell(ws, head, col, text, font=bold, alignment=_CENTER, fill=_HEAD_FILL, border=_BOX)
        ws.column_dimensions[get_column_letter(col)].width = width
    for n, row in enumerate(rows, 1):
        r = head + n
        target = row.get("target")
        sign = "%" if row.get("target_unit") == "percent" else ""
        goal = "" if target is None else f"{row.get('comparison') or ''} {target:g}{sign}"
        if row.get("target_year"):
            goal += f" ({row['target_year']})"
        actual = None if row.get("actual") is None else Decimal(row["actual"])
        verdict = MET_VN.get(row.get("met"), "Chưa có số liệu")
        values = (n, row["item_code"], row["indicator"], goal.strip(), actual, row.get("numerator"),
                  row.get("denominator"), verdict, row.get("basis") or "")  # fmt: skip
        for col, value in enumerate(values, 1):
            c = _cell(ws, r, col, value, border=_BOX, alignment=_WRAP)
            if col == 5:
                c.number_format = "0.00"
    ws.freeze_panes = ws.cell(row=head + 1, column=4)
    _print_setup(ws, f"{head}:{head}")
    return ws


RECONCILIATION_ROWS = (
    ("Hồ sơ đề nghị thanh toán (đã tiếp nhận)", None, None),
    ("Số hồ sơ", ("claims", "count"), "count"),
    ("Số hồ sơ đã giám định", ("claims", "assessed"), "count"),
    ("Số tiền đề nghị BHYT thanh toán (Σ T_BHTT)", ("claims", "requested"), "money"),
    ("Số tiền được duyệt", ("claims", "approved"), "money"),
    ("Số tiền từ chối / xuất toán", ("claims", "rejected"), "money"),
    ("Số tiền chờ giám định", ("claims", "pending"), "money"),
    ("Theo phương thức thanh toán (Σ T_BHTT các dòng theo MA_PTTT)", None, None),
    ("Phí dịch vụ (MA_PTTT = 1)", ("claims", "by_payment_method", "fee_for_service"), "money"),
    ("Định suất (MA_PTTT = 2)", ("claims", "by_payment_method", "capitation"), "money"),
    ("DRG (MA_PTTT = 3)", ("claims", "by_payment_method", "drg"), "money"),
    ("Quỹ định suất", None, None),
    ("Quỹ định suất được giao", ("capitation", "fund"), "money"),
    # The fund's spend is of the cards registered at the facility (MA_DKBD), wherever they were treated.
    ("Chi phí trong định suất (Σ T_BHTT các dòng MA_PTTT = 2)", ("capitation", "spend"), "money"),
    ("– thẻ đăng ký tại cơ sở, khám tại cơ sở", ("capitation", "spend_own_cards_here"), "money"),
    ("– thẻ đăng ký tại cơ sở, khám tại cơ sở khác", ("capitation", "spend_own_cards_elsewhere"), "money"),
    ("Số hồ sơ của thẻ đăng ký tại cơ sở", ("capitation", "registered_claims"), "count"),
    (
        "Chi định suất của thẻ đăng ký nơi khác, khám tại cơ sở (tính vào quỹ nơi đăng ký)",
        ("capitation", "spend_other_cards_here"),
        "money",
    ),
    ("Cân đối quỹ (quỹ − chi; âm là vượt quỹ)", ("capitation", "balance"), "money"),
    ("Thanh toán", None, None),
    ("Đã tạm ứng", ("payments", "advanced"), "money"),
)


def _money2(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def reconciliation_workbook(data: dict[str, Any], facility_name: str | None, today: date) -> Workbook:
    """One facility-quarter's reconciliation: claims requested / approved / rejected / pending, the capitation fund
    against its spend, advances. Claim money keeps its two decimals (exact, from the claims service's strings)."""
    book = Workbook()
    ws = book.active
    ws.title = f"Đối soát {data.get('period', '')}"[:31]
    facility = data.get("facility_code") or "tất cả cơ sở trong phạm vi"
    who = f"{facility} – {facility_name}" if facility_name else facility
    head = _heading(
        ws,
        "Bảo hiểm xã hội tỉnh Kiên Giang",
        3,
        f"BẢNG ĐỐI SOÁT KỲ {data.get('period', '')}",
        [f"Cơ sở KCB: {who}", f"Số liệu đến ngày {_vn_date(today)} · Đơn vị tính: đồng"],
    )
    bold = Font(name=FONT, size=11, bold=True)
    for col, text in ((1, "STT"), (2, "Chỉ tiêu"), (3, "Số liệu")):
        _cell(ws, head, col, text, font=bold, alignment=_CENTER, fill=_HEAD_FILL, border=_BOX)
    row, n = head + 1, 0
    for label, path, kind in RECONCILIATION_ROWS:
        if path is None:
            ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=3)
            _cell(ws, row, 1, label, font=bold, fill=_SECTION_FILL, border=_BOX)
            row += 1
            continue
        n += 1
        raw: Any = data
        for key in path:  # a nested figure (claims → by_payment_method → capitation)
            raw = (raw or {}).get(key)
        value: Any = int(raw or 0) if kind == "count" else _money2(raw)
        _cell(ws, row, 1, n, border=_BOX, alignment=Alignment(horizontal="center"))
        _cell(ws, row, 2, label, border=_BOX, alignment=_WRAP)
        _cell(ws, row, 3, value, border=_BOX, number_format="#,##0" if kind == "count" else MONEY2_FORMAT)
        row += 1
    row = _settlement_steps(ws, row + 1, data)
    _signatures(ws, row + 1, 3, "Kiên Giang", today)
    ws.column_dimensions["A"].width = 7
    ws.column_dimensions["B"].width = 55
    ws.column_dimensions["C"].width = 22
    ws.column_dimensions["D"].width = 16
    ws.column_dimensions["E"].width = 14
    ws.freeze_panes = ws.cell(row=head + 1, column=1)
    _print_setup(ws, f"{head}:{head}", landscape=False)
    book.properties.creator = "YTCS Finance"
    return book


def _settlement_steps(ws: Worksheet, row: int, data: dict[str, Any]) -> int:
    """The quarter's settlement steps with their due dates and when they happened (one facility), and every step
    overdue today (each facility in scope), as GET /api/v1/reconciliation answers them; the next free row."""
    bold = Font(name=FONT, size=11, bold=True)
    red = Font(name=FONT, size=11, bold=True, color="C00000")

    def day(text: str | None) -> date | None:
        return date.fromisoformat(text) if text else None

    def table(title: str, rows: list[tuple[str, dict[str, Any]]], row: int) -> int:
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=5)
        _cell(ws, row, 1, title, font=bold, fill=_SECTION_FILL, border=_BOX)
        row += 1
        for col, text in enumerate(("STT", "Bước", "Hạn", "Ngày thực hiện", "Tình trạng"), 1):
            _cell(ws, row, col, text, font=bold, alignment=_CENTER, fill=_HEAD_FILL, border=_BOX)
        for n, (label, s) in enumerate(rows, 1):
            row += 1
            state = capitation.step_state(s)
            _cell(ws, row, 1, n, border=_BOX, alignment=Alignment(horizontal="center"))
            _cell(ws, row, 2, label, border=_BOX, alignment=_WRAP)
            _cell(ws, row, 3, day(s.get("due")), border=_BOX, number_format="dd/mm/yyyy")
            _cell(ws, row, 4, day(s.get("date")), border=_BOX, number_format="dd/mm/yyyy")
            _cell(ws, row, 5, state, border=_BOX, **({"font": red} if s.get("overdue") else {}))
        if not rows:
            row += 1
            ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=5)
            _cell(ws, row, 1, "Không có", border=_BOX)
        return row + 2

    settlement = data.get("settlement")
    if settlement:
        row = table(
            "Các bước quyết toán quý và thời hạn",
            [(capitation.step_label(name, s), s) for name, s in settlement["steps"].items()],
            row,
        )
    if "overdue" in data:
        row = table(
            "Các bước quá hạn (đến ngày lập bảng)",
            [(f"{o['facility_code']}: {capitation.step_label(o['step'], o)}", o) for o in data["overdue"]],
            row,
        )
    elif data.get("settlement_unavailable"):
        _cell(ws, row, 2, "Chưa lấy được các bước quyết toán quý (dịch vụ tài chính chưa trả lời).", font=red)
        row += 2
    return row


ERROR_COLUMNS = ("STT hồ sơ", "MA_LK", "Bảng", "Trường", "Mã lỗi", "Mức độ", "Nội dung lỗi")
SEVERITY_VN = {"critical": "Nghiêm trọng (từ chối hồ sơ)", "warning": "Cảnh báo"}


def errors_workbook(file_id: int, status: dict[str, Any], issues: Iterable[dict[str, Any]]) -> Workbook:
    """A claim file's errors, one row each (write-only: a file of 100 000 records stays small in memory)."""
    book = Workbook(write_only=True)
    ws = book.create_sheet(f"Lỗi tệp {file_id}")
    ws.freeze_panes = "A3"
    for col, width in zip("ABCDEFG", (10, 24, 8, 18, 24, 26, 90), strict=True):
        ws.column_dimensions[col].width = width
    records = status.get("records") or {}
    ws.append(
        [
            f"Tệp hồ sơ số {file_id} · cơ sở {status.get('facility_code') or '?'} · {records.get('total', 0)} hồ sơ,"
            f" {records.get('accepted', 0)} tiếp nhận, {records.get('rejected', 0)} từ chối"
        ]
    )
    ws.append(list(ERROR_COLUMNS))
    for i in issues:
        ws.append(
            [
                i.get("record_index"),
                i.get("ma_lk"),
                i.get("table"),
                i.get("field"),
                i.get("code"),
                SEVERITY_VN.get(i.get("severity", ""), i.get("severity")),
                i.get("message"),
            ]
        )
    return book


# (heading, width, money): the allocations list, one row per allocation as GET /api/v1/allocations answers it.
ALLOCATION_COLUMNS = (
    ("Số", 8, False), ("Kế hoạch", 14, False), ("Mục", 9, False), ("Nguồn kinh phí", 22, False),
    ("Năm ngân sách", 9, False), ("Mã đơn vị nhận", 10, False), ("Đơn vị nhận", 28, False),
    ("Phân bổ cấp trên (số)", 11, False), ("Số quyết định", 18, False), ("Ngày quyết định", 12, False),
    ("Loại", 14, False), ("Số tiền giao", 17, True), ("Điều chỉnh", 16, True), ("Được giao", 17, True),
    ("Đã phân bổ xuống", 17, True), ("Đã giải ngân", 17, True), ("Còn lại", 17, True), ("Ghi chú", 30, False),
)  # fmt: skip
KIND_VN = {"budget": "Dự toán ngân sách", "package_payment": "Khoán / đặt hàng"}
NOT_ADDED_UP = (
    "Không cộng dọc các cột tiền: một khoản phân bổ xuống cấp dưới là cùng số tiền với phân bổ cấp trên của nó "
    "(xem báo cáo kế hoạch để có số tổng, mỗi đồng tính một lần)."
)


def allocations_workbook(
    rows: Iterable[dict[str, Any]], plans: dict[int, str], sources: dict[str, str], unit_names: dict[str, str],
    title: str,
) -> Workbook:
    """The allocations list, one row per allocation (write-only: a province's years of allocations stay small
    in memory). No total row: a sub-allocation is the same money as its parent (docs/finance.md §2)."""
    book = Workbook(write_only=True)
    ws = book.create_sheet("Phan bo")
    ws.freeze_panes = "A4"
    for i, (_heading, width, _money) in enumerate(ALLOCATION_COLUMNS, 1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.append([title])
    ws.append([NOT_ADDED_UP])
    ws.append([heading for heading, _w, _m in ALLOCATION_COLUMNS])
    for a in rows:
        values = [
            a["id"], plans.get(int(a["plan_id"]), a["plan_id"]), a["item_code"], sources.get(a["source"], a["source"]),
            a["fiscal_year"], a["recipient_unit"], unit_names.get(a["recipient_unit"], a["recipient_unit"]),
            a.get("parent_allocation_id"), a.get("decision_no"),
            date.fromisoformat(a["decision_date"]) if a.get("decision_date") else None,
            KIND_VN.get(a.get("kind") or "budget", a.get("kind")), a["amount"], a["adjusted"], a["allocated"],
            a["sub_allocated"], a["disbursed"], a["remaining"], a.get("note"),
        ]  # fmt: skip
        cells = []
        for value, (_heading, _width, money) in zip(values, ALLOCATION_COLUMNS, strict=True):
            cell = WriteOnlyCell(ws, value=value)
            if money:
                cell.number_format = VND_FORMAT
            elif isinstance(value, date):
                cell.number_format = "dd/mm/yyyy"
            cells.append(cell)
        ws.append(cells)
    return book


# --------------------------------------------------------------------------- the reports, gathered


def plan_report(plan_id: int, year: int | None, unit: str | None) -> tuple[Workbook, str]:
    """The plan's funding report and its file name, for a unit the caller may see; 503 `report_incomplete`
    while a service cannot answer."""
    data = funding.plan_figures(plan_id, year, unit, "reports.plan_report")
    funding.refuse_partial(data)
    plan: catalog.Plan = data["plan"]
    meta = rpc("finance", "get_plan", plan_id)
    book = plan_workbook(meta, data["items"], data["total"], year, unit, funding.source_names(), clock.today())
    targets = funding.targets_answer(plan_id, year, unit)  # the very answer of GET /plans/{id}/targets
    funding.refuse_partial(targets)
    targets_sheet(book, meta, targets["items"], year, unit, clock.today())
    ends = figures.year_end_by_source(
        finance.year_end_allocations(plan_id, year, unit), [i["code"] for i in data["items"]], year
    )
    year_end_sheet(book, meta, data["items"], data["total"], year, unit, clock.today(), ends, funding.source_names())
    number = plan.number.split("/")[0]
    return book, f"bao-cao-ke-hoach-{number}-{year or 'tat-ca'}{'-' + unit if unit else ''}.xlsx"


MAX_LISTED = 20_000  # allocations in one download: a province holds a few thousand a year


def allocations_report(filters: dict[str, Any]) -> tuple[Workbook, str]:
    """Every allocation GET /api/v1/allocations answers for `filters` (the caller's unit applied), as a workbook,
    and its file name; 422 `too_many_rows` past MAX_LISTED (narrow by plan, year or unit)."""
    advice = "Có {total} phân bổ, quá {limit} cho một tệp; hãy lọc theo kế hoạch, năm hoặc đơn vị."
    rows = finance.every_allocation(filters, MAX_LISTED, advice, None)
    plans = {int(p["id"]): p["number"] for p in funding.plan_list()}
    sources = funding.source_names()
    names = {code: units.known_name(code) for code in {r["recipient_unit"] for r in rows}}
    said = {
        "plan_id": lambda v: f"kế hoạch {plans.get(int(v), v)}",
        "item_code": lambda v: f"mục {v}",
        "year": lambda v: f"năm {v}",
        "unit": lambda v: f"{units.known_name(v)} ({v})",
        "source": lambda v: sources.get(v, v),
        "kind": lambda v: KIND_VN.get(v, v),
        "parent_id": lambda v: f"phân bổ xuống từ số {v}",
        "level": lambda v: {"province": "nhận ở cấp tỉnh", "district": "nhận ở cấp huyện"}.get(v, "nhận ở cấp xã"),
        "decision_no": lambda v: f"quyết định {v}",
    }
    # The filters are echoed as the caller typed them: what a worksheet cannot hold (control characters) is left out.
    scope = ILLEGAL_CHARACTERS_RE.sub("", ", ".join(said[k](v) for k, v in filters.items() if k in said))
    if filters.get("year_end_due"):
        scope += f"{', ' if scope else ''}năm đã qua, còn tiền chưa chuyển nguồn hoặc quyết toán"
    title = f"DANH SÁCH PHÂN BỔ KINH PHÍ{f' — {scope}' if scope else ''}: {len(rows)} phân bổ"
    book = allocations_workbook(rows, plans, sources, names, title)
    suffix = re.sub(r"[^A-Za-z0-9._-]+", "", "-".join(str(v) for v in filters.values()))  # a header-safe name
    return book, f"phan-bo{'-' + suffix if suffix else ''}.xlsx"


def reconciliation_report(facility: str | None, period: str) -> tuple[Workbook, str]:
    """A facility-quarter's reconciliation (every facility in the caller's scope when None) and its file name;
    the caller has checked `facility` (facilities.require_facility)."""
    data = capitation.reconciliation(facility, period)
    book = reconciliation_workbook(data, facility_name(facility), clock.today())
    return book, f"doi-soat-{facility or 'tat-ca'}-{period}.xlsx"


def errors_report(file_id: int, code: str | None, severity: str | None) -> tuple[Workbook, str]:
    """All the errors of a claim file the caller may see (optionally of one code or severity) and its file name."""
    status = claims.file_status(file_id)
    book = errors_workbook(file_id, status, claims.file_issues(file_id, code, severity))
    return book, f"loi-tep-ho-so-{file_id}.xlsx"
