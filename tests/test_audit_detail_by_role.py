"""Issue 15, item 8: minimum necessary in the audit log.

Real changes are recorded through db.recording (a patient's name, date of
birth and intentions edited; a PHQ-9 score added); then the trail is read as
the admin and as the medical director, through the query, the Audit log page
and its CSV download. The admin sees who changed which fields of whose chart,
never the values; the medical director sees the values. SQLite, and
PostgreSQL with TEST_DATABASE_URL.
"""
from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from sqlalchemy import select

from db import recording
from db.engine import session_factory
from db.models import Patient, Staff
from db.queries import audit_log
from db.queries.audit_log import HIDDEN, AuditFilter
from tests.apptest_support import clinic_app
from tests.download_support import download, signed_in_browser  # noqa: F401 (fixture)
from tests.recording_fixtures import TODAY, clinic, pinned_today  # noqa: F401 (fixtures)
from ui.access import CURRENT_USER_KEY, CurrentUser
from ui.downloads import AUDIT_LOG_DOWNLOAD_KEY

SECRETS = ("Zelda", "Quixote", "1961-04-12", "panic attacks since the accident", "23")


@pytest.fixture
def trail(session, clinic):
    row = session.get(Patient, clinic.pat_a)
    recording.update_patient(session, clinic.ther_a, row.id, row.version, first_name="Zelda",
                             last_name="Quixote", date_of_birth=date(1961, 4, 12),
                             intake_date=row.intake_date,
                             intentions="Talk about the panic attacks since the accident")
    recording.add_measure(session, clinic.ther_a, row.id, instrument="PHQ-9", on=TODAY,
                          score=23)
    return clinic


def _leaks(text: str) -> list[str]:
    return [s for s in SECRETS if s in text]


def test_admin_reads_which_fields_changed_not_their_values(session, trail):
    as_admin = audit_log.search(session, AuditFilter(), reader_role="admin").rows
    update = next(r for r in as_admin if r.action == "patient.update")
    assert update.actor == "ther_a" and update.patient_ref == "C-1"
    assert "changed" in update.detail
    for field in ("first_name", "last_name", "date_of_birth", "intentions"):
        assert field in update.detail
    assert "intake_date" not in update.detail  # unchanged: not listed
    score = next(r for r in as_admin if r.action == "measure.add")
    assert "score" in score.detail and "instrument" in score.detail
    assert not _leaks(" ".join(r.detail for r in as_admin))
    # No role given is the admin's view: a caller that forgets gets the safe one.
    default = audit_log.search(session, AuditFilter()).rows
    assert [r.detail for r in default] == [r.detail for r in as_admin]
    exported = " ".join(r.detail for r in audit_log.iter_events(session, AuditFilter(),
                                                                 reader_role="admin"))
    assert not _leaks(exported)


def test_medical_director_reads_the_values(session, trail):
    rows = audit_log.search(session, AuditFilter(), reader_role="medical_director").rows
    text = " ".join(r.detail for r in rows)
    assert set(_leaks(text)) == set(SECRETS)


def test_administrative_events_keep_their_values_for_the_admin(session, clinic):
    from db import audit

    audit.record(session, "adm", "user.change_role", username="ther_b",
                 before={"role": "therapist"}, after={"role": "medical_director"})
    audit.record(session, "md", "list.view", list="caseload", search="Zelda", rows=1)
    session.commit()
    rows = {r.action: r.detail for r in audit_log.search(session, AuditFilter(),
                                                         reader_role="admin").rows}
    assert "medical_director" in rows["user.change_role"] and "ther_b" in rows["user.change_role"]
    # What a user typed into a list's search box may be a patient's name.
    assert "Zelda" not in rows["list.view"] and f"search: {HIDDEN}" in rows["list.view"]
    assert "caseload" in rows["list.view"]


def _page(engine, role: str):
    url = engine.url.render_as_string(hide_password=False)
    with session_factory(engine)() as s:
        staff = s.scalar(select(Staff).where(Staff.role == role))
        user = CurrentUser(staff.id, staff.username, staff.full_name, staff.role)
    at = clinic_app("pages/audit_log.py", url, today=TODAY)
    at.session_state[CURRENT_USER_KEY] = user
    at.run()
    assert not at.exception, at.exception
    return at


@pytest.mark.parametrize("role,leaks", [("admin", False), ("medical_director", True)])
def test_audit_log_page_and_its_csv_by_role(engine, trail, role, leaks, signed_in_browser):
    at = _page(engine, role)
    table = at.dataframe[0].value
    shown = " ".join(table["Detail"])
    assert "patient.update" in set(table["Action"])
    assert bool(_leaks(shown)) is leaks
    rows = list(csv.DictReader(io.StringIO(download(at, AUDIT_LOG_DOWNLOAD_KEY))))
    exported = " ".join(r["detail"] for r in rows)
    assert "patient.update" in {r["action"] for r in rows}
    assert set(_leaks(exported)) == (set(SECRETS) if leaks else set())
