"""One patient-access rule (``db.queries.patient.can_view``): opening a record by
chart number and writing to it agree on who may, for every user and patient."""
from __future__ import annotations

from db.models import Patient
from db.queries.patient import can_view, find_patient, viewable_patient
from db.recording import AccessDenied, book_session
from tests.recording_fixtures import day
from tests.recording_fixtures import clinic, pinned_today  # noqa: F401 (fixtures)


def test_viewable_patient_is_find_and_can_view(session, clinic):
    a, b = (session.get(Patient, pk).patient_id for pk in (clinic.pat_a, clinic.pat_b))
    ther_a, md = clinic.ther_a, clinic.director
    assert viewable_patient(session, f" {a} ", ther_a.role, ther_a.id).pk == clinic.pat_a
    assert viewable_patient(session, b, ther_a.role, ther_a.id) is None
    assert viewable_patient(session, b, md.role, md.id).pk == clinic.pat_b
    assert viewable_patient(session, "NO-SUCH", md.role, md.id) is None
    assert viewable_patient(session, "", md.role, md.id) is None


def test_writing_is_refused_exactly_where_reading_is(session, clinic):
    for actor in (clinic.ther_a, clinic.ther_b, clinic.director):
        for pk in (clinic.pat_a, clinic.pat_b):
            ref = find_patient(session, session.get(Patient, pk).patient_id)
            may_read = can_view(session, actor.role, actor.id, ref)
            try:
                book_session(session, actor, pk, kind="integration", on=day(1 + actor.id))
                may_write = True
            except AccessDenied:
                may_write = False
            assert may_write == may_read, (actor.username, pk)
