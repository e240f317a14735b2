"""Decode one HOSO's tables into a typed ``Claim``.

XML1 (TONG_HOP), XML2 (drug lines) and XML3 (service/supply lines) are read field by field;
XML4..XML15 are only checked to be safe, well-formed XML and kept verbatim. A QĐ 4210 record
(MA_THE, T_TONGCHI, THANH_TIEN…) maps onto the same Claim. Elements are matched by local name,
so namespace declarations, CDATA and indentation make no difference.

This is the intake's hot path: the fields of each record element come as a dict from the compiled
reader (``flatxml``, no Python object per XML element); each table is described once as a spec (field,
attribute, converter) and read by one loop; converters are memoised (see ``values.Memo``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal

from lxml import etree

from services.claims.domain import values
from services.claims.domain.records import NAMES_4210, Claim, ClaimLine, Issue, Standard
from services.claims.parsing import flatxml as flat
from services.claims.parsing.envelope import EnvelopeHeader, RawRecord
from services.claims.parsing.notes import BIRTH_DATE_PARTIAL, TABLE_ROOT_UNWRAPPED
from services.claims.parsing.safexml import UnsafeXML, local_name, read_document
from services.claims.validation.catalog import make_issue

TABLE_ROOTS = {"XML1": "TONG_HOP", "XML2": "CHITIEU_CHITIET_THUOC", "XML3": "CHITIEU_CHITIET_DVKT_VTYT"}
# QĐ 4210 (and some QĐ 130 exporters) root a table at its list, without the CHITIEU_* wrapper.
UNWRAPPED_ROOTS = {
    "XML2": "DSACH_CHI_TIET_THUOC", "XML3": "DSACH_CHI_TIET_DVKT", "XML4": "DSACH_CHI_TIET_CLS",
    "XML5": "DSACH_CHI_TIET_DIEN_BIEN_BENH",
}
LINE_TAGS = {"XML2": "CHI_TIET_THUOC", "XML3": "CHI_TIET_DVKT"}  # the row element of each lines table
KNOWN_TABLES = frozenset(f"XML{i}" for i in range(1, 16))
ZERO = Decimal("0.00")

# Other spellings of a field -> its QĐ 130 names: ``Claim.invalid`` is keyed by the QĐ 130 name
# too, so that the validators, which speak QĐ 130, know the value was junk rather than missing.
_AS_130 = {
    **{old: (new,) for new, old in NAMES_4210.items() if old not in ("THANH_TIEN", "DON_GIA", "T_TONGCHI")},
    "T_TONGCHI": ("T_TONGCHI_BV", "T_TONGCHI_BH"),
    "THANH_TIEN": ("THANH_TIEN_BV", "THANH_TIEN_BH"),
    "DON_GIA": ("DON_GIA_BV", "DON_GIA_BH"),
    "TY_LE_TT": ("TYLE_TT_BH",),
}


def _choice(allowed: frozenset[str], reason: str) -> Callable[[str], str]:
    def conv(text: str) -> str:
        if text in allowed:
            return text
        raise values.BadValue(reason)

    return conv


_LOAI_KCB = frozenset(f"{i:02d}" for i in range(1, 11))


def _gender(text: str) -> int:
    if text in ("1", "2", "3"):
        return int(text)
    raise values.BadValue("phải là 1 (nam), 2 (nữ) hoặc 3 (chưa xác định)")


def _loai_kcb(text: str) -> str:
    code = values.code2(text)
    if code in _LOAI_KCB:
        return code
    raise values.BadValue("MA_LOAI_KCB phải là mã 01–10 của Bộ mã DMDC")


def _year(text: str) -> int:
    year = values.integer(text)
    if 2000 <= year <= 2100:
        return year
    raise values.BadValue("năm phải gồm 4 chữ số")


def _month(text: str) -> int:
    month = values.integer(text)
    if 1 <= month <= 12:
        return month
    raise values.BadValue("tháng phải từ 1 đến 12")


def _facility_list(text: str) -> str:
    for part in text.split(";"):
        values.facility_code(part.strip())
    return text


def _text(text: str) -> str:
    return text


def _icd(text: str) -> str | None:
    return values.icd(text) or None


# Converters. In a spec entry (field, attribute, converter, zero_if_empty) the flag reads an empty
# amount as 0: the standard's "other" amounts, checked against the lines afterwards.
_STR = _text
_INT = values.integer_c
_DEC = values.decimal_c
_MONEY = values.money_c
_TIME = values.timestamp_c
_PTTT = _choice(frozenset("123"), "MA_PTTT phải là 1 (phí dịch vụ), 2 (định suất) hoặc 3 (DRG)")
_PHAM_VI = _choice(frozenset("123"), "PHAM_VI phải là 1, 2 hoặc 3")

Spec = tuple[tuple[str, str, Callable[[str], object], bool], ...]
# (text fields: (name, attribute)), (typed fields: (name, attribute, converter, zero_if_empty, known answers))
_Compiled = tuple[
    tuple[tuple[str, str], ...],
    tuple[tuple[str, str, Callable[[str], object], bool, "dict[str, object]"], ...],
]

_XML1_130: Spec = (
    ("STT", "stt", _INT, False), ("MA_BN", "ma_bn", _STR, False), ("HO_TEN", "ho_ten", _STR, False),
    ("SO_CCCD", "so_cccd", _STR, False), ("NGAY_SINH", "ngay_sinh", values.birth_date, False),
    ("GIOI_TINH", "gioi_tinh", _gender, False), ("DIA_CHI", "dia_chi", _STR, False),
    ("DIEN_THOAI", "dien_thoai", _STR, False), ("MA_THE_BHYT", "ma_the_bhyt", _STR, False),
    ("MA_DKBD", "ma_dkbd", _facility_list, False), ("GT_THE_TU", "gt_the_tu", _STR, False),
    ("GT_THE_DEN", "gt_the_den", _STR, False), ("MA_BENH_CHINH", "ma_benh_chinh", _icd, False),
    ("MA_BENH_KT", "ma_benh_kt", values.icd_list, False), ("MA_LOAI_KCB", "ma_loai_kcb", _loai_kcb, False),
    ("MA_CSKCB", "ma_cskcb", values.facility_code, False), ("NGAY_VAO", "ngay_vao", _TIME, False),
    ("NGAY_RA", "ngay_ra", _TIME, False), ("NAM_QT", "nam_qt", _year, False), ("THANG_QT", "thang_qt", _month, False),
    ("T_TONGCHI_BV", "t_tongchi_bv", _MONEY, False), ("T_TONGCHI_BH", "t_tongchi_bh", _MONEY, False),
    ("T_BNTT", "t_bntt", _MONEY, True), ("T_BNCCT", "t_bncct", _MONEY, True), ("T_BHTT", "t_bhtt", _MONEY, False),
    ("T_NGUONKHAC", "t_nguonkhac", _MONEY, True), ("T_BHTT_GDV", "t_bhtt_gdv", _MONEY, True),
    ("T_THUOC", "t_thuoc", _MONEY, True), ("T_VTYT", "t_vtyt", _MONEY, True),
    ("SO_NGAY_DTRI", "so_ngay_dtri", _INT, False), ("NGAY_MIEN_CCT", "ngay_mien_cct", _STR, False),
    ("MA_DOITUONG_KCB", "ma_doituong_kcb", _STR, False), ("MA_KHOA", "ma_khoa", _STR, False),
)
_XML1_4210: Spec = tuple(
    (NAMES_4210.get(name, name), attr, conv, zero) for name, attr, conv, zero in _XML1_130 if name != "T_TONGCHI_BH"
)

_LINE_COMMON: Spec = (
    ("STT", "stt", _INT, False), ("MA_LK", "ma_lk", _STR, False), ("SO_LUONG", "quantity", _DEC, False),
    ("TYLE_TT_BH", "tyle_tt_bh", _DEC, False), ("THANH_TIEN_BV", "thanh_tien_bv", _MONEY, False),
    ("THANH_TIEN_BH", "thanh_tien_bh", _MONEY, False), ("MUC_HUONG", "muc_huong", _DEC, False),
    ("T_NGUONKHAC", "t_nguonkhac", _MONEY, True), ("T_BNTT", "t_bntt", _MONEY, True),
    ("T_BNCCT", "t_bncct", _MONEY, True), ("T_BHTT", "t_bhtt", _MONEY, False), ("MA_PTTT", "ma_pttt", _PTTT, False),
    ("MA_NHOM", "ma_nhom", _STR, False), ("PHAM_VI", "pham_vi", _PHAM_VI, False), ("MA_KHOA", "ma_khoa", _STR, False),
    ("NGAY_YL", "ngay_yl", _TIME, False), ("MA_DICH_VU", "ma_dich_vu", _STR, False),
)
_XML2_130: Spec = (
    *_LINE_COMMON, ("MA_THUOC", "item_code", _STR, False), ("TEN_THUOC", "name", _STR, False),
    ("DON_GIA", "unit_price", _DEC, False),
)
_XML3_130: Spec = (
    *_LINE_COMMON, ("MA_VAT_TU", "ma_vat_tu", _STR, False), ("TEN_DICH_VU", "name", _STR, False),
    ("TEN_VAT_TU", "ten_vat_tu", _STR, False), ("DON_GIA_BV", "unit_price", _DEC, False),
    ("DON_GIA_BH", "unit_price_bh", _DEC, False), ("TYLE_TT_DV", "tyle_tt_dv", _DEC, False),
)


def _as_4210(spec: Spec) -> Spec:
    # One THANH_TIEN serves both amounts in QĐ 4210: read it once (copied to thanh_tien_bh after).
    return tuple((NAMES_4210.get(n, n), a, c, z) for n, a, c, z in spec if n not in ("THANH_TIEN_BH", "DON_GIA_BH"))


# Every answer of the small closed converters, so that the loop looks them up like a memo's cache.
_ANSWERS: dict[Callable[[str], object], dict[str, object]] = {
    _gender: {"1": 1, "2": 2, "3": 3}, _PTTT: {c: c for c in "123"}, _PHAM_VI: {c: c for c in "123"},
}
_NO_ANSWERS: dict[str, object] = {}  # never written


def _compile(spec: Spec) -> _Compiled:
    """Text fields apart (nothing to convert), and each converter's known answers (a memo's cache, or
    ``_ANSWERS``) exposed so the loop looks values up without a call."""
    texts = tuple((n, a) for n, a, c, _ in spec if c is _STR)
    typed = tuple(
        (n, a, c, z, c.cache if isinstance(c, values.Memo) else _ANSWERS.get(c, _NO_ANSWERS))
        for n, a, c, z in spec if c is not _STR
    )
    return texts, typed


_SPECS: dict[tuple[str, str], _Compiled] = {
    ("XML1", "130"): _compile(_XML1_130), ("XML1", "4210"): _compile(_XML1_4210),
    ("XML2", "130"): _compile(_XML2_130), ("XML3", "130"): _compile(_XML3_130),
    ("XML2", "4210"): _compile(_as_4210(_XML2_130)), ("XML3", "4210"): _compile(_as_4210(_XML3_130)),
}


def _read(v: dict[str, str | None], spec: _Compiled, table: str, index: int, ma_lk: str | None,
          issues: list[Issue], invalid: set[str]) -> dict[str, object]:
    """Typed values of one element by its spec; junk becomes value_invalid and None."""
    texts, typed = spec
    get = v.get
    out: dict[str, object] = {attr: (raw.strip() or None) if (raw := get(name)) else None for name, attr in texts}
    for name, attr, conv, zero, cache in typed:
        raw = get(name)
        # A key of the cache is a trimmed text already read: the common case needs no strip and no call.
        value = cache.get(raw)  # type: ignore[arg-type]
        if value is not None:
            out[attr] = value
            continue
        if raw:
            raw = raw.strip()
        if not raw:
            if name == "TYLE_TT_BH" and v.get("TY_LE_TT"):  # a QĐ 4210 spelling some exports use
                name, raw = "TY_LE_TT", v["TY_LE_TT"].strip()  # type: ignore[union-attr]
            else:
                out[attr] = ZERO if zero else None
                continue
        value = cache.get(raw)
        if value is not None:
            out[attr] = value
            continue
        try:
            value = conv(raw)
        except values.BadValue as exc:
            out[attr] = None
            stt = out.get("stt") if index else None
            issues.append(make_issue(
                "value_invalid", table=table, field=name, ma_lk=ma_lk, value=raw,
                line=index or None, stt=stt if isinstance(stt, int) else None, detail=exc.detail,
            ))
            invalid.add(f"{table}:{index}:{name}")
            for alias in _AS_130.get(name, ()):
                invalid.add(f"{table}:{index}:{alias}")
            continue
        out[attr] = value
    return out


# XML4 (paraclinical results) and XML5 (clinical course): rows kept as text dicts for validation/ (the tables
# themselves are stored verbatim); the row tags are the same in QĐ 130 and QĐ 4210.
DETAIL_TAGS = {"XML4": "CHI_TIET_CLS", "XML5": "CHI_TIET_DIEN_BIEN_BENH"}
ROW_TAGS = {**LINE_TAGS, **DETAIL_TAGS}  # every table read row by row (flatxml.rows), by table


def decode_record(raw: RawRecord, header: EnvelopeHeader | None = None) -> tuple[Claim | None, list[Issue]]:
    """One HOSO -> (Claim or None, issues). None when a table cannot be read or XML1 is absent:
    money cannot be checked on half a record. Never raises on content. ``header`` is accepted for
    symmetry with the reader; the envelope facility is compared in validation, not here."""
    issues: list[Issue] = []
    unreadable = dict(raw.errors)
    roots: dict[str, etree._Element] = {}
    unwrapped: list[str] = []
    for name, data in raw.tables.items():
        if name not in KNOWN_TABLES:
            issues.append(make_issue("table_unknown", table=name[:20], value=name))
            continue
        try:
            root, repairs = read_document(data)
        except UnsafeXML as exc:
            unreadable[name] = str(exc)
            continue
        raw.notes.extend((kind, name) for kind in repairs)
        expected = TABLE_ROOTS.get(name)
        if expected is not None and local_name(root.tag) != expected:
            if local_name(root.tag) != UNWRAPPED_ROOTS.get(name):
                unreadable[name] = f"phần tử gốc phải là {expected}"
                continue
            unwrapped.append(name)
        roots[name] = root

    v1 = flat.fields(roots["XML1"]) if "XML1" in roots else {}
    ma_lk = (v1.get("MA_LK") or "").strip() or None
    if ma_lk is None and (unreadable or "XML1" not in roots):
        ma_lk = _visit_named_by(roots.values())
    for name, reason in unreadable.items():
        table = name if name in KNOWN_TABLES else None
        issues.append(make_issue("record_unreadable", table=table, ma_lk=ma_lk, detail=reason))
    if "XML1" not in roots and not unreadable:
        issues.append(make_issue("missing_field", table="XML1", ma_lk=ma_lk, what="bảng tổng hợp XML1 trong HOSO"))
    if unreadable or "XML1" not in roots:
        return None, issues

    invalid: set[str] = set()
    claim = _claim(raw.index, v1, ma_lk, issues, invalid)
    if claim.standard == "130":  # QĐ 4210's own layout is no repair
        raw.notes.extend((TABLE_ROOT_UNWRAPPED, name) for name in unwrapped)
    if claim.ngay_sinh_raw is not None and len(claim.ngay_sinh_raw) < 8:
        raw.notes.append((BIRTH_DATE_PARTIAL, "XML1"))
    for table in ("XML2", "XML3"):
        if table in roots:
            _lines(claim, table, roots[table], issues, invalid)
    if claim.standard == "4210" and not (v1.get("T_NGOAIDS") or "").strip():
        # QĐ 4210 has no T_BHTT_GDV (its T_NGOAIDS, when written, was read in its place);
        # QĐ 130 defines it as Σ line T_BHTT with MA_PTTT = 1.
        claim.t_bhtt_gdv = sum(
            (ln.t_bhtt for ln in claim.lines if ln.ma_pttt == "1" and ln.t_bhtt is not None), ZERO
        )
    for name, root in roots.items():
        if name not in TABLE_ROOTS:
            claim.other_tables[name] = raw.tables[name]
            if name in DETAIL_TAGS:  # each row as field name -> text as written
                claim.details[name] = flat.rows(root, DETAIL_TAGS[name])
            linked = next(root.iter("{*}MA_LK"), None)
            text = (linked.text or "").strip() if linked is not None else ""
            if text and ma_lk and text != ma_lk:
                issues.append(make_issue("ma_lk_mismatch", table=name, field="MA_LK", ma_lk=ma_lk, value=text))
    return claim, issues


def _visit_named_by(roots: Iterable[etree._Element]) -> str | None:
    """The MA_LK the readable tables of a rejected record agree on, when XML1 cannot say it (damaged or absent):
    the hospital finds the visit to send again by it. Tables that name different visits name none: never a guess."""
    links = {text for root in roots for el in root.iter("{*}MA_LK") if (text := (el.text or "").strip())}
    return links.pop() if len(links) == 1 else None


def _claim(index: int, v: dict[str, str | None], ma_lk: str | None, issues: list[Issue], invalid: set[str]) -> Claim:
    standard: Standard = (
        "4210" if ("MA_THE" in v or "T_TONGCHI" in v) and "MA_THE_BHYT" not in v and "T_TONGCHI_BV" not in v
        else "130"
    )
    f = _read(v, _SPECS["XML1", standard], "XML1", 0, ma_lk, issues, invalid)
    if standard == "4210":
        f["t_tongchi_bh"] = f["t_tongchi_bv"]
    birth = f.pop("ngay_sinh")
    f["ngay_sinh"], f["ngay_sinh_partial"] = birth if birth is not None else (None, False)  # type: ignore[misc]
    if f["ngay_sinh_partial"]:  # kept as written: yyyy, yyyymm, or with 00 for the day or month
        f["ngay_sinh_raw"] = (v.get("NGAY_SINH") or "").strip()
    if f["ma_benh_kt"] is None:
        f["ma_benh_kt"] = []
    return Claim(record_index=index, standard=standard, ma_lk=ma_lk, lines=[], other_tables={}, invalid=invalid,
                 fields=v, **f)  # type: ignore[arg-type]


def _lines(claim: Claim, table: str, root: etree._Element, issues: list[Issue], invalid: set[str]) -> None:
    spec = _SPECS[table, claim.standard]
    drugs = table == "XML2"
    ma_lk = claim.ma_lk
    foreign_link_reported = False
    for index, v in enumerate(flat.rows(root, LINE_TAGS[table]), 1):
        f = _read(v, spec, table, index, ma_lk, issues, invalid)
        if claim.standard == "4210":  # one THANH_TIEN serves both amounts
            f["thanh_tien_bh"] = f["thanh_tien_bv"]
        if drugs:
            f["unit_price_bh"] = f["unit_price"]
        else:
            # A supply line is named by MA_VAT_TU/TEN_VAT_TU, a service by MA_DICH_VU/TEN_DICH_VU.
            supply_name = f.pop("ten_vat_tu", None)
            f["item_code"] = f["ma_vat_tu"] or f["ma_dich_vu"]
            f["name"] = (supply_name or f["name"]) if f["ma_vat_tu"] else (f["name"] or supply_name)
            if f.get("unit_price_bh") is None and not claim.is_invalid(table, index, "DON_GIA_BH"):
                f["unit_price_bh"] = f["unit_price"]
        line = ClaimLine(table=table, index=index, fields=v, **f)  # type: ignore[arg-type]
        claim.lines.append(line)
        line_lk = line.ma_lk
        if line_lk and ma_lk and line_lk != ma_lk and not foreign_link_reported:
            foreign_link_reported = True
            issues.append(make_issue(
                "ma_lk_mismatch", table=table, field="MA_LK", ma_lk=ma_lk, value=line_lk, line=index, stt=line.stt,
            ))
