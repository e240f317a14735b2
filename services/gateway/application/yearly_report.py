"""The yearly report of a plan (plan section V: each unit reports before 30/11) as a Word document in the
administrative form of Nghị định 30/2020/NĐ-CP, and who has reported.

The figures are never recomputed here: the targets are `GET /api/v1/plans/{id}/targets` (application/funding.py),
money per item and source the funding tree (funding.plan_figures), station investment the investment
service's projects, BHYT the claims service's reconciliation per quarter. What the unit writes itself
(shortcomings, proposals) and the submissions are the gateway's own tables (models.ReportSection,
models.ReportSubmission), both append-only: the latest row counts, the earlier ones stay visible.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt
from docx.table import Table
from docx.text.paragraph import Paragraph
from sqlalchemy import select

from services.common import catalog, clock, units
from services.gateway.models import ReportSection, ReportSubmission

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
FONT = "Times New Roman"  # Nghị định 30/2020, Phụ lục I: Times New Roman, Vietnamese Unicode (TCVN 6909:2001)
STATUS_VN = {
    "planned": "Chuẩn bị đầu tư",
    "in_progress": "Đang thực hiện",
    "suspended": "Tạm dừng",
    "completed": "Hoàn thành",
    "cancelled": "Hủy bỏ",
}


def deadline(year: int) -> date:
    """Plan section V: the yearly report reaches Sở Y tế before 30 November."""
    return date(year, 11, 30)


# --------------------------------------------------------------------------- formatting (Vietnamese)


def vnd(value: Any) -> str:
    """Whole đồng with the Vietnamese thousands separator: 1.234.567.000."""
    return f"{int(value):,}".replace(",", ".")


def money2(value: Any) -> str:
    """Claim money (2 places) as Vietnamese write it: 1.234.567,50."""
    if value is None:
        return "–"
    q = Decimal(str(value)).quantize(Decimal("0.01"))
    whole, _, frac = f"{q:,.2f}".partition(".")
    return whole.replace(",", ".") + "," + frac


def decimal_vn(value: Any) -> str:
    """A decimal string of the API ("87.50") with the Vietnamese comma ("87,50"); "–" when unknown."""
    if value is None:
        return "–"
    return str(value).replace(".", ",")


def rate(allocated: int, disbursed: int) -> str:
    if not allocated:
        return "–"
    return decimal_vn(f"{Decimal(disbursed) * 100 / Decimal(allocated):.1f}") + "%"


def target_text(row: dict[str, Any]) -> str:
    value = row.get("target")
    if value is None:
        return "–"
    number = decimal_vn(f"{value:g}" if isinstance(value, float) else value)
    unit = {"percent": "%"}.get(row.get("target_unit") or "", " " + (row.get("target_unit") or ""))
    year = f" (năm {row['target_year']})" if row.get("target_year") else ""
    sign = {">=": "≥", "<=": "≤"}.get(row.get("comparison") or "", row.get("comparison") or "")
    return f"{sign} {number}{unit}{year}".strip()


def quarter_vn(period: str) -> str:
    """2024-Q3 → Quý III/2024, as officers write a quarter."""
    year, _, q = period.partition("-Q")
    return f"Quý {('I', 'II', 'III', 'IV')[int(q) - 1]}/{year}"


def met_text(met: Any) -> str:
    return {True: "Đạt", False: "Không đạt"}.get(met, "Chưa có số liệu")


# --------------------------------------------------------------------------- who writes the report


@dataclass(frozen=True)
class Issuer:
    superior: str  # cơ quan chủ quản
    body: str  # cơ quan ban hành
    name: str  # its name in running text
    abbreviation: str  # chữ viết tắt trong số hiệu
    place: str  # địa danh
    recipient: str  # kính gửi
    signer: str  # chức vụ người ký


def issuer_of(unit: str) -> Issuer:
    """The body that writes a unit's report: Sở Y tế for the province, the district health centre for a
    district, the commune's health station for a commune (Nghị định 30/2020, Phụ lục I)."""
    if unit == units.PROVINCE_CODE:
        place = units.PROVINCE_NAME.removeprefix("Tỉnh ")
        return Issuer(
            f"UBND {units.PROVINCE_NAME.upper()}",
            "SỞ Y TẾ",
            "Sở Y tế",
            "SYT",
            place,
            "Ủy ban nhân dân tỉnh",
            "GIÁM ĐỐC",
        )
    district = units.districts().get(unit)
    if district is not None:
        short = district.name.split(" ", 1)[1] if " " in district.name else district.name
        return Issuer(
            f"UBND {district.name.upper()}",
            f"TRUNG TÂM Y TẾ {district.name.upper()}",
            f"Trung tâm Y tế {district.name.lower().replace(short.lower(), short)}",
            "TTYT",
            short,
            "Sở Y tế; Ủy ban nhân dân " + district.name.lower().replace(short.lower(), short),
            "GIÁM ĐỐC",
        )
    name = units.name_on(unit, clock.today()) if units.is_known_unit(unit) else unit
    return Issuer(
        f"UBND {name.upper()}",
        f"TRẠM Y TẾ {name.upper()}",
        f"Trạm Y tế {name}",
        "TYT",
        name,
        "Trung tâm Y tế",
        "TRẠM TRƯỞNG",
    )


