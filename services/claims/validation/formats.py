"""QĐ 4750's field rules on fields the decoder keeps as text: shapes, and the order of a line's times.

The vendor sheet (reference/qd4750_validation_sheet.csv) gives these rules explicitly: `SO_CCCD` 9 or 12
digits or a capital letter and 7 digits; `MA_TTDV` 10 digits; `MA_NOI_DI`/`MA_NOI_DEN` a facility code as in
QĐ 4210; `NAM_NAM_LIEN_TUC` a date like `NGAY_MIEN_CCT`; `GOI_VTYT` G and 1–999; `VET_THUONG_TP` and
`TAI_SU_DUNG` empty or 1; `NGAY_VAO_NOI_TRU ≥ NGAY_VAO`; `NGAY_TH_YL ≥ NGAY_YL` (XML2, XML3); `NGAY_KQ ≥
NGAY_YL` (XML3). `MA_KHOA` is checked against the shape of the codes of Phụ lục 5, QĐ 5937/QĐ-BYT (`K` and two
digits, several joined by `;` in XML1): the list itself is not in our reference data.

Severity: a wrong shape is a `field_format` warning and a line's times out of order a `line_date_order`
warning — none of these fields decides who is paid, how much, or for which visit, and BHXH's assessment
judges the line. Only `NGAY_VAO_NOI_TRU` before `NGAY_VAO` is `date_order` (critical): the stay's own dates
out of order. A time that cannot be read (`999999999999`) is `field_format`, not `value_invalid`: these
fields are not typed by the decoder and real exports write such values.
One issue per table and field of a record: the first offending line is named, with how many there are.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from services.claims.domain import values
from services.claims.domain.records import Claim, Issue
from services.claims.domain.values import field_text
from services.claims.validation.catalog import Rule, make_issue
from services.claims.validation.context import ValidationContext
from services.common import facility_code

_Q130 = "QĐ 130/QĐ-BYT, sửa đổi bởi QĐ 4750/QĐ-BYT"
_SHEET = "bảng kiểm tra QĐ 4750 của nhà cung cấp phần mềm"


def _digits(text: str, *lengths: int) -> bool:
    return len(text) in lengths and text.isascii() and text.isdigit()


def _cccd(text: str) -> bool:
    return _digits(text, 9, 12) or (len(text) == 8 and "A" <= text[0] <= "Z" and _digits(text[1:], 7))


def _facility(text: str) -> bool:
    return facility_code.normalise(text) is not None


def _khoa(text: str) -> bool:
    return len(text) == 3 and text[0] == "K" and _digits(text[1:], 2)


def _khoa_list(text: str) -> bool:
    return all(_khoa(part.strip()) for part in text.split(";"))


def _day(text: str) -> bool:
    try:
        values.day(text)
    except values.BadValue:
        return False
    return True


_TIMES = values.timestamp_c  # memoised: order times repeat within a file, and _moment reads the same text again


def _time(text: str) -> bool:
    if text in _TIMES.cache:
        return True
    try:
        _TIMES(text)
    except values.BadValue:
        return False
    return True


def _goi(text: str) -> bool:
    return 2 <= len(text) <= 4 and text[0] == "G" and _digits(text[1:], 1, 2, 3) and int(text[1:]) >= 1


def _one(text: str) -> bool:
    return text == "1"


# (tables, field, test, what the value must be, basis)
Shape = tuple[tuple[str, ...], str, Callable[[str], bool], str, str]
SHAPES: tuple[Shape, ...] = (
    (("XML1",), "SO_CCCD", _cccd, "9 hoặc 12 chữ số, hoặc 1 chữ in hoa và 7 chữ số", f"{_Q130} Bảng 1; {_SHEET}"),
    (("XML1",), "MA_TTDV", lambda t: _digits(t, 10), "10 chữ số", f"{_Q130} Bảng 1; {_SHEET}"),
    (("XML1",), "MA_NOI_DI", _facility, "mã cơ sở KCB gồm 5 ký tự chữ hoặc số", f"{_Q130} Bảng 1; {_SHEET}"),
    (("XML1",), "MA_NOI_DEN", _facility, "mã cơ sở KCB gồm 5 ký tự chữ hoặc số", f"{_Q130} Bảng 1; {_SHEET}"),
    (("XML1",), "NAM_NAM_LIEN_TUC", _day, "ngày yyyymmdd (như NGAY_MIEN_CCT)", f"{_Q130} Bảng 1; {_SHEET}"),
    (("XML1",), "NGAY_VAO_NOI_TRU", _time, "ngày giờ yyyymmddHHMM", f"{_Q130} Bảng 1"),
    (("XML1",), "MA_KHOA", _khoa_list, "mã khoa dạng Knn (Phụ lục 5 QĐ 5937/QĐ-BYT), nhiều khoa cách nhau bởi “;”",
     f"{_Q130} Bảng 1; QĐ 5937/QĐ-BYT phụ lục 5"),
    (("XML2", "XML3"), "MA_KHOA", _khoa, "mã khoa dạng Knn (Phụ lục 5 QĐ 5937/QĐ-BYT)",
     f"{_Q130} Bảng 2–3; QĐ 5937/QĐ-BYT phụ lục 5; {_SHEET}"),
    (("XML2", "XML3"), "VET_THUONG_TP", _one, "để trống hoặc 1", f"{_Q130} Bảng 2–3; {_SHEET}"),
    (("XML2", "XML3"), "NGAY_TH_YL", _time, "ngày giờ yyyymmddHHMM", f"{_Q130} Bảng 2–3"),
    (("XML3",), "GOI_VTYT", _goi, "chữ G và số từ 1 đến 999", f"{_Q130} Bảng 3; {_SHEET}"),
    (("XML3",), "TAI_SU_DUNG", _one, "để trống hoặc 1", f"{_Q130} Bảng 3; {_SHEET}"),
    (("XML3",), "NGAY_KQ", _time, "ngày giờ yyyymmddHHMM", f"{_Q130} Bảng 3"),
    (("XML4",), "NGAY_KQ", _time, "ngày giờ yyyymmddHHMM", f"{_Q130} Bảng 4"),
    (("XML5",), "THOI_DIEM_DBLS", _time, "ngày giờ yyyymmddHHMM", f"{_Q130} Bảng 5"),
)

RULES: tuple[Rule, ...] = tuple(
    Rule("field_format", ", ".join(tables), name, f"{name}: {what}", basis) for tables, name, _, what, basis in SHAPES
)

_BY_TABLE: dict[str, tuple[tuple[str, Callable[[str], bool], str], ...]] = {
    table: tuple((name, test, what) for tables, name, test, what, _ in SHAPES if table in tables)
    for table in ("XML1", "XML2", "XML3", "XML4", "XML5")
}


# The hot loop's view of _BY_TABLE: per field, its test's verdicts on the texts already seen, for the codes
# (few distinct texts in a file; every test is a pure function of the text). Times and personal numbers are
# nearly all distinct: remembering them would only churn (times have the decoder's memo, see `_time`).
_CODES = frozenset({"MA_KHOA", "VET_THUONG_TP", "GOI_VTYT", "TAI_SU_DUNG", "MA_TTDV", "MA_NOI_DI", "MA_NOI_DEN"})
_Verdicts = dict[str, bool]


def _compile(name: str, test: Callable[[str], bool], what: str) -> tuple:  # type: ignore[type-arg]
    """(name, test, what, known, verdicts): a text is good when ``known`` maps it to a true value — the codes'
    own verdicts, or for times the decoder's memo, which holds only readable 12-digit texts — else the test
    judges it (and ``verdicts``, when not None, remembers)."""
    verdicts: _Verdicts | None = {} if name in _CODES else None
    known = verdicts if verdicts is not None else _TIMES.cache if test is _time else None
    return name, test, what, known, verdicts


_COMPILED: dict[str, tuple[tuple, ...]] = {  # type: ignore[type-arg]
    table: tuple(_compile(name, test, what) for name, test, what in shapes) for table, shapes in _BY_TABLE.items()
}
_MEMO_MAX = 10_000  # texts remembered per field: bounded whatever the file


def _passes(test: Callable[[str], bool], raw: str, seen: _Verdicts | None) -> bool:
    """Whether the text as written passes (blank passes: nothing is written), remembered in ``seen``."""
    ok = seen.get(raw) if seen is not None else None
    if ok is None:
        text = raw.strip()
        ok = not text or test(text)
        if seen is not None:
            if len(seen) >= _MEMO_MAX:
                seen.clear()
            seen[raw] = ok
    return ok


def check(claim: Claim, ctx: ValidationContext, out: list[Issue]) -> None:
    get = claim.fields.get
    for name, test, what, known, seen in _COMPILED["XML1"]:
        raw = get(name)
        if raw and not ((known and known.get(raw)) or _passes(test, raw, seen)):
            out.append(make_issue("field_format", table="XML1", field=name, ma_lk=claim.ma_lk, value=raw.strip(),
                                  detail=f"phải là {what}"))
    _inpatient(claim, out)
    # Lines and XML4/XML5 rows: one issue per (table, field), naming the first offending row.
    found: dict[tuple[str, str], list] = {}
    order_th: dict[str, list] = {}
    order_kq: list = []
    moments = _TIMES.cache.get  # `_moment_of` on its usual path, without the call
    for line in claim.lines:  # the hot loop: most of these fields are empty
        v = line.fields
        get = v.get
        for name, test, what, known, seen in _COMPILED[line.table]:
            raw = get(name)
            if raw and not ((known and known.get(raw)) or _passes(test, raw, seen)):  # known good, else judged
                found.setdefault((line.table, name), []).append((line.index, line.stt, raw.strip(), what))
        ordered = line.ngay_yl
        if ordered is None:
            continue
        raw = get("NGAY_TH_YL")
        if raw:
            done = moments(raw) or _moment_of(raw)
            if done is not None and done < ordered:
                order_th.setdefault(line.table, []).append((line, done))
        raw = get("NGAY_KQ") if line.table == "XML3" else None
        if raw:
            result = _moment_of(raw)
            if result is not None and result < ordered:
                order_kq.append((line, result))
    for table in ("XML4", "XML5") if claim.details else ():  # most records have neither
        for n, row in enumerate(claim.details.get(table, ()), 1):
            for name, test, what in _BY_TABLE[table]:
                text = field_text(row, name)
                if text is not None and not test(text):
                    stt = field_text(row, "STT")
                    found.setdefault((table, name), []).append(
                        (n, int(stt) if stt and stt.isdigit() and len(stt) < 10 else None, text, what)
                    )
    for (table, name), rows in found.items():
        index, stt, text, what = rows[0]
        more = f" ({len(rows)} dòng)" if len(rows) > 1 else ""
        out.append(make_issue("field_format", table=table, field=name, ma_lk=claim.ma_lk, value=text,
                              line=index, stt=stt, detail=f"phải là {what}{more}"))
    for table, pairs in order_th.items():
        out.append(_order_issue(claim, table, "NGAY_TH_YL", "thực hiện y lệnh", pairs))
    if order_kq:
        out.append(_order_issue(claim, "XML3", "NGAY_KQ", "có kết quả", order_kq))


def _moment(fields: dict[str, str | None], name: str) -> datetime | None:
    text = field_text(fields, name)
    if text is None:
        return None
    try:
        return _TIMES(text)  # type: ignore[return-value]
    except values.BadValue:
        return None  # field_format says so


def _moment_of(raw: str) -> datetime | None:
    """`_moment` of a field written as ``raw``. The decoder's memo holds only readable 12-digit texts (no blanks
    to strip), so a text found there is its own moment."""
    moment = _TIMES.cache.get(raw)
    return moment if moment is not None else _moment({"": raw}, "")  # type: ignore[return-value]


def _fmt(moment: datetime) -> str:
    return moment.strftime("%d/%m/%Y %H:%M")


def _order_issue(claim: Claim, table: str, name: str, what: str, pairs: list) -> Issue:
    line, moment = pairs[0]
    more = f" ({len(pairs)} dòng)" if len(pairs) > 1 else ""
    return make_issue(
        "line_date_order", table=table, field=name, ma_lk=claim.ma_lk, line=line.index, stt=line.stt,
        detail=f"thời điểm {what} ({_fmt(moment)}) trước thời điểm y lệnh NGAY_YL ({_fmt(line.ngay_yl)}){more}",
    )


def _inpatient(claim: Claim, out: list[Issue]) -> None:
    """NGAY_VAO_NOI_TRU ≥ NGAY_VAO: the stay's own dates, critical like NGAY_RA ≥ NGAY_VAO."""
    vao = claim.ngay_vao
    if vao is None:
        return
    admitted = _moment(claim.fields, "NGAY_VAO_NOI_TRU")
    if admitted is not None and admitted < vao:
        out.append(make_issue(
            "date_order", table="XML1", field="NGAY_VAO_NOI_TRU", ma_lk=claim.ma_lk,
            detail=f"NGAY_VAO_NOI_TRU ({_fmt(admitted)}) trước NGAY_VAO ({_fmt(vao)})",
        ))
