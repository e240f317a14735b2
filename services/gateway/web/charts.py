"""Charts drawn on the server as inline SVG: no script, no external library, readable without internet.

Two shapes people asked for: funding by source over the years (stacked bars, allocated, with the disbursed
part marked) and a capitation fund against its spend per quarter (paired bars). Amounts are integers or
exact decimals; only the drawing coordinates are floats.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from markupsafe import Markup, escape

from services.gateway.web.format import number, vnd

# Colour per funding source (docs/domain.md §2), distinguishable when printed in grey too.
PALETTE = ("#1f5f99", "#e07b00", "#2e8540", "#b8336a", "#6b4c9a", "#008b8b", "#8c6d1f", "#c0392b", "#5d6d7e")
W, H, PAD_L, PAD_B, PAD_T = 640, 260, 90, 40, 16


def _ceil_nice(value: Decimal) -> Decimal:
    """A round axis maximum above value (1, 2, 5 × 10^k)."""
    if value <= 0:
        return Decimal(1)
    exp = len(str(int(value))) - 1
    base = Decimal(10) ** exp
    for step in (1, 2, 5, 10):
        if value <= base * step:
            return base * step
    return base * 10


def _short(value: Decimal) -> str:
    """Axis labels: 1.500.000.000 -> '1,5 tỷ', 300.000.000 -> '300 tr'."""
    if value >= 1_000_000_000:
        return number(value / 1_000_000_000, 1 if value % 1_000_000_000 else 0) + " tỷ"
    if value >= 1_000_000:
        return number(value / 1_000_000, 0) + " tr"
    return number(value)


def _axis(top: Decimal, out: list[str]) -> None:
    plot_h = H - PAD_B - PAD_T
    steps = 4 if str(top)[0] == "2" else 5  # round ticks: 0, 5, 10 … of 2 × 10^k split in 4, else in 5
    # Whole đồng only: an axis up to 1 or 2 (nothing yet, or tiny sums) would tick 0.2 or 0.5, shown rounded as
    # "0, 0, 0, 1, 1, 1".
    steps = min(steps, int(top))
    for i in range(steps + 1):
        v = top * i / steps
        y = H - PAD_B - plot_h * i / steps
        out.append(f'<line x1="{PAD_L}" x2="{W - 10}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>')
        out.append(f'<text x="{PAD_L - 6}" y="{y + 4:.1f}" class="tick" text-anchor="end">{escape(_short(v))}</text>')


def funding_by_source_over_years(
    rows: dict[str, dict[str, dict[str, int]]], names: dict[str, str], title: str
) -> Markup:
    """rows: {year: {source: {"allocated", "disbursed"}}}. One stacked bar per year (allocated by source);
    a dark line inside each segment shows how much of it was disbursed."""
    years = sorted(rows)
    sources = [s for s in names if any(s in rows[y] for y in years)]
    sources += sorted({s for y in years for s in rows[y]} - set(sources))
    if not years:
        return Markup('<p class="muted">Chưa có số liệu để vẽ biểu đồ.</p>')
    totals = [sum(Decimal(p["allocated"]) for p in rows[y].values()) for y in years]
    top = _ceil_nice(max(totals))
    plot_h = H - PAD_B - PAD_T
    slot = (W - PAD_L - 10) / len(years)
    bar = min(70.0, slot * 0.6)
    out = [
        f'<svg class="chart" viewBox="0 0 {W} {H}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    _axis(top, out)
    for i, year in enumerate(years):
        x = PAD_L + slot * i + (slot - bar) / 2
        y = float(H - PAD_B)
        for k, source in enumerate(sources):
            pair = rows[year].get(source)
            if not pair or not pair["allocated"]:
                continue
            h = float(Decimal(pair["allocated"]) / top) * plot_h
            y -= h
            colour = PALETTE[k % len(PALETTE)]
            name = names.get(source, source)
            tip = f"{name} {year}: phân bổ {vnd(pair['allocated'])}, giải ngân {vnd(pair['disbursed'])}"
            out.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" fill="{colour}">'
                f"<title>{escape(tip)}</title></rect>"
            )
            share = min(1.0, float(Decimal(pair["disbursed"]) / Decimal(pair["allocated"])))
            dh = h * share
            out.append(
                f'<rect x="{x + bar * 0.35:.1f}" y="{y + h - dh:.1f}" width="{bar * 0.3:.1f}" height="{dh:.1f}"'
                f' class="disbursed"/>'
            )
        out.append(f'<text x="{x + bar / 2:.1f}" y="{H - PAD_B + 16}" class="tick" text-anchor="middle">{year}</text>')
    out.append("</svg>")
    legend = ['<ul class="legend">']
    for k, source in enumerate(sources):
        legend.append(
            f'<li><span class="swatch" style="background:{PALETTE[k % len(PALETTE)]}"></span>'
            f"{escape(names.get(source, source))}</li>"
        )
    legend.append('<li><span class="swatch disbursed-swatch"></span>Phần đã giải ngân</li></ul>')
    return Markup("".join(out) + "".join(legend))  # noqa: S704 - every text part went through escape()


def fund_vs_spend(quarters: list[tuple[str, Any, Any]], title: str) -> Markup:
    """quarters: [(label, fund, spend)] (decimal strings or ints, None when unknown): paired bars per quarter."""
    if not quarters:
        return Markup('<p class="muted">Chưa có số liệu để vẽ biểu đồ.</p>')
    values = [Decimal(str(v)) for _, f, s in quarters for v in (f, s) if v is not None]
    top = _ceil_nice(max(values) if values else Decimal(0))
    plot_h = H - PAD_B - PAD_T
    slot = (W - PAD_L - 10) / len(quarters)
    bar = min(48.0, slot * 0.32)
    out = [
        f'<svg class="chart" viewBox="0 0 {W} {H}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    _axis(top, out)
    for i, (label, fund, spend) in enumerate(quarters):
        x0 = PAD_L + slot * i + slot / 2 - bar
        for j, (value, cls, name) in enumerate(
            ((fund, "fund", "Quỹ định suất"), (spend, "spend", "Chi trong định suất"))
        ):
            if value is None:
                continue
            d = Decimal(str(value))
            h = float(d / top) * plot_h if d > 0 else 0.0
            x = x0 + j * bar
            tip = f"{label}: {name} {number(d, 2)} đ"
            out.append(
                f'<rect x="{x:.1f}" y="{H - PAD_B - h:.1f}" width="{bar - 2:.1f}" height="{h:.1f}" class="{cls}">'
                f"<title>{escape(tip)}</title></rect>"
            )
        out.append(
            f'<text x="{x0 + bar:.1f}" y="{H - PAD_B + 16}" class="tick" text-anchor="middle">{escape(label)}</text>'
        )
    out.append("</svg>")
    legend = (
        '<ul class="legend"><li><span class="swatch fund"></span>Quỹ định suất</li>'
        '<li><span class="swatch spend"></span>Chi phí trong định suất</li></ul>'
    )
    return Markup("".join(out) + legend)  # noqa: S704 - every text part went through escape()
