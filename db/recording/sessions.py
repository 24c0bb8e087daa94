"""Preparation and integration sessions: book one, record how it went."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import audit, clock
from ..limits import SESSION_DURATION_MINUTES
from ..models import SESSION_KINDS, TherapySession, TreatmentSeries
from .common import (
    ActorLike,
    Errors,
    check_not_before_intake,
    check_not_future,
    check_not_too_far,
    check_version,
    fmt_day,
    load_patient,
    load_row,
    reloader,
    unit_of_work,
    values,
)

SESSION_FIELDS = ("date", "time", "kind", "status", "duration_minutes", "series_id", "therapist_id")
# What a booked session can become; going back to "scheduled" is not a recording.
OUTCOMES = ("attended", "no_show", "cancelled")
# With the article, so messages read "a preparation", "an integration".
KIND_LABEL = {"preparation": "a preparation", "integration": "an integration"}


@dataclass(frozen=True)
class Saved:
    id: int
    version: int


def _check_duration(errors: Errors, minutes: int | None) -> None:
    if minutes is not None and not SESSION_DURATION_MINUTES.holds(minutes):
        errors.add("duration_minutes",
                   f"Duration must be between {SESSION_DURATION_MINUTES.words} minutes.")


def _snapshot(row: TherapySession) -> dict:
    return values(row, SESSION_FIELDS) | {"version": row.version}


def book_session(session: Session, actor: ActorLike, patient_pk: int, *, kind: str, on: date,
                 at: time | None = None, duration_minutes: int | None = None,
                 status: str = "scheduled", series_id: int | None = None) -> Saved:
    """Book a session (or record one that already happened, with its outcome).

    The session belongs to the patient's primary therapist unless a therapist
    books it themselves.
    """
    duplicate = ("date", f"This patient already has {KIND_LABEL.get(kind, 'a')} session "
                         f"on {fmt_day(on)}.")
    with unit_of_work(session, actor, "session", duplicate=duplicate):
        patient = load_patient(session, actor, patient_pk)
        errors = Errors()
        if kind not in SESSION_KINDS:
            errors.add("kind", "Choose preparation or integration.")
        if status not in ("scheduled", *OUTCOMES):
            errors.add("status", "Choose scheduled, attended, no-show or cancelled.")
        check_not_before_intake(errors, "date", on, patient)
        check_not_too_far(errors, "date", on)
        if status in ("attended", "no_show"):
            check_not_future(errors, "date", on, "an attended or missed session")
        elif status == "scheduled" and on < clock.today():
            errors.add("date", f"{fmt_day(on)} is in the past: record a past session as "
                               "attended, no-show or cancelled, not as booked.")
        _check_duration(errors, duration_minutes)
        if series_id is not None:
            series = session.get(TreatmentSeries, series_id)
            if series is None or series.patient_id != patient.id:
                errors.add("series_id", "That series does not belong to this patient.")
        if "date" not in errors and kind in SESSION_KINDS and session.scalar(
            select(TherapySession.id).where(TherapySession.patient_id == patient.id,
                                            TherapySession.date == on,
                                            TherapySession.kind == kind)
        ) is not None:
            errors.add(*duplicate)
        errors.raise_if_any()
        therapist_id = actor.id if actor.role == "therapist" else patient.therapist_id
        row = TherapySession(patient_id=patient.id, therapist_id=therapist_id, date=on, time=at,
                             kind=kind, status=status, duration_minutes=duration_minutes,
                             series_id=series_id)
        session.add(row)
        session.flush()
        audit.record(session, actor.username, "session.book", patient.patient_id,
                     session_id=row.id, before=None, after=values(row, SESSION_FIELDS))
    return Saved(row.id, row.version)


def set_session_status(session: Session, actor: ActorLike, session_id: int, status: str,
                       expected_version: int, *, duration_minutes: int | None = None) -> Saved:
    """Record a booked session as attended, no-show or cancelled."""
    reload = reloader(TherapySession, session_id, _snapshot)
    with unit_of_work(session, actor, "session", reload=reload):
        row = load_row(session, TherapySession, session_id, "session")
        patient = load_patient(session, actor, row.patient_id)
        check_version("session", row, expected_version, _snapshot)
        errors = Errors()
        if status not in OUTCOMES:
            errors.add("status", "Choose attended, no-show or cancelled.")
        if status in ("attended", "no_show"):
            check_not_future(errors, "status", row.date,
                             "an attended session" if status == "attended" else "a no-show")
        _check_duration(errors, duration_minutes)
        errors.raise_if_any()
        before = values(row, SESSION_FIELDS)
        row.status = status
        if duration_minutes is not None:
            row.duration_minutes = duration_minutes
        session.flush()
        audit.record(session, actor.username, "session.status", patient.patient_id,
                     session_id=row.id, before=before, after=values(row, SESSION_FIELDS))
    return Saved(row.id, row.version)
