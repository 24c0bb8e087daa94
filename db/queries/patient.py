"""One patient's record: who may open it, and the aggregated rows its charts show.

The access rule lives in :func:`can_view` and nowhere else: the page, a link
with ``?patient=``, the search box and the caseload all go through it.

Every function here is scoped to one patient by primary key (indexed), and
returns rows per event, per week or per score, never raw daily logs, so what
a chart receives does not grow with the length of a patient's history.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Protocol

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from ..models import Infusion, OutcomeMeasure, Patient, Staff, TherapySession, TreatmentSeries
from ..protocol import (
    HabitAdherence,
    OutcomeSummary,
    SeriesCompliance,
    compute_compliance,
    habit_adherence,
    habit_calendar,
    load_settings,
    monday,
    outcome_summaries,
    weekly_habit_series,
)
from ..text_rules import control_character_problem, identifier_problem

# Roles that may read a whole patient record, and whose patients: a therapist
# their own caseload, the medical director anyone's. Others read no record.
ROLE_SCOPE = {"therapist": "own", "medical_director": "all"}

SEARCH_LIMIT = 20
# Habit charts cover this many weeks whatever the length of the history: half a
# year shows a trend and the months around the latest series, and bounds what
# the browser receives (26 weeks x 7 days per habit at most).
CHART_WEEKS = 26


@dataclass(frozen=True)
class PatientRef:
    """Enough about a patient to decide access and to name them in a list."""

    pk: int
    chart: str
    first_name: str
    last_name: str
    therapist_id: int

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"


@dataclass(frozen=True)
class PatientHeader:
    pk: int
    chart: str
    first_name: str
    last_name: str
    date_of_birth: date
    age: int
    therapist_name: str
    intake_date: date
    intentions: str

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"


@dataclass(frozen=True)
class TimelineEvent:
    """An infusion or a therapy session, one point on the series timeline."""

    date: date
    kind: str  # "infusion" | "preparation" | "integration"
    status: str  # as stored: scheduled, completed/attended, cancelled, no_show
    series_number: int | None  # infusions always; sessions only when pinned
    dose_mg_per_kg: float | None = None
    route: str | None = None
    duration_minutes: int | None = None


@dataclass(frozen=True)
class ScorePoint:
    instrument: str
    date: date
    score: int


def _ref_select():
    return select(Patient.id, Patient.patient_id, Patient.first_name, Patient.last_name,
                  Patient.therapist_id)


def find_patient(session: Session, chart: str) -> PatientRef | None:
    """The patient with this chart number (exact, surrounding spaces ignored)."""
    chart = (chart or "").strip()
    if not chart or identifier_problem(chart):  # a NUL or over-long: no such chart, no query
        return None
    row = session.execute(_ref_select().where(Patient.patient_id == chart)).first()
    return PatientRef(*row) if row else None


class OnACaseload(Protocol):
    """A patient as :func:`can_view` needs it: a :class:`PatientRef` or a ``Patient`` row."""

    @property
    def therapist_id(self) -> int: ...


def can_view(session: Session, user_role: str, user_id: int,
             patient: OnACaseload | None) -> bool:
    """May this user open this patient's record? The one place that decides.

    ``db.recording`` asks it too before any write, so reading and writing a
    record follow the same rule.

    ``session`` is taken so that the rule can grow (cover for an absent
    colleague, say) without every caller changing; today the patient's primary
    therapist and the medical director may, nobody else.
    """
    if patient is None:
        return False
    scope = ROLE_SCOPE.get(user_role)
    if scope == "all":
        return True
    return scope == "own" and patient.therapist_id == user_id


def viewable_patient(session: Session, chart: str, user_role: str,
                     user_id: int) -> PatientRef | None:
    """The patient with this chart number if this user may open their record, else
    None: a refusal and a chart that does not exist look the same to the caller."""
    patient = find_patient(session, chart)
    return patient if can_view(session, user_role, user_id, patient) else None


def search_patients(session: Session, text: str, *, therapist_id: int | None,
                    limit: int = SEARCH_LIMIT) -> list[PatientRef]:
    """Patients whose name or chart number contains ``text``, within the user's scope.

    ``therapist_id`` None searches the whole clinic (the medical director);
    otherwise only that therapist's patients are ever looked at, so a search
    cannot reveal that someone else's patient exists.
    """
    words = (text or "").strip().lower().split()
    if not words or control_character_problem(text):  # PostgreSQL refuses a NUL in LIKE
        return []
    stmt = _ref_select()
    if therapist_id is not None:
        stmt = stmt.where(Patient.therapist_id == therapist_id)
    full_name = func.lower(Patient.first_name + " " + Patient.last_name)
    for word in words[:5]:
        pattern = f"%{_escape_like(word)}%"
        stmt = stmt.where(or_(full_name.like(pattern, escape="\\"),
                              func.lower(Patient.patient_id).like(pattern, escape="\\")))
    stmt = stmt.order_by(Patient.last_name, Patient.first_name, Patient.patient_id).limit(limit)
    return [PatientRef(*row) for row in session.execute(stmt)]


def _escape_like(word: str) -> str:
    # A typed "%" or "_" is a character to find, not a wildcard.
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def age_on(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def patient_header(session: Session, patient_pk: int, as_of: date) -> PatientHeader | None:
    row = session.execute(
        select(Patient.id, Patient.patient_id, Patient.first_name, Patient.last_name,
               Patient.date_of_birth, Staff.full_name, Patient.intake_date, Patient.intentions)
        .join(Staff, Staff.id == Patient.therapist_id)
        .where(Patient.id == patient_pk)
    ).first()
    if row is None:
        return None
    pk, chart, first, last, born, therapist, intake, intentions = row
    return PatientHeader(pk, chart, first, last, born, age_on(born, as_of), therapist, intake,
                         intentions or "")


def timeline_events(session: Session, patient_pk: int) -> list[TimelineEvent]:
    """Every infusion and therapy session of the patient, oldest first.

    One row per event: a course of treatment has tens of events, not thousands,
    however long the patient has been followed.
    """
    infusions = session.execute(
        select(Infusion.date, Infusion.status, TreatmentSeries.number, Infusion.dose_mg_per_kg,
               Infusion.route)
        .join(TreatmentSeries, TreatmentSeries.id == Infusion.series_id)
        .where(TreatmentSeries.patient_id == patient_pk)
    ).all()
    sessions = session.execute(
        select(TherapySession.date, TherapySession.kind, TherapySession.status,
               TreatmentSeries.number, TherapySession.duration_minutes)
        .outerjoin(TreatmentSeries, TreatmentSeries.id == TherapySession.series_id)
        .where(TherapySession.patient_id == patient_pk)
    ).all()
    events = [TimelineEvent(d, "infusion", status, number, dose, route)
              for d, status, number, dose, route in infusions]
    events += [TimelineEvent(d, kind, status, number, duration_minutes=minutes)
               for d, kind, status, number, minutes in sessions]
    order = {"preparation": 0, "infusion": 1, "integration": 2}
    events.sort(key=lambda e: (e.date, order.get(e.kind, 3)))
    return events


def outcome_scores(session: Session, patient_pk: int, as_of: date,
                   instruments: tuple[str, ...] = ("PHQ-9", "GAD-7")) -> list[ScorePoint]:
    """The patient's scores on ``instruments`` up to ``as_of`` (as the engine's
    summaries read them), one row per score, oldest first."""
    rows = session.execute(
        select(OutcomeMeasure.instrument, OutcomeMeasure.date, OutcomeMeasure.score)
        .where(OutcomeMeasure.patient_id == patient_pk, OutcomeMeasure.date <= as_of,
               OutcomeMeasure.instrument.in_(instruments))
        .order_by(OutcomeMeasure.instrument, OutcomeMeasure.date)
    ).all()
    return [ScorePoint(*row) for row in rows]


@dataclass(frozen=True)
class HabitWeekRow:
    habit_id: int
    habit: str
    week_start: date
    done: int  # distinct completed days, capped at the target (the rule's figure)
    days: int  # distinct completed days, uncapped
    target: int
    counted: bool  # the habit was live all that week


@dataclass(frozen=True)
class CalendarCell:
    habit_id: int
    habit: str
    date: date
    week_start: date
    weekday: int  # 0 = Monday
    state: str  # "done" | "not done" | "not active"


@dataclass(frozen=True)
class PatientRecord:
    header: PatientHeader
    series: list[SeriesCompliance]  # every series, by number
    current: SeriesCompliance | None
    events: list[TimelineEvent]
    habits: list[HabitAdherence]  # the protocol's 4-week figures per habit
    habit_weeks: list[HabitWeekRow]
    calendar: list[CalendarCell]
    scores: list[ScorePoint]
    outcomes: list[OutcomeSummary]
    min_integration_sessions: int
    weeks_from: date  # first Monday the habit charts show
    weeks_to: date  # last complete week's Sunday
    as_of: date


def chart_window(as_of: date, weeks: int) -> tuple[date, date]:
    """Monday ``weeks`` complete weeks back and the Sunday ending the week before
    ``as_of``'s: the habit charts show complete weeks, like the adherence rule."""
    this_monday = monday(as_of)
    return this_monday - timedelta(weeks=weeks), this_monday - timedelta(days=1)


