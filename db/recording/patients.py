"""Patients: add one, edit details and intentions, hand over to another therapist."""
from __future__ import annotations

from datetime import date

from sqlalchemy import func, select, union_all, update
from sqlalchemy.orm import Session

from .. import audit, clock
from ..limits import IDENTIFIER_MAX, NAME_MAX
from ..models import Infusion, OutcomeMeasure, Patient, Staff, TherapySession, TreatmentSeries
from ..pseudonyms import new_pseudonym
from ..text_rules import control_character_problem
from .common import (
    RECORDING_ROLES,
    AccessDenied,
    ActorLike,
    Errors,
    ValidationError,
    check_not_too_far,
    check_required_text,
    check_role,
    check_version,
    fmt_day,
    load_patient,
    reloader,
    unit_of_work,
    values,
)
from .sessions import Saved

PATIENT_FIELDS = ("patient_id", "first_name", "last_name", "date_of_birth", "therapist_id",
                  "intake_date", "intentions")
MAX_NAME_CHARS = NAME_MAX
MAX_CHART_CHARS = IDENTIFIER_MAX
MAX_INTENTIONS_CHARS = 5000
EARLIEST_BIRTH = date(1900, 1, 1)
# Roles that may be a patient's primary therapist.
TREATING_ROLES = ("therapist", "medical_director")


def _snapshot(row: Patient) -> dict:
    return values(row, PATIENT_FIELDS) | {"version": row.version}


def _check_details(errors: Errors, first_name: str, last_name: str, date_of_birth: date,
                   intake_date: date, intentions: str) -> None:
    for field, value in (("first_name", first_name), ("last_name", last_name)):
        check_required_text(errors, field, value, empty="Must not be empty.",
                            max_chars=MAX_NAME_CHARS, noun="name")
    if not EARLIEST_BIRTH <= date_of_birth < clock.today():
        errors.add("date_of_birth", "Enter a date of birth in the past (after 1900).")
    elif intake_date <= date_of_birth:
        errors.add("intake_date", "The intake must come after the date of birth.")
    check_not_too_far(errors, "intake_date", intake_date)
    if len(intentions) > MAX_INTENTIONS_CHARS:
        errors.add("intentions", f"At most {MAX_INTENTIONS_CHARS:,} characters.")
    elif problem := control_character_problem(intentions, multiline=True):
        errors.add("intentions", f"The text {problem}.")


def _check_therapist(session: Session, errors: Errors, therapist_id: int) -> Staff | None:
    staff = session.get(Staff, therapist_id)
    if staff is None or not staff.active or staff.role not in TREATING_ROLES:
        errors.add("therapist_id", "Choose an active therapist.")
        return None
    return staff


def _unused_pseudonym(session: Session) -> str:
    while True:
        code = new_pseudonym(set())
        if session.scalar(select(Patient.id).where(Patient.pseudonym == code)) is None:
            return code


# A chart number already on file is refused in words that do not say whether it
# is: the same sentence whoever's caseload holds it, and the attempt is audited
# (a therapist trying numbers would otherwise learn which exist elsewhere).
CHART_UNUSABLE = "This chart number cannot be used. Check it and enter it again."


def add_patient(session: Session, actor: ActorLike, *, patient_id: str, first_name: str,
                last_name: str, date_of_birth: date, intake_date: date, intentions: str = "",
                therapist_id: int | None = None) -> Saved:
    """Add a patient; a therapist adds to their own caseload, the medical director to anyone's."""
    chart = (patient_id or "").strip()
    first_name, last_name = (first_name or "").strip(), (last_name or "").strip()
    intentions = (intentions or "").strip()
    duplicate = ("patient_id", CHART_UNUSABLE)
    holder: list[int | None] = []  # the therapist of the patient who has this chart number
    try:
        with unit_of_work(session, actor, "patient", duplicate=duplicate):
            check_role(actor, RECORDING_ROLES, "add patients")
            therapist_id = actor.id if therapist_id is None else therapist_id
            if actor.role == "therapist" and therapist_id != actor.id:
                raise AccessDenied("A therapist adds patients to their own caseload only.")
            errors = Errors()
            charted = check_required_text(errors, "patient_id", chart,
                                          max_chars=MAX_CHART_CHARS, noun="chart number",
                                          empty="Enter the clinic's chart number.")
            if charted:
                holder.extend(session.scalars(select(Patient.therapist_id)
                                              .where(Patient.patient_id == chart)))
            if holder:
                errors.add(*duplicate)
            _check_details(errors, first_name, last_name, date_of_birth, intake_date, intentions)
            _check_therapist(session, errors, therapist_id)
            errors.raise_if_any()
            row = Patient(patient_id=chart, pseudonym=_unused_pseudonym(session),
                          first_name=first_name, last_name=last_name,
                          date_of_birth=date_of_birth, therapist_id=therapist_id,
                          intake_date=intake_date, intentions=intentions)
            session.add(row)
            session.flush()
            audit.record(session, actor.username, "patient.add", chart, patient_pk=row.id,
                         before=None, after=values(row, PATIENT_FIELDS))
    except ValidationError as refused:
        if refused.errors.get("patient_id") == CHART_UNUSABLE:
            # After unit_of_work's rollback: the refusal is written on its own.
            audit.record(session, actor.username, "record.refused", chart, what="patient",
                         reason="chart number already in use",
                         held_elsewhere=(holder[0] != therapist_id) if holder else None)
            session.commit()
        raise
    return Saved(row.id, row.version)


