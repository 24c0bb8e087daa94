"""The caseload and patient-record queries use indexes, on SQLite and PostgreSQL.

Every SELECT that ``caseload()`` (one therapist's scope) and the patient page's
reads (``find_patient``, ``search_patients`` in a therapist's scope,
``patient_record``) send is captured and EXPLAINed with its own parameters.
No plan may read a whole patient, series, infusion, session, habit, habit-log
or outcome table: those grow with the network, and a scoped page must not.

SQLite: ``EXPLAIN QUERY PLAN`` must show SEARCH (an index or the primary key),
never SCAN, for those tables. PostgreSQL: on a small clinic the planner would
rightly prefer a sequential scan, so the plan is taken with
``enable_seqscan = off``, under which a Seq Scan remains only where no index
can serve the query.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from db.demo import generate_demo
from db.models import Patient
from db.queries import caseload as caseload_q
from db.queries import patient as patient_q

AS_OF = date(2026, 11, 27)
# Tables that grow with the clinic (patients and their records).
GROWING = ("patient", "treatment_series", "infusion", "therapy_session", "habit", "habit_log",
           "outcome_measure")
_SQLITE_FULL_SCAN = re.compile(r"\bSCAN (" + "|".join(GROWING) + r")\b")


@pytest.fixture
def clinic(session: Session) -> tuple[Session, int, int, str]:
    generate_demo(session, patients=40, seed=5, as_of=AS_OF, history_years_patients=2)
    therapist_id = session.scalar(
        select(Patient.therapist_id).group_by(Patient.therapist_id)
        .order_by(func.count().desc(), Patient.therapist_id).limit(1))
    pk, chart = session.execute(
        select(Patient.id, Patient.patient_id).where(Patient.therapist_id == therapist_id)
        .order_by(Patient.intake_date).limit(1)).one()
    return session, therapist_id, pk, chart


def captured_selects(session: Session, run: Callable[[], object]) -> list[tuple[str, object]]:
    engine = session.get_bind()
    seen: list[tuple[str, object]] = []

    def grab(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", grab)
    try:
        run()
    finally:
        event.remove(engine, "before_cursor_execute", grab)
    return seen


def _pg_nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", ()):
        yield from _pg_nodes(child)


def full_scans(session: Session, statement: str, parameters) -> tuple[list[str], str]:
    """The growing tables this statement reads in full, and its plan as text."""
    conn = session.connection()
    if conn.dialect.name == "sqlite":
        rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
        details = [r[-1] for r in rows]
        return ([d for d in details if _SQLITE_FULL_SCAN.search(d)], "\n".join(details))
    conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
    (plan,), = conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, parameters).all()
    nodes = list(_pg_nodes(plan[0]["Plan"]))
    scans = [f"Seq Scan on {n['Relation Name']}" for n in nodes
             if n["Node Type"] == "Seq Scan" and n.get("Relation Name") in GROWING]
    return scans, "\n".join(f"{n['Node Type']} {n.get('Relation Name', '')} "
                            f"{n.get('Index Name', '')}".rstrip() for n in nodes)


def assert_indexed(session: Session, statements: list[tuple[str, object]]) -> None:
    assert statements, "nothing was captured: the check would prove nothing"
    used_index = False
    for statement, parameters in statements:
        scans, plan = full_scans(session, statement, parameters)
        assert not scans, f"full scan {scans} in\n{statement}\nplan:\n{plan}"
        used_index |= "INDEX" in plan.upper()
    assert used_index


def test_caseload_queries_use_indexes(clinic):
    session, therapist_id, _, _ = clinic
    statements = captured_selects(
        session, lambda: caseload_q.caseload(session, AS_OF, therapist_id=therapist_id))
    assert len(statements) >= 4
    assert_indexed(session, statements)


def test_patient_record_queries_use_indexes(clinic):
    session, therapist_id, pk, chart = clinic

    def open_record():
        ref = patient_q.find_patient(session, chart)
        assert ref is not None and ref.pk == pk
        patient_q.search_patients(session, chart[-3:], therapist_id=therapist_id)
        record = patient_q.patient_record(session, pk, AS_OF)
        assert record is not None and record.habit_weeks

    statements = captured_selects(session, open_record)
    assert len(statements) >= 6
    assert_indexed(session, statements)


def test_the_check_sees_a_full_scan(clinic):
    """The check itself: a name search over the whole clinic reads every patient."""
    session, *_ = clinic
    statements = captured_selects(
        session, lambda: session.execute(select(func.count()).select_from(
            select(Patient.id).where(Patient.last_name.like("%a%")).subquery())).all())
    with pytest.raises(AssertionError, match="full scan"):
        assert_indexed(session, statements)