def calendar_cells(habits: list[HabitAdherence], logged: list, start: date,
                   end: date) -> list[CalendarCell]:
    """Every day from ``start`` to ``end`` for every habit: done, not done, or
    not active (before the habit started or after it ended). ``logged`` are
    the engine's calendar days; a day without a log is not done."""
    done = {(c.habit_id, c.date) for c in logged if c.completed}
    cells = []
    for h in habits:
        day = start
        while day <= end:
            if day < h.start_date or (h.end_date is not None and day > h.end_date):
                state = "not active"
            else:
                state = "done" if (h.habit_id, day) in done else "not done"
            cells.append(CalendarCell(h.habit_id, h.habit, day, monday(day), day.weekday(),
                                      state))
            day += timedelta(days=1)
    return cells


def patient_record(session: Session, patient_pk: int, as_of: date, *,
                   weeks: int = CHART_WEEKS) -> PatientRecord | None:
    """Everything the patient page shows, aggregated: per series, per event, per
    habit-week, per calendar day of the last ``weeks`` weeks, per score.

    Every query is scoped to this one patient. The caller has checked
    :func:`can_view`.
    """
    header = patient_header(session, patient_pk, as_of)
    if header is None:
        return None
    settings = load_settings(session)
    series = sorted(compute_compliance(session, as_of, patient_ids=[patient_pk],
                                       settings=settings),
                    key=lambda sc: sc.series_number)
    current = next((sc for sc in series if sc.is_current), None)
    habits = habit_adherence(session, as_of, patient_ids=[patient_pk])
    start, end = chart_window(as_of, weeks)
    names = {h.habit_id: h.habit for h in habits}
    habit_weeks = [
        HabitWeekRow(w.habit_id, names[w.habit_id], w.week_start, w.done, w.days, w.target,
                     w.counted)
        for w in weekly_habit_series(session, list(names), start, end)
    ]
    # The calendar runs to today, so this week's ticks show as they come in.
    logged = habit_calendar(session, patient_pk, start, as_of)
    return PatientRecord(
        header=header, series=series, current=current,
        events=timeline_events(session, patient_pk), habits=habits, habit_weeks=habit_weeks,
        calendar=calendar_cells(habits, logged, start, as_of),
        scores=outcome_scores(session, patient_pk, as_of),
        outcomes=outcome_summaries(session, as_of, patient_ids=[patient_pk]),
        min_integration_sessions=settings.min_integration_sessions,
        weeks_from=start, weeks_to=end, as_of=as_of,
    )