def _first_event(session: Session, patient_pk: int) -> date | None:
    """The patient's earliest recorded event of any kind: the intake may not move past it."""
    dates = union_all(
        select(func.min(TherapySession.date).label("d"))
        .where(TherapySession.patient_id == patient_pk),
        select(func.min(Infusion.date).label("d")).join(TreatmentSeries)
        .where(TreatmentSeries.patient_id == patient_pk),
        select(func.min(OutcomeMeasure.date).label("d"))
        .where(OutcomeMeasure.patient_id == patient_pk),
    ).subquery()
    return session.scalar(select(func.min(dates.c.d)))


def update_patient(session: Session, actor: ActorLike, patient_pk: int, expected_version: int, *,
                   first_name: str, last_name: str, date_of_birth: date, intake_date: date,
                   intentions: str) -> Saved:
    """Edit a patient's details and intentions (the chart number is the import key: it stays)."""
    first_name, last_name = (first_name or "").strip(), (last_name or "").strip()
    intentions = (intentions or "").strip()

    reload = reloader(Patient, patient_pk, _snapshot)
    with unit_of_work(session, actor, "patient record", reload=reload):
        row = load_patient(session, actor, patient_pk)
        check_version("patient record", row, expected_version, _snapshot)
        errors = Errors()
        _check_details(errors, first_name, last_name, date_of_birth, intake_date, intentions)
        first = _first_event(session, row.id)
        if first is not None and intake_date > first:
            errors.add("intake_date", f"This patient has events from {fmt_day(first)}; "
                                      "the intake cannot be after them.")
        errors.raise_if_any()
        before = values(row, PATIENT_FIELDS)
        row.first_name, row.last_name = first_name, last_name
        row.date_of_birth, row.intake_date, row.intentions = date_of_birth, intake_date, intentions
        session.flush()
        audit.record(session, actor.username, "patient.update", row.patient_id,
                     before=before, after=values(row, PATIENT_FIELDS))
    return Saved(row.id, row.version)


def reassign_therapist(session: Session, actor: ActorLike, patient_pk: int, therapist_id: int,
                       expected_version: int) -> Saved:
    """Hand a patient to another primary therapist (medical director only).

    Sessions still booked from today on move with the patient; past ones stay
    with whoever held them.
    """
    reload = reloader(Patient, patient_pk, _snapshot)
    with unit_of_work(session, actor, "patient record", reload=reload):
        check_role(actor, ("medical_director",), "reassign patients")
        row = load_patient(session, actor, patient_pk)
        check_version("patient record", row, expected_version, _snapshot)
        errors = Errors()
        new = _check_therapist(session, errors, therapist_id)
        if new is not None and new.id == row.therapist_id:
            errors.add("therapist_id", f"{new.full_name} is already this patient's therapist.")
        errors.raise_if_any()
        before = values(row, PATIENT_FIELDS)
        row.therapist_id = therapist_id
        moved = session.execute(
            update(TherapySession)
            .where(TherapySession.patient_id == row.id, TherapySession.status == "scheduled",
                   TherapySession.date >= clock.today())
            .values(therapist_id=therapist_id, version=TherapySession.version + 1)
        ).rowcount
        session.flush()
        audit.record(session, actor.username, "patient.reassign", row.patient_id,
                     before=before, after=values(row, PATIENT_FIELDS), sessions_moved=moved)
    return Saved(row.id, row.version)
