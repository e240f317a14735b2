"""The gateway's application layer: what a request means, apart from how it came in.

api/ (JSON) and web/ (HTML pages) both parse their input, call a public function here and answer its result;
neither holds a rule, a fan-out or a write orchestration of its own, and neither imports the other.

  access.py         roles per endpoint (`allow`, `public`), unit scoping, project, station and allocation checks
  facilities.py     the facility register (MA_CSKCB → unit) and facility scoping
  funding.py        the funding fan-out to finance, investment and claims and the joins (figures.py adds up)
  unit_funding.py   a unit's money of a year, its predecessors' included
  yearly.py         the yearly report's data, who has reported, submissions and the unit's own sections
  yearly_report.py  the Word document and the gateway's report tables
  workbooks.py      the Excel reports (plan funding and targets, reconciliation, a claim file's errors)
  finance.py, investment.py, capitation.py, claims.py, indicators.py: the writes (commands) per service
  remote.py         the RPC clients and the database session of the running app
"""