def report_unit(plan: catalog.Plan, unit: str | None) -> str:
    """The unit a report is written for: the one asked for, else the plan's own."""
    return unit or plan.unit


# --------------------------------------------------------------------------- the unit's own sections


def sections_answer(session: Any, unit: str, year: int) -> dict[str, Any]:
    rows = session.scalars(
        select(ReportSection)
        .where(ReportSection.unit == unit, ReportSection.year == year)
        .order_by(ReportSection.id.desc())
    ).all()
    versions = [
        {
            "version": len(rows) - i,
            "shortcomings": r.shortcomings,
            "proposals": r.proposals,
            "recorded_by": r.recorded_by,
            "recorded_at": r.recorded_at.isoformat(),
        }
        for i, r in enumerate(rows)
    ]
    current = versions[0] if versions else None
    return {
        "unit": unit,
        "year": year,
        "shortcomings": current["shortcomings"] if current else "",
        "proposals": current["proposals"] if current else "",
        "history": versions,
    }


def record_sections(session: Any, unit: str, year: int, data: dict[str, Any], actor: str) -> bool:
    """A new version unless the text is the same as the current one; returns whether one was made."""
    latest = session.scalars(
        select(ReportSection)
        .where(ReportSection.unit == unit, ReportSection.year == year)
        .order_by(ReportSection.id.desc())
        .limit(1)
    ).first()
    shortcomings = xml_safe(data.get("shortcomings") or "").strip()
    proposals = xml_safe(data.get("proposals") or "").strip()
    if latest is not None and (latest.shortcomings, latest.proposals) == (shortcomings, proposals):
        return False
    session.add(ReportSection(unit=unit, year=year, shortcomings=shortcomings, proposals=proposals, recorded_by=actor))
    return True


# --------------------------------------------------------------------------- who has reported


def expected_units(plan: catalog.Plan) -> list[str]:
    """Who reports under a plan: for the province plan every district health centre (one per district of
    the plans' map), for a district plan its own health centre."""
    if plan.level == "province":
        return sorted(units.districts())
    return [plan.unit]


def submission_dict(s: ReportSubmission) -> dict[str, Any]:
    return {
        "id": s.id,
        "plan_id": s.plan_id,
        "unit": s.unit,
        "year": s.year,
        "submitted_on": s.submitted_on.isoformat(),
        "document": s.document,
        "file_name": s.file_name,
        "note": s.note,
        "late": s.submitted_on > deadline(s.year),
        "recorded_by": s.recorded_by,
        "recorded_at": s.recorded_at.isoformat(),
    }


