from datetime import UTC, date, datetime

from db.audit import record
from db.queries import audit_log as al
from db.queries.audit_log import AuditFilter


def _event(session, at, actor, action, patient=None, **detail):
    e = record(session, actor, action, patient, **detail)
    e.at = at
    return e


def _fill(session):
    _event(session, datetime(2026, 10, 31, 23, 59, tzinfo=UTC), "director", "patient.view", "C001",
           page="patient")
    _event(session, datetime(2026, 11, 1, 0, 0, tzinfo=UTC), "director", "export.csv",
           what="exceptions")
    _event(session, datetime(2026, 11, 2, 9, 0, tzinfo=UTC), "therapist", "patient.view", "C002")
    _event(session, datetime(2026, 11, 3, 9, 0, tzinfo=UTC), "admin", "user.add",
           username="=cmd|' /C calc'!A0")
    session.commit()


def test_filters_and_order(session):
    _fill(session)
    page = al.search(session, AuditFilter())
    assert page.total == 4 and [r.action for r in page.rows][0] == "user.add"
    assert al.search(session, AuditFilter(actor="director")).total == 2
    assert al.search(session, AuditFilter(patient_ref="C002")).rows[0].actor == "therapist"
    assert al.search(session, AuditFilter(action="patient.view")).total == 2
    # Date bounds are whole UTC days, both ends included.
    nov1 = al.search(session, AuditFilter(start=date(2026, 11, 1), end=date(2026, 11, 1)))
    assert [r.action for r in nov1.rows] == ["export.csv"]
    assert al.search(session, AuditFilter(end=date(2026, 10, 31))).total == 1
    assert al.search(session, AuditFilter(actor="nobody")).total == 0
    assert page.rows[-1].detail == "page: patient"
    assert page.rows[0].at.tzinfo is not None


def test_paging_and_export_walk(session, monkeypatch):
    for i in range(7):
        _event(session, datetime(2026, 11, 1, 10, i, tzinfo=UTC), "director", "patient.view",
               f"C{i:03d}")
    # Two events in the same instant: the id breaks the tie, none lost or repeated.
    _event(session, datetime(2026, 11, 1, 10, 3, tzinfo=UTC), "director", "patient.view", "CX")
    session.commit()
    p1 = al.search(session, AuditFilter(), page=1, page_size=3)
    p3 = al.search(session, AuditFilter(), page=3, page_size=3)
    assert (p1.total, p1.pages, len(p3.rows)) == (8, 3, 2)
    assert al.search(session, AuditFilter(), page=99, page_size=3).page == 3
    monkeypatch.setattr(al, "EXPORT_BATCH", 3)
    walked = [r.patient_ref for r in al.iter_events(session, AuditFilter())]
    assert len(walked) == 8 and len(set(walked)) == 8
    paged = [r.patient_ref for n in (1, 2, 3)
             for r in al.search(session, AuditFilter(), page=n, page_size=3).rows]
    assert walked == paged


def test_filter_options_and_export_rows(session):
    from db.models import Staff

    for name in ("admin", "director", "therapist", "idle"):
        session.add(Staff(username=name, full_name=name.title(), role="therapist"))
    _fill(session)
    # Names typed at sign-in, and accounts with no event, are not offered.
    _event(session, datetime(2026, 11, 3, 9, 0, tzinfo=UTC), "made-up-name", "auth.login_failed")
    _event(session, datetime(2026, 11, 3, 9, 0, tzinfo=UTC), "cli", "user.add")
    session.commit()
    actors, actions = al.filter_options(session)
    assert actors == ["admin", "cli", "director", "therapist"]
    assert "export.csv" in actions
    rows = list(al.export_rows(al.iter_events(session, AuditFilter(actor="admin"))))
    assert rows[0]["user"] == "admin" and rows[0]["at_utc"].startswith("2026-11-03T09:00:00")
    assert AuditFilter(actor="admin", start=date(2026, 1, 1)).describe() == {
        "filter_actor": "admin", "filter_start": "2026-01-01"}
