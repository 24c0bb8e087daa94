"""Reads for the Record care page, each in its own short session (not cached:
a form must show the record as it is now, versions included).

Nothing here reads the current user: the page passes the role and id, and the
access rule stays ``db.queries.patient.viewable_patient``'s.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from db.queries import record_care as q
from db.queries.patient import PatientRef, search_patients, viewable_patient
from ui.database import db_session


def viewable(chart: str, user_role: str, user_id: int) -> PatientRef | None:
    """The patient with this chart number if this user may open their record, else None."""
    with db_session() as session:
        return viewable_patient(session, chart, user_role, user_id)


def caseload_options(therapist_id: int) -> list[q.PatientOption]:
    """A therapist's own patients, for the picker."""
    with db_session() as session:
        return q.caseload_options(session, therapist_id)


def search_options(text: str, held_pk: int | None) -> list[q.PatientOption]:
    """The clinic's patients matching ``text`` (the medical director's search), with the
    patient already held (``held_pk``, e.g. just added or linked) first if the search
    does not find them."""
    with db_session() as session:
        options = [q.PatientOption(r.pk, r.chart, r.name)
                   for r in search_patients(session, text, therapist_id=None)]
        if held_pk and all(o.pk != held_pk for o in options):
            form = q.patient_form(session, held_pk)
            if form:
                options.insert(0, q.PatientOption(form.pk, form.chart,
                                                  f"{form.first_name} {form.last_name}"))
    return options


@dataclass(frozen=True)
class RecordCare:
    """What the page's tabs show of one patient."""

    patient: q.PatientForm
    count: q.MinimumCount | None
    sessions: list[q.SessionItem]
    series: list[q.SeriesItem]
    scores: list[q.ScoreItem]
    running: list[q.HabitRow]


def load_record(chart: str, pk: int, user_role: str, user_id: int,
                today: date) -> RecordCare | None:
    """The record of patient ``pk``, or None when this user may not open it (checked in
    the same session as the reads)."""
    with db_session() as session:
        if viewable_patient(session, chart, user_role, user_id) is None:
            return None
        return RecordCare(
            patient=q.patient_form(session, pk),
            count=q.minimum_count(session, pk, today),
            sessions=q.patient_sessions(session, pk, today),
            series=q.patient_series(session, pk),
            scores=q.recent_scores(session, pk),
            running=q.open_habits(session, pk),
        )


def habit_week(pk: int, any_day: date) -> q.HabitWeekGrid:
    with db_session() as session:
        return q.habit_week(session, pk, any_day)