def _latest(session: Any, plan_id: int, year: int) -> dict[str, ReportSubmission]:
    rows = session.scalars(
        select(ReportSubmission)
        .where(ReportSubmission.plan_id == plan_id, ReportSubmission.year == year)
        .order_by(ReportSubmission.id)
    ).all()
    return {r.unit: r for r in rows}  # the last one per unit wins


def reporting_status(session: Any, plan: catalog.Plan, year: int, today: date, scope: str | None) -> dict[str, Any]:
    """Each expected unit (within `scope`) with its latest submission: on time, late (after 30/11), or
    missing (late too once 30/11 has passed); the roll-up counts them."""
    latest = _latest(session, plan.id, year)
    due = deadline(year)
    rows = []
    for code in expected_units(plan):
        if scope is not None and not units.within(scope, code) and not units.within(code, scope):
            continue
        sub = latest.get(code)
        if sub is not None:
            state = "late" if sub.submitted_on > due else "on_time"
        else:
            state = "overdue" if today > due else "pending"
        rows.append(
            {
                "unit": code,
                "name": units.known_name(code),
                "status": state,
                "late": state in ("late", "overdue"),
                "submission": None if sub is None else submission_dict(sub),
            }
        )
    counts = {k: sum(1 for r in rows if r["status"] == k) for k in ("on_time", "late", "overdue", "pending")}
    return {
        "plan_id": plan.id,
        "number": plan.number,
        "year": year,
        "deadline": due.isoformat(),
        "units": rows,
        "rollup": {
            "expected": len(rows),
            "reported": counts["on_time"] + counts["late"],
            **counts,
            "late_total": counts["late"] + counts["overdue"],
        },
    }


def add_money(status: dict[str, Any], per_unit: dict[str, dict[str, Any]] | None) -> dict[str, Any]:
    """The province's roll-up from its units: each unit's money of the year under the plan (`per_unit`: the
    total of the funding tree asked for that unit, as its own report prints it) and the sums over all units and
    over those that reported. None when a funding answer was partial (never a roll-up with holes)."""
    if per_unit is None:
        for row in status["units"]:
            row["money"] = None
        status["rollup"]["money"] = None
        return status
    totals = {"allocated": 0, "disbursed": 0, "reported_allocated": 0, "reported_disbursed": 0}
    for row in status["units"]:
        pair = per_unit.get(row["unit"]) or {}
        money = {k: int(pair.get(k) or 0) for k in ("allocated", "disbursed")}
        row["money"] = money
        totals["allocated"] += money["allocated"]
        totals["disbursed"] += money["disbursed"]
        if row["submission"] is not None:
            totals["reported_allocated"] += money["allocated"]
            totals["reported_disbursed"] += money["disbursed"]
    status["rollup"]["money"] = totals
    return status


def late_counts(session: Any, today: date) -> dict[tuple[str, int], int]:
    """Late reports per (plan number, year) for the metric: submitted after 30/11, or still missing after it,
    for each plan's current reporting year (so the series always exists) and every year some unit has
    submitted in (cheap: one grouped read of a small table)."""
    stmt = select(ReportSubmission.plan_id, ReportSubmission.year).distinct()
    pairs = {(plan.id, min(today.year, plan.period_to)) for plan in catalog.load_plans()}
    pairs |= {(int(p), int(y)) for p, y in session.execute(stmt)}
    out: dict[tuple[str, int], int] = {}
    for plan_id, year in sorted(pairs):
        try:
            plan = catalog.get_plan(plan_id)
        except KeyError:
            continue
        out[(plan.number, year)] = reporting_status(session, plan, year, today, None)["rollup"]["late_total"]
    return out


# --------------------------------------------------------------------------- the Word document


@dataclass
class ReportData:
    plan: catalog.Plan
    year: int
    unit: str
    targets: list[dict[str, Any]]
    items: list[dict[str, Any]]
    total: dict[str, Any]
    sources: dict[str, str]
    projects: list[dict[str, Any]]
    quarters: list[dict[str, Any]]
    sections: dict[str, Any]
    today: date
    # The budget year end per item and source (figures.year_end_by_source); empty when nothing was carried or closed.
    year_end_sources: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)


