"""The page's CSV files: the same rows as `python -m db report compliance`, and
no cell a spreadsheet would run as a formula."""
from __future__ import annotations

import csv
import io
from datetime import date

from db.audit import record
from db.exports.compliance_csv import audit_csv, exceptions_csv, series_csv
from db.protocol import compute_compliance
from db.queries import compliance as cq
from db.queries.audit_log import AuditFilter
from db.queries.periods import Period
from db.reports import run
from tests.compliance_fixtures import OCTOBER, build_october_clinic

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def _no_formula(rows: list[list[str]]) -> None:
    for row in rows:
        for value in row:
            assert not value.startswith(FORMULA_STARTS) or value.lstrip("-").replace(".", "").isdigit(), value


def test_series_csv_is_the_report(session):
    staff = build_october_clinic(session)
    as_of = date(2026, 11, 1)
    out = io.StringIO()
    run(session, "compliance", as_of=as_of, fmt="csv", out=out)
    assert series_csv(session, as_of) == out.getvalue()
    mine = _cells(series_csv(session, as_of, therapist_id=staff["ana"].id))
    assert {r[3] for r in mine[1:]} == {"ana"}


def test_exceptions_csv_neutralises_hostile_text(session):
    staff = build_october_clinic(session)
    staff["ana"].username = "-ana"  # a name a spreadsheet would compute
    session.commit()
    oct_ = Period(*OCTOBER, "October 2026")
    rows = cq.exceptions(compute_compliance(session, date(2026, 11, 1)), oct_, date(2026, 11, 1))
    cells = _cells(exceptions_csv(rows))
    assert cells[0][:3] == ["patient_id", "series", "kind"]
    assert len(cells) == 1 + len(rows) == 6
    assert "'-ana" in {r[6] for r in cells[1:]}
    _no_formula(cells)


def test_audit_csv_neutralises(session):
    record(session, "=cmd", "user.add", "@C001", username="+SUM(A1)")
    record(session, "director", "export.csv", what="exceptions")
    session.commit()
    cells = _cells(audit_csv(session, AuditFilter()))
    assert cells[0] == ["at_utc", "user", "action", "patient", "detail"]
    assert len(cells) == 3
    hostile = next(r for r in cells if r[2] == "user.add")
    assert hostile[1] == "'=cmd" and hostile[3] == "'@C001"
    _no_formula(cells)
    only = _cells(audit_csv(session, AuditFilter(actor="director")))
    assert len(only) == 2
