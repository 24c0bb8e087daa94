"""What the Record care forms show: one patient's bookings, series, habit week,
scores and count against the protocol minimum.

Every function is scoped to one patient by primary key (indexed); access is
decided by ``db.queries.patient.can_view`` before any of these is called, and
again by ``db.recording`` on save.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import (
    Habit,
    HabitLog,
    Infusion,
    OutcomeMeasure,
    Patient,
    Staff,
    TherapySession,
    TreatmentSeries,
)
from ..protocol import STATUS_LABELS, compute_compliance, week_bounds

# How far back the session list reaches for context; open bookings of any age are shown.
RECENT_DAYS = 60
RECENT_SCORES = 12


@dataclass(frozen=True)
class PatientOption:
    pk: int
    chart: str
    name: str

    @property
    def label(self) -> str:
        return f"{self.name} · {self.chart}"


@dataclass(frozen=True)
class PatientForm:
    pk: int
    chart: str
    first_name: str
    last_name: str
    date_of_birth: date
    intake_date: date
    intentions: str
    therapist_id: int
    therapist_name: str
    version: int


@dataclass(frozen=True)
class SessionItem:
    id: int
    date: date
    time: time | None
    kind: str
    status: str
    duration_minutes: int | None
    version: int


@dataclass(frozen=True)
class InfusionItem:
    id: int
    date: date
    status: str
    dose_mg_per_kg: float | None
    route: str | None
    version: int


@dataclass(frozen=True)
class SeriesItem:
    id: int
    number: int
    kind: str
    planned_infusions: int
    status: str
    discontinued_reason: str | None
    version: int
    infusions: tuple[InfusionItem, ...]

    @property
    def label(self) -> str:
        return f"Series {self.number} ({self.kind}, {self.status})"


@dataclass(frozen=True)
class HabitRow:
    habit_id: int
    name: str
    target_per_week: int
    start_date: date
    end_date: date | None
    version: int
    done: frozenset[date]

    def running_on(self, d: date) -> bool:
        return self.start_date <= d and (self.end_date is None or d <= self.end_date)


@dataclass(frozen=True)
class HabitWeekGrid:
    week_start: date
    days: tuple[date, ...]
    rows: tuple[HabitRow, ...]


@dataclass(frozen=True)
class ScoreItem:
    instrument: str
    date: date
    score: int


@dataclass(frozen=True)
class MinimumCount:
    """The current series' integration count against the protocol minimum."""

    series_number: int
    attended: int
    required: int
    upcoming: int
    preparation: str
    status: str
    status_label: str
    reason: str

    @property
    def text(self) -> str:
        booked = f", {self.upcoming} booked" if self.upcoming else ""
        return f"{self.attended} of {self.required} integration sessions attended{booked}"


def caseload_options(session: Session, therapist_id: int) -> list[PatientOption]:
    """A therapist's own patients, by name: the picker on their Record care page."""
    rows = session.execute(
        select(Patient.id, Patient.patient_id, Patient.first_name, Patient.last_name)
        .where(Patient.therapist_id == therapist_id)
        .order_by(Patient.last_name, Patient.first_name, Patient.patient_id)
    ).all()
    return [PatientOption(pk, chart, f"{first} {last}") for pk, chart, first, last in rows]


def patient_form(session: Session, patient_pk: int) -> PatientForm | None:
    row = session.execute(
        select(Patient.id, Patient.patient_id, Patient.first_name, Patient.last_name,
               Patient.date_of_birth, Patient.intake_date, Patient.intentions,
               Patient.therapist_id, Staff.full_name, Patient.version)
        .join(Staff, Staff.id == Patient.therapist_id)
        .where(Patient.id == patient_pk)
    ).first()
    return PatientForm(*row) if row else None


def patient_sessions(session: Session, patient_pk: int, as_of: date) -> list[SessionItem]:
    """Bookings still open (any date) and sessions of the last ``RECENT_DAYS`` days."""
    since = as_of - timedelta(days=RECENT_DAYS)
    rows = session.execute(
        select(TherapySession.id, TherapySession.date, TherapySession.time, TherapySession.kind,
               TherapySession.status, TherapySession.duration_minutes, TherapySession.version)
        .where(TherapySession.patient_id == patient_pk,
               (TherapySession.date >= since) | (TherapySession.status == "scheduled"))
        .order_by(TherapySession.date, TherapySession.kind)
    ).all()
    return [SessionItem(*r) for r in rows]