def _font(run: Any, size: float = 13, bold: bool = False, italic: bool = False, underline: bool = False) -> None:
    run.font.name = FONT
    run.font.size = Pt(size)
    run.bold, run.italic, run.underline = bold, italic, underline
    rpr = run._element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.append(fonts)
    for attr in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        fonts.set(qn(attr), FONT)


_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_safe(text: str) -> str:
    """Text a Word document can hold: control characters (XML 1.0 forbids them) dropped."""
    return _NOT_XML.sub("", text)


def _para(
    where: Any,
    text: str = "",
    size: float = 13,
    bold: bool = False,
    italic: bool = False,
    underline: bool = False,
    align: Any = None,
    indent: bool = False,
) -> Paragraph:
    p = where.add_paragraph()
    if text:
        _font(p.add_run(xml_safe(text)), size, bold, italic, underline)
    p.paragraph_format.space_after = Pt(3)
    if align is not None:
        p.alignment = align
    if indent:
        p.paragraph_format.first_line_indent = Cm(1)
    return p


def _cell_text(cell: Any, text: str, bold: bool = False, align: Any = None, size: float = 11) -> None:
    cell.text = ""
    p = cell.paragraphs[0]
    _font(p.add_run(xml_safe(text)), size, bold)
    if align is not None:
        p.alignment = align


def _widths(table: Table, widths: list[float]) -> None:
    """Fixed column widths, in the grid and in every cell (Word reads the cells, LibreOffice the grid)."""
    table.autofit = False
    for column, width in zip(table.columns, widths, strict=True):
        column.width = Cm(width)
        for cell in column.cells:
            cell.width = Cm(width)


def _table(doc: Any, headings: list[str], widths: list[float]) -> Table:
    table = doc.add_table(rows=1, cols=len(headings))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    _widths(table, widths)
    for cell, text in zip(table.rows[0].cells, headings, strict=True):
        _cell_text(cell, text, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER)
    return table


def _row(table: Table, values: list[str], widths: list[float], right: set[int], bold: bool = False) -> None:
    """A table row; the columns in `right` (numbers) right-aligned, the first (STT, code) centred."""
    cells = table.add_row().cells
    for i, (cell, text, width) in enumerate(zip(cells, values, widths, strict=True)):
        align = WD_ALIGN_PARAGRAPH.RIGHT if i in right else (WD_ALIGN_PARAGRAPH.CENTER if i == 0 else None)
        _cell_text(cell, text, bold=bold, align=align)
        cell.width = Cm(width)


def _no_borders(table: Table) -> None:
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        el = OxmlElement(f"w:{edge}")
        el.set(qn("w:val"), "nil")
        borders.append(el)
    table._tbl.tblPr.append(borders)


TARGET_HEADINGS = ["STT", "Mục", "Chỉ tiêu", "Mục tiêu", "Thực hiện", "Tử số / Mẫu số", "Đánh giá"]
TARGET_WIDTHS = [1.0, 1.4, 6.4, 2.6, 1.9, 2.2, 2.0]
MONEY_HEADINGS = ["Mã mục", "Nội dung", "Nguồn kinh phí", "Phân bổ (đồng)", "Giải ngân (đồng)", "Tỷ lệ"]
MONEY_WIDTHS = [1.3, 5.2, 3.4, 2.9, 2.9, 1.8]
YEAR_END_HEADINGS = [
    "Mã mục", "Nội dung", "Chuyển nguồn từ năm trước (đồng)", "Chuyển nguồn sang năm sau (đồng)",
    "Quyết toán, đóng (đồng)",
]
YEAR_END_WIDTHS = [1.3, 6.6, 3.2, 3.2, 3.2]
PROJECT_HEADINGS = ["STT", "Trạm y tế", "Công trình", "Tình trạng", "Vốn đã giao (đồng)", "Đã giải ngân (đồng)"]
PROJECT_WIDTHS = [1.0, 3.6, 5.0, 2.4, 2.9, 2.9]
BHYT_HEADINGS = ["Quý", "Số hồ sơ", "Đề nghị thanh toán", "Được duyệt", "Quỹ định suất", "Chi định suất", "Đã tạm ứng"]
BHYT_WIDTHS = [2.6, 1.3, 2.7, 2.6, 2.5, 2.5, 2.3]


