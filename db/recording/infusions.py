"""Treatment series and their infusions: start, schedule, record, discontinue."""
from __future__ import annotations

import math
from datetime import date, time, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from .. import audit, clock
from ..limits import MAX_BOOKED_AT_ONCE, PLANNED_INFUSIONS
from ..models import ROUTES, SERIES_KINDS, Infusion, TreatmentSeries
from ..protocol.settings import load_settings
from .common import (
    ActorLike,
    Errors,
    check_not_before_intake,
    check_not_future,
    check_not_too_far,
    check_required_text,
    check_version,
    fmt_day,
    load_patient,
    load_row,
    reloader,
    unit_of_work,
    values,
)
from .sessions import Saved

SERIES_FIELDS = ("number", "kind", "planned_infusions", "status", "discontinued_reason")
INFUSION_FIELDS = ("date", "time", "status", "dose_mg_per_kg", "route")
INFUSION_OUTCOMES = ("completed", "no_show", "cancelled")
MAX_DOSE_MG_PER_KG = 5.0
MAX_REASON_CHARS = 1000
# Weekdays (Mon=0) used for a series at k infusions a week: spread out, no weekends.
WEEK_PATTERNS = {1: (0,), 2: (0, 3), 3: (0, 2, 4), 4: (0, 1, 3, 4), 5: (0, 1, 2, 3, 4)}


def _series_snapshot(row: TreatmentSeries) -> dict:
    return values(row, SERIES_FIELDS) | {"version": row.version}


def _infusion_snapshot(row: Infusion) -> dict:
    return values(row, INFUSION_FIELDS) | {"version": row.version}


def _load_series(session: Session, actor: ActorLike, series_id: int):
    series = load_row(session, TreatmentSeries, series_id, "series")
    return series, load_patient(session, actor, series.patient_id)


def start_series(session: Session, actor: ActorLike, patient_pk: int, *, kind: str = "induction",
                 planned_infusions: int | None = None) -> Saved:
    """Open the patient's next series (number = last + 1)."""
    with unit_of_work(session, actor, "series",
                      duplicate=("kind", "Someone started a series at the same moment; reload.")):
        patient = load_patient(session, actor, patient_pk)
        planned = (load_settings(session).default_planned_infusions if planned_infusions is None
                   else planned_infusions)
        errors = Errors()
        if kind not in SERIES_KINDS:
            errors.add("kind", "Choose induction or booster.")
        if not PLANNED_INFUSIONS.holds(planned):
            errors.add("planned_infusions",
                       f"Planned infusions must be between {PLANNED_INFUSIONS.words}.")
        errors.raise_if_any()
        number = (session.scalar(select(func.max(TreatmentSeries.number))
                                 .where(TreatmentSeries.patient_id == patient.id)) or 0) + 1
        row = TreatmentSeries(patient_id=patient.id, number=number, kind=kind,
                              planned_infusions=planned, status="active")
        session.add(row)
        session.flush()
        audit.record(session, actor.username, "series.start", patient.patient_id,
                     series_id=row.id, before=None, after=values(row, SERIES_FIELDS))
    return Saved(row.id, row.version)


def series_dates(start: date, count: int, weeks: int, taken: set[date]) -> list[date]:
    """``count`` weekdays from ``start`` on, spread over ``weeks`` weeks, skipping ``taken``.

    Six over two weeks gives Mon/Wed/Fri twice; six over three gives Mon/Thu
    three times. Days already booked are skipped and the run continues past them.
    """
    per_week = min(5, max(1, math.ceil(count / weeks)))
    pattern = WEEK_PATTERNS[per_week]
    out: list[date] = []
    day = start
    # Bounded: count days at per_week a week cannot need more than this many weeks.
    limit = start + timedelta(weeks=count + len(taken) + 2)
    while len(out) < count and day <= limit:
        if day.weekday() in pattern and day not in taken:
            out.append(day)
        day += timedelta(days=1)
    return out


def schedule_series_infusions(session: Session, actor: ActorLike, series_id: int, *, start: date,
                              count: int | None = None, weeks: int = 2,
                              at: time | None = None) -> list[date]:
    """Book a standard run of infusions for a series; returns the dates booked.

    ``count`` defaults to what the series still lacks (planned minus completed
    and scheduled). Dates the series already has are skipped.
    """
    with unit_of_work(session, actor, "series",
                      duplicate=("start", "Some of these days were booked by someone else "
                                          "just now; reload and try again.")):
        series, patient = _load_series(session, actor, series_id)
        existing = session.execute(
            select(Infusion.date, Infusion.status).where(Infusion.series_id == series.id)
        ).all()
        booked = sum(1 for _, status in existing if status in ("completed", "scheduled"))
        asked = count
        count = series.planned_infusions - booked if count is None else count
        errors = Errors()
        if series.status != "active":
            errors.add("series", f"Series {series.number} is {series.status}; "
                                 "start a new series to book infusions.")
        if count < 1:
            errors.add("count", "Book at least one infusion." if asked is not None
                       else "This series already has all its planned infusions booked.")
        elif count > MAX_BOOKED_AT_ONCE:
            errors.add("count", f"At most {MAX_BOOKED_AT_ONCE} infusions can be booked at once.")
        if weeks not in (1, 2, 3, 4):
            errors.add("weeks", "Spread the infusions over 1 to 4 weeks.")
        if start < clock.today():
            errors.add("start", f"{fmt_day(start)} is in the past: booking starts today or later.")
        check_not_before_intake(errors, "start", start, patient)
        check_not_too_far(errors, "start", start)
        errors.raise_if_any()
        dates = series_dates(start, count, weeks, {d for d, _ in existing})
        for d in dates:
            session.add(Infusion(series_id=series.id, date=d, time=at, status="scheduled"))
        session.flush()
        audit.record(session, actor.username, "infusion.schedule", patient.patient_id,
                     series_id=series.id, before=None,
                     after={"dates": [d.isoformat() for d in dates]})
    return dates