def patient_series(session: Session, patient_pk: int) -> list[SeriesItem]:
    """Every series of the patient, newest first, each with its infusions in date order."""
    series = session.execute(
        select(TreatmentSeries.id, TreatmentSeries.number, TreatmentSeries.kind,
               TreatmentSeries.planned_infusions, TreatmentSeries.status,
               TreatmentSeries.discontinued_reason, TreatmentSeries.version)
        .where(TreatmentSeries.patient_id == patient_pk)
        .order_by(TreatmentSeries.number.desc())
    ).all()
    infusions: dict[int, list[InfusionItem]] = {s.id: [] for s in series}
    for r in session.execute(
        select(Infusion.series_id, Infusion.id, Infusion.date, Infusion.status,
               Infusion.dose_mg_per_kg, Infusion.route, Infusion.version)
        .join(TreatmentSeries, TreatmentSeries.id == Infusion.series_id)
        .where(TreatmentSeries.patient_id == patient_pk)
        .order_by(Infusion.date)
    ):
        infusions[r.series_id].append(InfusionItem(*r[1:]))
    return [SeriesItem(*s, infusions=tuple(infusions[s.id])) for s in series]


def habit_week(session: Session, patient_pk: int, any_day: date) -> HabitWeekGrid:
    """The check-in grid of the week holding ``any_day``: habits running that week, ticked days."""
    start, end = week_bounds(any_day)
    habits = session.execute(
        select(Habit.id, Habit.name, Habit.target_per_week, Habit.start_date, Habit.end_date,
               Habit.version)
        .where(Habit.patient_id == patient_pk, Habit.start_date <= end,
               (Habit.end_date.is_(None)) | (Habit.end_date >= start))
        .order_by(Habit.name)
    ).all()
    done: dict[int, set[date]] = {h.id: set() for h in habits}
    if habits:
        for habit_id, d in session.execute(
            select(HabitLog.habit_id, HabitLog.date)
            .where(HabitLog.habit_id.in_(list(done)), HabitLog.date >= start,
                   HabitLog.date <= end, HabitLog.completed.is_(True))
        ):
            done[habit_id].add(d)
    rows = tuple(HabitRow(*h, done=frozenset(done[h.id])) for h in habits)
    return HabitWeekGrid(start, tuple(start + timedelta(days=i) for i in range(7)), rows)


def open_habits(session: Session, patient_pk: int) -> list[HabitRow]:
    """Habits not yet ended (the 'end a habit' picker)."""
    rows = session.execute(
        select(Habit.id, Habit.name, Habit.target_per_week, Habit.start_date, Habit.end_date,
               Habit.version)
        .where(Habit.patient_id == patient_pk, Habit.end_date.is_(None))
        .order_by(Habit.name)
    ).all()
    return [HabitRow(*r, done=frozenset()) for r in rows]


def recent_scores(session: Session, patient_pk: int, limit: int = RECENT_SCORES) -> list[ScoreItem]:
    rows = session.execute(
        select(OutcomeMeasure.instrument, OutcomeMeasure.date, OutcomeMeasure.score)
        .where(OutcomeMeasure.patient_id == patient_pk)
        .order_by(OutcomeMeasure.date.desc(), OutcomeMeasure.instrument)
        .limit(limit)
    ).all()
    return [ScoreItem(*r) for r in rows]


def minimum_count(session: Session, patient_pk: int, as_of: date) -> MinimumCount | None:
    """The protocol engine's figures for the patient's current series (None without one)."""
    series = compute_compliance(session, as_of, patient_ids=[patient_pk])
    current = [sc for sc in series if sc.is_current] or series[-1:]
    if not current:
        return None
    sc = current[0]
    return MinimumCount(sc.series_number, sc.integration_attended, sc.integration_required,
                        sc.integration_upcoming, sc.preparation, sc.status,
                        STATUS_LABELS.get(sc.status, sc.status), sc.reason)