def target_row(n: int, row: dict[str, Any]) -> list[str]:
    """One target as printed (the test reads these cells back against the API's answer)."""
    ratio = "–"
    if row.get("numerator") is not None and row.get("denominator") is not None:
        ratio = f"{row['numerator']}/{row['denominator']}"
    return [
        str(n),
        row["item_code"],
        row["indicator"],
        target_text(row),
        decimal_vn(row.get("actual")),
        ratio,
        met_text(row.get("met")),
    ]


def money_rows(data: ReportData) -> list[tuple[list[str], bool]]:
    """Each item with money, one line per source under it; the total last. (cells, bold)."""
    out: list[tuple[list[str], bool]] = []
    order = list(data.sources)
    for item in data.items:
        if not item["allocated"] and not item["disbursed"]:
            continue
        top = item["parent_code"] is None
        out.append(
            (
                [
                    item["code"],
                    item["title"],
                    "Cộng các nguồn",
                    vnd(item["allocated"]),
                    vnd(item["disbursed"]),
                    rate(int(item["allocated"]), int(item["disbursed"])),
                ],
                top,
            )
        )
        by_source = item["by_source"]
        for source in [s for s in order if s in by_source] + sorted(set(by_source) - set(order)):
            pair = by_source[source]
            if not pair["allocated"] and not pair["disbursed"]:
                continue
            out.append(
                (
                    [
                        "",
                        "",
                        data.sources.get(source, source),
                        vnd(pair["allocated"]),
                        vnd(pair["disbursed"]),
                        rate(int(pair["allocated"]), int(pair["disbursed"])),
                    ],
                    False,
                )
            )
    total = data.total
    out.append(
        (
            [
                "",
                "TỔNG CỘNG",
                "",
                vnd(total["allocated"]),
                vnd(total["disbursed"]),
                rate(int(total["allocated"]), int(total["disbursed"])),
            ],
            True,
        )
    )
    return out


def year_end_rows(data: ReportData) -> list[tuple[list[str], bool]]:
    """Each item with year-end money (chuyển nguồn in and out, quyết toán), a line per source under it, the total
    last. (cells, bold).
    Carried money stays its own year's allocation: shown apart, never added into `Phân bổ`."""
    keys = ("carried_over_in", "carried_over_out", "closed")
    out: list[tuple[list[str], bool]] = []
    for item in data.items:
        if any(item.get(k) for k in keys):
            out.append(([item["code"], item["title"], *(vnd(item.get(k) or 0) for k in keys)],
                        item["parent_code"] is None))  # fmt: skip
            for source, ends in data.year_end_sources.get(item["code"], {}).items():
                out.append((["", "– " + data.sources.get(source, source), *(vnd(ends[k]) for k in keys)], False))
    out.append((["", "TỔNG CỘNG", *(vnd(data.total.get(k) or 0) for k in keys)], True))
    return out


