"""Draw a Grafana dashboard's panels from a live Prometheus with matplotlib (Grafana itself is not packaged
for Debian or PyPI): each panel at its grid position, its queries run as Grafana would (instant for stat,
gauge, bar gauge and table; a range for time series), legends from `legendFormat`.

    python deploy/grafana/render.py http://127.0.0.1:9090 deploy/grafana/dashboards/funding.json out.png \\
        --var year=2025 --var plan=.* --var quarter=.*

Used by tests/deploy/test_prometheus_live.py on the scenario's data (docs/screenshots/funding.png).
"""

from __future__ import annotations

import argparse
import json
import re
import time
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import requests  # noqa: E402

GRID_W, ROW_H = 24, 0.42  # Grafana's 24 columns; inches per grid row
FIG_W = 20.0


def concrete(expr: str, variables: dict[str, str], range_s: int) -> str:
    expr = expr.replace("$__rate_interval", "1m").replace("$__range", f"{range_s}s")
    for name, value in variables.items():
        expr = expr.replace(f"${name}", value)
    return expr


def legend(fmt: str | None, labels: dict[str, str], expr: str = "") -> str:
    if not fmt:  # a table column: the labels, and which metric (allocated, spend…) the query reads
        what = re.search(r"ytcs_(?:funding_|capitation_)?(\w+?)_vnd", expr)
        named = " ".join(v for k, v in sorted(labels.items()) if k != "__name__")
        return f"{named} {what.group(1) if what else ''}".strip() or "value"
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: labels.get(m.group(1), ""), fmt).strip()


def human(value: float, unit: str | None) -> str:
    if unit == "percentunit":
        return f"{value * 100:.1f}%"
    if abs(value) >= 1e9:
        return f"{value / 1e9:,.2f} tỷ"
    if abs(value) >= 1e6:
        return f"{value / 1e6:,.2f} tr"
    return f"{value:,.0f}" if value == int(value) else f"{value:,.2f}"


class Source:
    def __init__(self, url: str, range_s: int) -> None:
        self.url, self.range_s = url.rstrip("/"), range_s

    def _get(self, path: str, **params: Any) -> list[dict]:
        body = requests.get(f"{self.url}/api/v1/{path}", params=params, timeout=30).json()
        if body.get("status") != "success":
            raise RuntimeError(f"{params.get('query')}: {body}")
        return body["data"]["result"]

    def instant(self, expr: str) -> list[dict]:
        return self._get("query", query=expr)

    def series(self, expr: str) -> list[dict]:
        end = time.time()
        step = max(1, self.range_s // 200)
        return self._get("query_range", query=expr, start=end - self.range_s, end=end, step=step)


def panels(board: dict) -> list[dict]:
    out = []
    for panel in board.get("panels", []):
        out.append(panel)
        out.extend(panel.get("panels", []))
    return out


def render(url: str, dashboard: Path, out: Path, variables: dict[str, str], range_s: int = 900) -> dict[str, int]:
    """Draw the dashboard to `out` (PNG). Returns, per panel title, how many series it drew."""
    board = json.loads(dashboard.read_text(encoding="utf-8"))
    src = Source(url, range_s)
    items = panels(board)
    bottom = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in items)
    fig = plt.figure(figsize=(FIG_W, bottom * ROW_H + 0.8))
    fig.suptitle(f"{board['title']} — " + ", ".join(f"{k}={v}" for k, v in variables.items()), fontsize=14)
    drawn: dict[str, int] = {}
    for panel in items:
        g = panel["gridPos"]
        title = concrete(panel.get("title", ""), variables, range_s)
        left, width = g["x"] / GRID_W, g["w"] / GRID_W
        top = 1 - (g["y"] * ROW_H + 0.6) / (bottom * ROW_H + 0.8)
        height = g["h"] * ROW_H / (bottom * ROW_H + 0.8)
        if panel["type"] == "row":
            fig.text(left + 0.005, top - height / 2, title, fontsize=12, fontweight="bold", va="center")
            continue
        pad = 0.3 * width if panel["type"] in ("bargauge", "table") else 0.03  # room for the bars' names
        ax = fig.add_axes((left + pad, top - height + 0.012, width - pad - 0.02, height - 0.03))
        fig.text(left + 0.012, top - 0.004, title, fontsize=10, va="top")
        unit = panel.get("fieldConfig", {}).get("defaults", {}).get("unit")
        targets = [t for t in panel.get("targets", []) if t.get("expr")]
        if panel["type"] == "timeseries":
            n = 0
            for t in targets:
                for s in src.series(concrete(t["expr"], variables, range_s)):
                    xs = [float(v[0]) - time.time() for v in s["values"]]
                    ys = [float(v[1]) for v in s["values"]]
                    ax.plot([x / 60 for x in xs], ys, label=legend(t.get("legendFormat"), s["metric"]))
                    n += 1
            ax.set_xlabel("minutes", fontsize=8)
            if n:
                ax.legend(fontsize=7, loc="upper left")
            drawn[title] = n
        else:
            rows = []
            for t in targets:
                for s in src.instant(concrete(t["expr"], variables, range_s)):
                    rows.append((legend(t.get("legendFormat"), s["metric"], t["expr"]), float(s["value"][1])))
            drawn[title] = len(rows)
            if panel["type"] in ("stat", "gauge"):
                ax.axis("off")
                text = "\n".join(f"{name}: {human(v, unit)}" for name, v in rows[:6]) or "no data"
                ax.text(0.5, 0.45, text, ha="center", va="center", fontsize=13 if len(rows) < 3 else 10)
            else:  # bar gauge and table: one bar per row, its value written beside it
                rows = rows[:20]
                names = [r[0] for r in rows][::-1]
                values = [r[1] for r in rows][::-1]
                ax.barh(range(len(rows)), values, color="#3274d9")
                ax.set_yticks(range(len(rows)), names, fontsize=7)
                for i, v in enumerate(values):
                    ax.text(v, i, " " + human(v, unit), va="center", fontsize=7)
                ax.tick_params(axis="x", labelsize=7)
                if not rows:
                    ax.text(0.5, 0.5, "no data", ha="center", transform=ax.transAxes)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=80)
    plt.close(fig)
    return drawn


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("prometheus")
    parser.add_argument("dashboard", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--var", action="append", default=[], help="name=value for $name")
    parser.add_argument("--range", type=int, default=900, help="seconds of history for time series")
    args = parser.parse_args(argv)
    drawn = render(args.prometheus, args.dashboard, args.out, dict(v.split("=", 1) for v in args.var), args.range)
    for title, n in drawn.items():
        print(f"{n:4d}  {title}")
    return 0 if all(drawn.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
