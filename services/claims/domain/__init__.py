"""The claims service's pure rules: plain Python over dataclasses, Decimal money and named refusals.

- `records`: the typed claim (one HOSO) and its issues, as the reading core produces them;
- `assessment`: what BHXH may record as its result for a claim (giám định), and how a result is answered;
- `totals`: the increments of the facility-quarter totals that intake and assessment keep;
- `periods`: the periods claims are counted and filtered in;
- `chunks`: how a file's records are cut into chunks that any replica may load;
- `values`: the tolerant readers of a field's typed value (numbers, dates, codes), liberal in format only.

Nothing here touches a database, a broker, a file or a framework (the import contracts in pyproject.toml check
it). The reading core that turns a hospital's XML file into `records` lives beside it in `parsing/` (the
streaming envelope reader and table decoder) and `validation/` (the QĐ 130/4750 checks): also pure functions,
kept as their own packages because they read XML with lxml and ship reference tables as package data;
services/claims/reading.py joins them (decode and validate one record).
"""
