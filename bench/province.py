"""A loaded province for the query benchmarks, built through the gateway's own API (what users would do).

    .venv/bin/python -m bench.province --var bench/out/province   # build into a data folder, then stop

Both seed plans (158/KH-UBND and 34/KH-UBND), the 145 commune stations of the seed register, and:
- finance, 5 fiscal years (2020–2024): for each year, item and source a province allocation, passed on to all
  15 districts (those of district 910 land in plan 34/KH-UBND), and for the station items passed on again to every
  station of the district; one disbursement per district and station allocation, one adjustment per district;
- investment: one project per station (145), capital in each of the 5 years, one disbursement per capital;
- claims: a year (2024, 4 quarters) for `facilities` facilities, one generated QĐ 130 file per facility-quarter
  uploaded to `POST /api/v1/claims/files`; the first facility's 2024-Q1 claims partly assessed (giám định);
  a capitation fund and an advance for every facility-quarter.

`Scale` shrinks every count for the unit test of the loader (tests/unit/test_bench.py).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import requests

from services.common import units

YEARS = (2020, 2021, 2022, 2023, 2024)
# Task items of 158/KH-UBND that money is allocated to; the station items are passed on to every station.
ITEMS = ("II.1", "II.2.1", "II.3", "II.5", "III", "IV.7")
STATION_ITEMS = ("II.5", "II.1")
SOURCES = ("provincial_budget", "ntp_nrd")
M = 1_000_000


@dataclass
class Scale:
    years: tuple[int, ...] = YEARS
    items: tuple[str, ...] = ITEMS
    station_items: tuple[str, ...] = STATION_ITEMS
    sources: tuple[str, ...] = SOURCES
    districts: int = 15  # how many districts receive money (all 15 of Kiên Giang)
    stations_per_district: int | None = None  # None: every station of the district
    projects: int | None = None  # None: one per station (145)
    facilities: int = 8
    claims_per_quarter: int = 2500
    assessed: int = 1000
    threads: int = 6


@dataclass
class Loaded:
    allocations: int = 0
    disbursements: int = 0
    adjustments: int = 0
    projects: int = 0
    capital: int = 0
    project_disbursements: int = 0
    claim_files: int = 0
    claims_accepted: int = 0
    claims_rejected: int = 0
    assessed: int = 0
    funds: int = 0
    advances: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    facilities: list[str] = field(default_factory=list)


class Api:
    """One `requests.Session` per thread (connection reuse), JSON in and out; any refusal is a loader bug."""

    def __init__(self, base: str, token: str) -> None:
        self.base = base
        self.headers = {"Authorization": f"Bearer {token}"}
        self._local: dict[int, requests.Session] = {}

    def _session(self) -> requests.Session:
        import threading

        key = threading.get_ident()
        if key not in self._local:
            self._local[key] = requests.Session()
        return self._local[key]

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        r = self._session().post(self.base + path, json=body, headers=self.headers, timeout=120)
        if r.status_code not in (200, 201, 202):
            raise RuntimeError(f"POST {path} {body} -> {r.status_code} {r.text[:500]}")
        return r.json()

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        r = self._session().get(self.base + path, params=params, headers=self.headers, timeout=120)
        r.raise_for_status()
        return r.json()


def _decision(year: int) -> dict[str, str]:
    return {"decision_no": f"{uuid.uuid4().hex[:6]}/QĐ-UBND", "decision_date": f"{year}-02-15"}


def _stations(scale: Scale) -> dict[str, list[str]]:
    districts = sorted(units.districts())[: scale.districts]
    out: dict[str, list[str]] = {}
    for d in districts:
        codes = sorted(c.code for c in units.base_communes() if c.district == d)
        out[d] = codes[: scale.stations_per_district] if scale.stations_per_district is not None else codes
    return out


def load_finance(api: Api, scale: Scale, loaded: Loaded, pool: ThreadPoolExecutor) -> None:
    stations = _stations(scale)

    def one_root(year: int, item: str, source: str) -> tuple[int, int, int]:
        allocs = disbs = adjs = 0
        per_district = 2_000 * M
        root = api.post(
            "/api/v1/allocations",
            {"plan_id": 1, "item_code": item, "source": source, "fiscal_year": year, "recipient_unit": "91",
             "amount": per_district * len(stations) + 500 * M, **_decision(year)},
        )
        allocs += 1
        for district, codes in stations.items():
            da = api.post(
                "/api/v1/allocations",
                {"parent_allocation_id": root["id"], "recipient_unit": district, "amount": per_district,
                 **_decision(year)},
            )
            allocs += 1
            api.post(f"/api/v1/allocations/{da['id']}/adjustments", {"amount": 10 * M, **_decision(year)})
            adjs += 1
            api.post(f"/api/v1/allocations/{da['id']}/disbursements",
                     {"amount": 300 * M, "date": f"{year}-06-01", "reference": f"UNC {uuid.uuid4().hex[:6]}"})
            disbs += 1
            if item in scale.station_items:
                for code in codes:
                    sa = api.post(
                        "/api/v1/allocations",
                        {"parent_allocation_id": da["id"], "recipient_unit": code, "amount": 50 * M,
                         **_decision(year)},
                    )
                    allocs += 1
                    api.post(f"/api/v1/allocations/{sa['id']}/disbursements",
                             {"amount": 30 * M, "date": f"{year}-09-01", "reference": f"UNC {uuid.uuid4().hex[:6]}"})
                    disbs += 1
        return allocs, disbs, adjs

    jobs = [pool.submit(one_root, y, i, s) for y in scale.years for i in scale.items for s in scale.sources]
    for job in jobs:
        a, d, j = job.result()
        loaded.allocations += a
        loaded.disbursements += d
        loaded.adjustments += j


def load_investment(api: Api, scale: Scale, loaded: Loaded, pool: ThreadPoolExecutor) -> None:
    codes = [c for cs in _stations(scale).values() for c in cs]
    if scale.projects is not None:
        codes = codes[: scale.projects]

    def one(code: str) -> tuple[int, int]:
        project = api.post(
            "/api/v1/investment/projects",
            {"station_code": code, "kind": "renovation", "title": f"Cải tạo Trạm Y tế {code}",
             "estimated_cost": 3_000 * M, "plan_id": 1, "item_code": "II.5"},
        )
        n = 0
        for year in scale.years:
            api.post(f"/api/v1/investment/projects/{project['id']}/capital",
                     {"source": "provincial_budget", "fiscal_year": year, "amount": 400 * M, **_decision(year)})
            api.post(f"/api/v1/investment/projects/{project['id']}/disbursements",
                     {"source": "provincial_budget", "amount": 250 * M, "date": f"{year}-10-01",
                      "reference": f"KBNN {uuid.uuid4().hex[:6]}"})
            n += 1
        return n, n

    for job in [pool.submit(one, c) for c in codes]:
        capital, disbs = job.result()
        loaded.projects += 1
        loaded.capital += capital
        loaded.project_disbursements += disbs


def facilities(n: int) -> list[str]:
    """MA_CSKCB of Kiên Giang (province 91), all digits (finance's capitation wants them so)."""
    return [f"91{60 + i:03d}" for i in range(n)]


def load_claims(api_bhxh: Api, api_finance: Api, scale: Scale, loaded: Loaded, work: Path) -> None:
    from services.devtools import claims_generator as generator

    loaded.facilities = facilities(scale.facilities)
    ids = []
    for f_index, facility in enumerate(loaded.facilities):
        for quarter in range(1, 5):
            months = [3 * quarter - 2, 3 * quarter - 1, 3 * quarter]
            path = work / f"claims-{facility}-{quarter}.xml"
            with open(path, "wb") as fh:
                generator.generate(fh, facility=facility, records=scale.claims_per_quarter, year=2024, months=months,
                                   seed=1000 * f_index + quarter, faults={"amount_mismatch": 5, "card_format": 5})
            with open(path, "rb") as fh:
                r = api_bhxh._session().post(api_bhxh.base + "/api/v1/claims/files", data=fh,
                                             headers={**api_bhxh.headers, "Content-Type": "application/xml"},
                                             timeout=600)
            r.raise_for_status()
            ids.append(r.json()["id"])
            path.unlink()
            period = f"2024-Q{quarter}"
            api_finance.post("/api/v1/capitation/funds", {"facility_code": facility, "period": period,
                                                          "cards": 3000, "rate_per_card": 45000, "coefficient": 1})
            api_bhxh.post("/api/v1/capitation/advances", {"facility_code": facility, "period": period,
                                                          "amount": 80 * M, "date": f"2024-{months[0]:02d}-20"})
            loaded.funds += 1
            loaded.advances += 1
    loaded.claim_files = len(ids)
    for file_id in ids:
        while (st := api_bhxh.get(f"/api/v1/claims/files/{file_id}", errors_limit=0))["status"] == "processing":
            time.sleep(1)
        loaded.claims_accepted += st["records"]["accepted"]
        loaded.claims_rejected += st["records"]["rejected"]
    # Giám định of part of the first facility's first quarter: approved in full, some partly.
    target = loaded.facilities[0]
    items: list[dict[str, Any]] = []
    page = 1
    while len(items) < scale.assessed:
        listed = api_bhxh.get("/api/v1/claims", facility=target, period="2024-Q1", status="accepted", page=page,
                              per_page=100)["items"]
        if not listed:
            break
        for c in listed[: scale.assessed - len(items)]:
            partial = len(items) % 5 == 0
            items.append({"ma_lk": c["ma_lk"], "approved_amount": "0" if partial else c["t_bhtt"],
                          **({"reason_code": "so_luong_vuot"} if partial else {})})
        page += 1
    for start in range(0, len(items), 500):
        api_bhxh.post("/api/v1/claims/assessments", {"facility_code": target, "items": items[start : start + 500]})
    loaded.assessed = len(items)


def load(base: str, tokens: dict[str, str], scale: Scale, work: Path) -> Loaded:
    loaded = Loaded()
    finance, bhxh = Api(base, tokens["finance"]), Api(base, tokens["bhxh"])
    with ThreadPoolExecutor(scale.threads) as pool:
        for name, step in (("finance", lambda: load_finance(finance, scale, loaded, pool)),
                           ("investment", lambda: load_investment(finance, scale, loaded, pool)),
                           ("claims", lambda: load_claims(bhxh, finance, scale, loaded, work))):
            started = time.perf_counter()
            step()
            loaded.seconds[name] = round(time.perf_counter() - started, 1)
    return loaded


def build(var: Path, scale: Scale, amqp: str | None = None, db_urls: dict[str, str] | None = None) -> dict[str, Any]:
    """Start the system on `var`, load it, stop it. Returns what was loaded (also written to var/loaded.json)."""
    from tests.support.infra import Stack

    var.mkdir(parents=True, exist_ok=True)
    stack = Stack(var, amqp or "amqp://guest:guest@127.0.0.1:5672/", db_urls)
    stack.env["YTCS_WEB_WORKERS"] = "4"
    stack.start()
    try:
        tokens = {role: stack.token(role) for role in ("finance", "bhxh")}
        loaded = load(stack.url, tokens, scale, var)
    finally:
        stack.stop()
    out = {"scale": asdict(scale), "loaded": asdict(loaded)}
    (var / "loaded.json").write_text(json.dumps(out, indent=1))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.province", description=__doc__.splitlines()[0])
    p.add_argument("--var", required=True, help="data folder to build (must not exist yet)")
    p.add_argument("--amqp", help="AMQP URI (a vhost of its own is best)")
    p.add_argument("--facilities", type=int, default=Scale.facilities)
    p.add_argument("--claims-per-quarter", type=int, default=Scale.claims_per_quarter)
    args = p.parse_args(argv)
    var = Path(args.var)
    if var.exists():
        p.error(f"{var} exists")
    scale = Scale(facilities=args.facilities, claims_per_quarter=args.claims_per_quarter)
    print(json.dumps(build(var, scale, args.amqp), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