def book_infusion(session: Session, actor: ActorLike, series_id: int, *, on: date,
                  at: time | None = None) -> Saved:
    """Book one infusion on a chosen day."""
    duplicate = ("date", f"This series already has an infusion on {fmt_day(on)}.")
    with unit_of_work(session, actor, "series", duplicate=duplicate):
        series, patient = _load_series(session, actor, series_id)
        errors = Errors()
        if series.status != "active":
            errors.add("series", f"Series {series.number} is {series.status}.")
        if on < clock.today():
            errors.add("date", f"{fmt_day(on)} is in the past: booking starts today or later.")
        check_not_before_intake(errors, "date", on, patient)
        check_not_too_far(errors, "date", on)
        if "date" not in errors and session.scalar(
            select(Infusion.id).where(Infusion.series_id == series.id, Infusion.date == on)
        ) is not None:
            errors.add(*duplicate)
        errors.raise_if_any()
        row = Infusion(series_id=series.id, date=on, time=at, status="scheduled")
        session.add(row)
        session.flush()
        audit.record(session, actor.username, "infusion.book", patient.patient_id,
                     infusion_id=row.id, before=None, after=values(row, INFUSION_FIELDS))
    return Saved(row.id, row.version)


def set_infusion_status(session: Session, actor: ActorLike, infusion_id: int, status: str,
                        expected_version: int, *, dose_mg_per_kg: float | None = None,
                        route: str | None = None) -> Saved:
    """Record an infusion as completed (with dose and route), no-show or cancelled."""
    reload = reloader(Infusion, infusion_id, _infusion_snapshot)
    with unit_of_work(session, actor, "infusion", reload=reload):
        row = load_row(session, Infusion, infusion_id, "infusion")
        series, patient = _load_series(session, actor, row.series_id)
        check_version("infusion", row, expected_version, _infusion_snapshot)
        errors = Errors()
        if status not in INFUSION_OUTCOMES:
            errors.add("status", "Choose completed, no-show or cancelled.")
        if status in ("completed", "no_show"):
            check_not_future(errors, "status", row.date,
                             "a completed infusion" if status == "completed" else "a no-show")
        if status == "completed":
            if series.status == "discontinued":
                errors.add("status", f"Series {series.number} was discontinued.")
            if dose_mg_per_kg is None or not 0 < dose_mg_per_kg <= MAX_DOSE_MG_PER_KG:
                errors.add("dose_mg_per_kg", "Enter the dose in mg/kg: more than 0 and at most "
                                             f"{MAX_DOSE_MG_PER_KG:g}.")
            if route not in ROUTES:
                errors.add("route", f"Choose the route: {', '.join(ROUTES)}.")
        errors.raise_if_any()
        before = values(row, INFUSION_FIELDS)
        row.status = status
        # Dose and route describe a given infusion only; a missed one keeps none.
        row.dose_mg_per_kg = dose_mg_per_kg if status == "completed" else None
        row.route = route if status == "completed" else None
        session.flush()
        audit.record(session, actor.username, "infusion.status", patient.patient_id,
                     infusion_id=row.id, before=before, after=values(row, INFUSION_FIELDS))
    return Saved(row.id, row.version)


def discontinue_series(session: Session, actor: ActorLike, series_id: int, reason: str,
                       expected_version: int) -> Saved:
    """Stop a series with a reason; its infusions still booked from today on are cancelled."""
    reload = reloader(TreatmentSeries, series_id, _series_snapshot)
    with unit_of_work(session, actor, "series", reload=reload):
        series, patient = _load_series(session, actor, series_id)
        check_version("series", series, expected_version, _series_snapshot)
        reason = (reason or "").strip()
        errors = Errors()
        if series.status != "active":
            errors.add("series", f"Series {series.number} is already {series.status}.")
        check_required_text(errors, "reason", reason, max_chars=MAX_REASON_CHARS, noun="reason",
                            empty="Say why the series stops; the team reads this later.",
                            multiline=True)
        errors.raise_if_any()
        before = values(series, SERIES_FIELDS)
        series.status = "discontinued"
        series.discontinued_reason = reason
        cancelled = session.execute(
            update(Infusion)
            .where(Infusion.series_id == series.id, Infusion.status == "scheduled",
                   Infusion.date >= clock.today())
            .values(status="cancelled", version=Infusion.version + 1)
            .returning(Infusion.date)
        ).scalars().all()
        session.flush()
        audit.record(session, actor.username, "series.discontinue", patient.patient_id,
                     series_id=series.id, before=before, after=values(series, SERIES_FIELDS),
                     cancelled_infusions=sorted(d.isoformat() for d in cancelled))
    return Saved(series.id, series.version)
