"""Outcome scores: PHQ-9, GAD-7 and PCL-5 totals."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import audit
from ..models import INSTRUMENT_MAX, OutcomeMeasure
from .common import (
    ActorLike,
    Errors,
    check_not_before_intake,
    check_not_future,
    fmt_day,
    load_patient,
    unit_of_work,
    values,
)
from .sessions import Saved

MEASURE_FIELDS = ("instrument", "date", "score")


def add_measure(session: Session, actor: ActorLike, patient_pk: int, *, instrument: str,
                on: date, score: int) -> Saved:
    duplicate = ("date", f"A {instrument} score is already recorded for {fmt_day(on)}.")
    with unit_of_work(session, actor, "score", duplicate=duplicate):
        patient = load_patient(session, actor, patient_pk)
        errors = Errors()
        top = INSTRUMENT_MAX.get(instrument)
        if top is None:
            errors.add("instrument", f"Choose one of {', '.join(INSTRUMENT_MAX)}.")
        elif isinstance(score, bool) or not isinstance(score, int) or not 0 <= score <= top:
            errors.add("score", f"A {instrument} total is a whole number from 0 to {top}.")
        check_not_future(errors, "date", on, "a score")
        check_not_before_intake(errors, "date", on, patient)
        if "date" not in errors and top is not None and session.scalar(
            select(OutcomeMeasure.id).where(OutcomeMeasure.patient_id == patient.id,
                                            OutcomeMeasure.instrument == instrument,
                                            OutcomeMeasure.date == on)
        ) is not None:
            errors.add(*duplicate)
        errors.raise_if_any()
        row = OutcomeMeasure(patient_id=patient.id, instrument=instrument, date=on, score=score)
        session.add(row)
        session.flush()
        audit.record(session, actor.username, "measure.add", patient.patient_id,
                     measure_id=row.id, before=None, after=values(row, MEASURE_FIELDS))
    return Saved(row.id, 1)