def report_document(data: ReportData) -> bytes:
    """The report as a .docx (A4 portrait, margins of Nghị định 30/2020: top/bottom 2 cm, left 3 cm, right 1.5 cm)."""
    plan, year, issuer = data.plan, data.year, issuer_of(data.unit)
    doc = Document()
    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    section.top_margin = section.bottom_margin = Cm(2)
    section.left_margin, section.right_margin = Cm(3), Cm(1.5)
    style = doc.styles["Normal"]
    style.font.name, style.font.size = FONT, Pt(13)

    # Heading: issuing body (left) and national title and motto (right), then number and place and date.
    head = doc.add_table(rows=3, cols=2)
    _no_borders(head)
    _widths(head, [6.8, 9.7])
    center = WD_ALIGN_PARAGRAPH.CENTER
    cells = head.rows[0].cells
    cells[0].text = ""
    _font(cells[0].paragraphs[0].add_run(issuer.superior), 12)
    cells[0].paragraphs[0].alignment = center
    p = cells[0].add_paragraph()
    _font(p.add_run(issuer.body), 12, bold=True, underline=True)
    p.alignment = center
    cells[1].text = ""
    _font(cells[1].paragraphs[0].add_run("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"), 12, bold=True)
    cells[1].paragraphs[0].alignment = center
    p = cells[1].add_paragraph()
    _font(p.add_run("Độc lập - Tự do - Hạnh phúc"), 13, bold=True, underline=True)
    p.alignment = center
    cells = head.rows[1].cells
    _cell_text(cells[0], f"Số:        /BC-{issuer.abbreviation}", align=center, size=13)
    when = f"{issuer.place}, ngày {data.today.day:02d} tháng {data.today.month:02d} năm {data.today.year}"
    cells[1].text = ""
    _font(cells[1].paragraphs[0].add_run(when), 13, italic=True)
    cells[1].paragraphs[0].alignment = center
    cells = head.rows[2].cells
    _cell_text(cells[0], f"V/v báo cáo kết quả thực hiện Kế hoạch {plan.number} năm {year}", align=center, size=12)
    cells[1].text = ""

    _para(doc, f"Kính gửi: {issuer.recipient}.", align=center)
    _para(doc, "BÁO CÁO", 14, bold=True, align=center)
    _para(
        doc,
        f"Kết quả thực hiện Kế hoạch số {plan.number} ngày {plan.date:%d/%m/%Y} của {plan.issuer} năm {year}",
        bold=True,
        align=center,
    )
    _para(
        doc,
        f"Thực hiện mục V (Thông tin, báo cáo) của Kế hoạch số {plan.number}, {issuer.name} báo cáo "
        f"kết quả thực hiện năm {year} ({units.known_name(data.unit)}) như sau:",
        indent=True,
    )

    _para(doc, "I. KẾT QUẢ THỰC HIỆN CÁC CHỈ TIÊU", bold=True)
    table = _table(doc, TARGET_HEADINGS, TARGET_WIDTHS)
    for n, row in enumerate(data.targets, 1):
        _row(table, target_row(n, row), TARGET_WIDTHS, {4, 5})
    met = sum(1 for r in data.targets if r.get("met") is True)
    unknown = sum(1 for r in data.targets if r.get("met") is None)
    _para(
        doc,
        f"Đạt {met}/{len(data.targets)} chỉ tiêu; {unknown} chỉ tiêu chưa có số liệu để đánh giá. Số liệu thực hiện "
        "tính từ số liệu chỉ số y tế cơ sở của năm và danh mục trạm y tế tại ngày đánh giá.",
        11,
        italic=True,
    )

    _para(doc, "II. KINH PHÍ THỰC HIỆN (phân bổ, giải ngân theo mục và nguồn)", bold=True)
    table = _table(doc, MONEY_HEADINGS, MONEY_WIDTHS)
    for values, bold in money_rows(data):
        _row(table, values, MONEY_WIDTHS, {3, 4, 5}, bold)
    _para(
        doc,
        "Số liệu của mỗi mục đã gồm các mục con; tổng cộng là tổng các phần I, II, III.",
        11,
        italic=True,
    )
    _para(doc, "Chuyển nguồn và quyết toán kinh phí cuối năm ngân sách", 12, bold=True)
    table = _table(doc, YEAR_END_HEADINGS, YEAR_END_WIDTHS)
    for values, bold in year_end_rows(data):
        _row(table, values, YEAR_END_WIDTHS, {2, 3, 4}, bold)
    _para(
        doc,
        f"Chuyển nguồn từ năm trước: kinh phí năm {data.year - 1} chưa giải ngân được chuyển sang chi trong năm "
        f"{data.year}; số này thuộc phân bổ năm {data.year - 1}, không cộng vào phân bổ năm {data.year}. Quyết toán "
        "(đóng): kinh phí không chi hết, không được chi tiếp.",
        11,
        italic=True,
    )

    _para(doc, "III. ĐẦU TƯ CƠ SỞ VẬT CHẤT TRẠM Y TẾ (lũy kế)", bold=True)
    if data.projects:
        table = _table(doc, PROJECT_HEADINGS, PROJECT_WIDTHS)
        for n, p_ in enumerate(data.projects, 1):
            values = [
                str(n),
                p_.get("station_name") or p_["station_code"],
                p_["title"],
                STATUS_VN.get(p_["status"], p_["status"]),
                vnd(p_["capital"]),
                vnd(p_["disbursed"]),
            ]
            _row(table, values, PROJECT_WIDTHS, {4, 5})
        capital = sum(int(p_["capital"]) for p_ in data.projects)
        paid = sum(int(p_["disbursed"]) for p_ in data.projects)
        _row(
            table,
            ["", "TỔNG CỘNG", f"{len(data.projects)} công trình", "", vnd(capital), vnd(paid)],
            PROJECT_WIDTHS,
            {4, 5},
            bold=True,
        )
    else:
        _para(doc, "Không có công trình đầu tư trạm y tế trong phạm vi báo cáo.", indent=True)

    _para(doc, "IV. TÀI CHÍNH GẮN VỚI BHYT (hồ sơ, định suất, tạm ứng theo đối soát từng quý)", bold=True)
    table = _table(doc, BHYT_HEADINGS, BHYT_WIDTHS)
    for q in data.quarters:
        claims, cap, pay = q.get("claims") or {}, q.get("capitation") or {}, q.get("payments") or {}
        _row(
            table,
            [
                quarter_vn(q["period"]),
                str(int(claims.get("count") or 0)),
                money2(claims.get("requested")),
                money2(claims.get("approved")),
                money2(cap.get("fund")),
                money2(cap.get("spend")),
                money2(pay.get("advanced")),
            ],
            BHYT_WIDTHS,
            {1, 2, 3, 4, 5, 6},
        )

    _para(doc, "V. TỒN TẠI, HẠN CHẾ", bold=True)
    for line in (data.sections.get("shortcomings") or "(Đơn vị chưa nhập.)").splitlines():
        if line.strip():
            _para(doc, line.strip(), indent=True)
    _para(doc, "VI. KIẾN NGHỊ, ĐỀ XUẤT", bold=True)
    for line in (data.sections.get("proposals") or "(Đơn vị chưa nhập.)").splitlines():
        if line.strip():
            _para(doc, line.strip(), indent=True)
    _para(
        doc,
        f"Trên đây là báo cáo kết quả thực hiện Kế hoạch số {plan.number} năm {year} của {issuer.name}./.",
        indent=True,
    )

    # Recipients (left) and the signature block (right).
    sign = doc.add_table(rows=1, cols=2)
    _no_borders(sign)
    _widths(sign, [8, 8.5])
    cells = sign.rows[0].cells
    cells[0].text = ""
    _font(cells[0].paragraphs[0].add_run("Nơi nhận:"), 12, bold=True, italic=True)
    for line in ("- Như trên;", f"- {plan.issuer} (để báo cáo);", "- Lưu: VT."):
        _font(cells[0].add_paragraph().add_run(line), 11)
    cells[1].text = ""
    _font(cells[1].paragraphs[0].add_run(issuer.signer), 13, bold=True)
    cells[1].paragraphs[0].alignment = center
    p = cells[1].add_paragraph()
    _font(p.add_run("(Ký, ghi rõ họ tên, đóng dấu)"), 12, italic=True)
    p.alignment = center

    doc.core_properties.title = f"Báo cáo kết quả thực hiện Kế hoạch {plan.number} năm {year}"
    doc.core_properties.author = "YTCS Finance"
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()
