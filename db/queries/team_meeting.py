"""The weekly team meeting screen's data: what the room needs, and nothing more.

The screen hangs on a wall where visitors walk past, so the result types below
have no field that could hold a name, a chart number, a date of birth or
intentions: a patient is only ``initials`` plus the random ``pseudonym`` code,
a therapist only a first name. Full names never leave the database here (the
initials are cut in SQL), and nothing from the chart numbers in the protocol
engine's results is copied into them.

Every protocol figure (status, flags, responses, streaks) comes from
``db.protocol``; this module only selects, orders and words them, and adds the
small counts the engine does not make (appointments per day).

"This week" is the calendar week, Monday to Sunday, that holds the as-of date;
"the coming week" is the as-of date and the six days after it.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import Infusion, Patient, Staff, TherapySession, TreatmentSeries
from ..protocol import (
    FLAG_LABELS,
    INSTRUMENTS,
    STATUS_LABELS,
    HabitAdherence,
    OutcomeSummary,
    SeriesCompliance,
    compute_compliance,
    habit_adherence,
    is_remission,
    monday,
    outcome_summaries,
    week_bounds,
)

# Topics of the "needs discussion" list, in the order the issue asks for; a
# patient appears once, under the first topic that applies.
CLOSED_NON_COMPLIANT = STATUS_LABELS["non_compliant"]
AT_RISK = STATUS_LABELS["at_risk"]
STALLED = FLAG_LABELS["stalled"]
PREP_DUE = "Prep due"  # shorter than the engine's words: it must fit a wall-screen cell
PHQ9_WORSE = "PHQ-9 worse"
HABIT_LOW = "Habit slipping"
TOPICS = (CLOSED_NON_COMPLIANT, AT_RISK, STALLED, PREP_DUE, PHQ9_WORSE, HABIT_LOW)

WIN_COMPLETED = "Series completed"
WIN_OUTCOME = "Better scores"
WIN_HABIT = "Habit held"
WIN_KINDS = (WIN_COMPLETED, WIN_OUTCOME, WIN_HABIT)

CLOSED_LOOKBACK_DAYS = 7
HABIT_LOW_BELOW = 0.25  # done / target, in each of the last two complete weeks
HABIT_HELD_WEEKS = 4
HABIT_WEEKS = 4  # the engine's reporting window (its streaks look further back)
# Habits (slipping or held) are shown for patients in care: a series active,
# or its window closed within this many days. Habits of patients discharged
# months ago would otherwise fill the meeting, every week.
IN_CARE_AFTER_WINDOW_DAYS = 56
COMING_DAYS = 7
# Outcome wins are news only when the score that shows them is recent.
OUTCOME_NEWS_DAYS = 7

_BOOKED_INFUSION = ("completed", "scheduled")
_BOOKED_SESSION = ("attended", "scheduled")
_CHUNK = 900  # keeps IN (...) lists under SQLite's parameter limit


@dataclass(frozen=True)
class Headline:
    active_series: int
    # Compliant share of the series whose window closed this month; None when none did.
    compliance_rate: float | None
    closed_this_month: int
    at_risk: int
    stalled: int
    infusions_this_week: int
    sessions_this_week: int
    completed_this_week: int


@dataclass(frozen=True)
class DiscussionItem:
    topic: str
    initials: str
    code: str
    therapist: str
    progress: str
    reason: str


@dataclass(frozen=True)
class WinItem:
    kind: str
    initials: str
    code: str
    therapist: str
    detail: str


@dataclass(frozen=True)
class DayLoad:
    day: date
    infusions: int
    sessions: int


@dataclass(frozen=True)
class TeamMeeting:
    as_of: date
    read_at: datetime
    week_start: date
    week_end: date
    headline: Headline
    discussion: tuple[DiscussionItem, ...]
    wins: tuple[WinItem, ...]
    coming_week: tuple[DayLoad, ...]


@dataclass(frozen=True)
class _Label:
    initials: str
    code: str
    therapist: str


# Titles are not first names: "Dr. Maya Lee" is "Maya" on the screen.
_TITLES = {"dr", "dr.", "prof", "prof.", "mr", "mr.", "mrs", "mrs.", "ms", "ms.", "mx", "mx."}


def first_name(full_name: str) -> str:
    parts = (full_name or "").split()
    while len(parts) > 1 and parts[0].lower() in _TITLES:
        parts = parts[1:]
    return parts[0] if parts else "?"


def _initial(text: str | None) -> str:
    return (text or "?")[:1].upper() or "?"


def _chunks(ids: Iterable[int]) -> list[list[int]]:
    ids = sorted(set(ids))
    return [ids[i:i + _CHUNK] for i in range(0, len(ids), _CHUNK)]


def _labels(session: Session, patient_pks: Iterable[int]) -> dict[int, _Label]:
    """Initials, code and therapist's first name of each patient.

    Only the first letter of each name is selected: the full names are never
    read into this process.
    """
    out: dict[int, _Label] = {}
    for chunk in _chunks(patient_pks):
        q = (select(Patient.id,
                    func.substr(func.trim(Patient.first_name), 1, 1),
                    func.substr(func.trim(Patient.last_name), 1, 1),
                    Patient.pseudonym, Staff.full_name)
             .join(Staff, Staff.id == Patient.therapist_id)
             .where(Patient.id.in_(chunk)))
        for pk, fi, li, code, staff_name in session.execute(q):
            out[pk] = _Label(f"{_initial(fi)}.{_initial(li)}.", code, first_name(staff_name))
    return out


def _progress(sc: SeriesCompliance | None) -> str:
    if sc is None:
        return "no series"
    return f"{sc.infusions_completed} of {sc.infusions_planned}"


# Dates further than this from the as-of date carry their year.
_NEAR_DAYS = 180


def _day(d: date | None, as_of: date) -> str:
    if d is None:
        return "?"
    return d.strftime("%a %-d %b") if abs((d - as_of).days) <= _NEAR_DAYS else d.strftime("%-d %b %Y")


def _series_reason(topic: str, sc: SeriesCompliance, as_of: date) -> str:
    """Plain words for one series, built from the engine's figures; short enough
    for one line on the wall."""
    integration = f"{sc.integration_attended} of {sc.integration_required} integration sessions"
    if topic == CLOSED_NON_COMPLIANT:
        if sc.preparation != "met":
            return f"Infusion given without preparation; window closed {_day(sc.window_end, as_of)}"
        return f"Window closed {_day(sc.window_end, as_of)} with {integration}"
    if topic == AT_RISK:
        booked = "none booked" if sc.integration_upcoming == 0 else f"{sc.integration_upcoming} booked"
        return f"{integration}, {booked}; window closes {_day(sc.window_end, as_of)}"
    if topic == STALLED:
        return f"Last infusion {_day(sc.last_completed_infusion, as_of)}, none booked"
    return f"First infusion {_day(sc.next_infusion, as_of)}, no preparation booked"


def _topic_date(topic: str, sc: SeriesCompliance) -> date | None:
    """The day that orders rows within a topic: the most pressing first."""
    if topic in (CLOSED_NON_COMPLIANT, AT_RISK):
        return sc.window_end
    if topic == STALLED:
        return sc.last_completed_infusion
    return sc.next_infusion


def _series_topic(sc: SeriesCompliance, as_of: date) -> str | None:
    closed_since = as_of - timedelta(days=CLOSED_LOOKBACK_DAYS)
    if (sc.status == "non_compliant" and sc.window_end is not None
            and closed_since <= sc.window_end < as_of):
        return CLOSED_NON_COMPLIANT
    if sc.status == "at_risk":
        return AT_RISK
    if "stalled" in sc.flags:
        return STALLED
    if "prep_due" in sc.flags:
        return PREP_DUE
    return None


def _habit_slipping(h: HabitAdherence, as_of: date) -> bool:
    """Under the threshold in each of the two newest complete weeks."""
    this_week = monday(as_of)
    wanted = {this_week - timedelta(days=7), this_week - timedelta(days=14)}
    weeks = [w for w in h.weekly if w.week_start in wanted]
    return (len(weeks) == 2
            and all(w.target > 0 and w.done / w.target < HABIT_LOW_BELOW for w in weeks))


def _completed_this_week(sc: SeriesCompliance, week_start: date, as_of: date) -> bool:
    done = sc.series_status == "completed" or (
        sc.series_status == "active" and sc.infusions_completed >= sc.infusions_planned)
    last = sc.last_completed_infusion
    return done and last is not None and week_start <= last <= as_of


def _in_care(series: Sequence[SeriesCompliance], as_of: date) -> set[int]:
    since = as_of - timedelta(days=IN_CARE_AFTER_WINDOW_DAYS)
    return {sc.patient_pk for sc in series
            if sc.series_status == "active"
            or (sc.window_end is not None and sc.window_end >= since)}


def _current_series(series: Sequence[SeriesCompliance]) -> dict[int, SeriesCompliance]:
    return {sc.patient_pk: sc for sc in series if sc.is_current}


def _discussion(series: Sequence[SeriesCompliance], outcomes: Sequence[OutcomeSummary],
                habits: Sequence[HabitAdherence], as_of: date
                ) -> list[tuple[int, str, str, str]]:
    """(patient pk, topic, progress, reason), one row per patient under its first
    topic, the other topics that apply named in the reason; in the issue's order."""
    current = _current_series(series)
    # pk -> [(sort key, topic, progress, reason)]
    hits: dict[int, list[tuple[tuple, str, str, str]]] = {}

    def add(pk: int, topic: str, progress: str, reason: str, key: tuple) -> None:
        hits.setdefault(pk, []).append(((TOPICS.index(topic), *key), topic, progress, reason))

    for sc in series:
        topic = _series_topic(sc, as_of)
        if topic is not None:
            add(sc.patient_pk, topic, _progress(sc), _series_reason(topic, sc, as_of),
                (_topic_date(topic, sc) or date.max, sc.series_id))
    for o in outcomes:
        if o.instrument == "PHQ-9" and o.worsening:
            add(o.patient_pk, PHQ9_WORSE, _progress(current.get(o.patient_pk)),
                f"PHQ-9 up from {o.baseline} to {o.latest}", (-abs(o.change or 0), o.patient_pk))
    for h in habits:
        if _habit_slipping(h, as_of):
            add(h.patient_pk, HABIT_LOW, _progress(current.get(h.patient_pk)),
                f"A habit under {HABIT_LOW_BELOW:.0%} two weeks running", (h.habit_id,))

    rows = []
    for pk, found in hits.items():
        found.sort(key=lambda f: f[0])
        key, topic, progress, reason = found[0]
        also = list(dict.fromkeys(t for _, t, _, _ in found[1:] if t != topic))
        if also:
            reason = f"{reason} · also {', '.join(t.lower() for t in also)}"
        rows.append((key, pk, topic, progress, reason))
    rows.sort(key=lambda r: (r[0], r[1]))
    return [(pk, topic, progress, reason) for _, pk, topic, progress, reason in rows]


def _wins(series: Sequence[SeriesCompliance], outcomes: Sequence[OutcomeSummary],
          habits: Sequence[HabitAdherence], as_of: date, week_start: date
          ) -> list[tuple[int, str, str]]:
    """(patient pk, kind, detail), one row per patient and kind."""
    rows: list[tuple[int, str, str]] = []
    seen: set[tuple[int, str]] = set()
    for sc in sorted(series, key=lambda s: (s.last_completed_infusion or date.min, s.series_id)):
        if _completed_this_week(sc, week_start, as_of) and (sc.patient_pk, WIN_COMPLETED) not in seen:
            seen.add((sc.patient_pk, WIN_COMPLETED))
            rows.append((sc.patient_pk, WIN_COMPLETED,
                         f"Series completed, {sc.infusions_completed} of "
                         f"{sc.infusions_planned} infusions"))
    news_since = as_of - timedelta(days=OUTCOME_NEWS_DAYS - 1)
    by_patient: dict[int, list[str]] = {}
    # PHQ-9 first, then GAD-7, then PCL-5: the first one named, the others counted.
    order = {name: i for i, name in enumerate(INSTRUMENTS)}
    for o in sorted(outcomes, key=lambda o: (o.patient_pk, order.get(o.instrument, 99))):
        # Remission is a win only when the baseline was not already below the line.
        remitted = o.remission and not is_remission(o.instrument, o.baseline)
        if not (o.response or remitted):
            continue
        if o.latest_date is None or not news_since <= o.latest_date <= as_of:
            continue
        word = "remission" if remitted else "response"
        by_patient.setdefault(o.patient_pk, []).append(
            f"{o.instrument} {o.baseline} to {o.latest}, {word}")
    for pk, parts in by_patient.items():
        more = f" (+{len(parts) - 1} more)" if len(parts) > 1 else ""
        rows.append((pk, WIN_OUTCOME, parts[0] + more))
    best: dict[int, int] = {}
    for h in habits:
        if h.streak_weeks >= HABIT_HELD_WEEKS:
            best[h.patient_pk] = max(best.get(h.patient_pk, 0), h.streak_weeks)
    for pk, weeks in sorted(best.items(), key=lambda kv: (-kv[1], kv[0])):
        rows.append((pk, WIN_HABIT, f"Habit held {weeks} weeks running"))
    return rows


def _appointments_by_day(session: Session, start: date, end: date,
                         therapist_id: int | None) -> tuple[Counter, Counter]:
    """Infusions and therapy sessions held or booked per day, counted in SQL."""
    inf_q = (select(Infusion.date, func.count())
             .where(Infusion.date >= start, Infusion.date <= end,
                    Infusion.status.in_(_BOOKED_INFUSION))
             .group_by(Infusion.date))
    ses_q = (select(TherapySession.date, func.count())
             .where(TherapySession.date >= start, TherapySession.date <= end,
                    TherapySession.status.in_(_BOOKED_SESSION))
             .group_by(TherapySession.date))
    if therapist_id is not None:
        inf_q = (inf_q.join(TreatmentSeries, TreatmentSeries.id == Infusion.series_id)
                 .join(Patient, Patient.id == TreatmentSeries.patient_id)
                 .where(Patient.therapist_id == therapist_id))
        ses_q = ses_q.where(TherapySession.therapist_id == therapist_id)
    infusions = Counter({d: n for d, n in session.execute(inf_q)})
    sessions = Counter({d: n for d, n in session.execute(ses_q)})
    return infusions, sessions


def _headline(series: Sequence[SeriesCompliance], as_of: date, week_start: date,
              infusions: Counter, sessions: Counter, completed: int) -> Headline:
    month_start = as_of.replace(day=1)
    closed = [sc for sc in series
              if sc.window_end is not None and month_start <= sc.window_end < as_of
              and sc.status in ("compliant", "non_compliant")]
    compliant = sum(1 for sc in closed if sc.status == "compliant")
    return Headline(
        active_series=sum(1 for sc in series if sc.series_status == "active"),
        compliance_rate=compliant / len(closed) if closed else None,
        closed_this_month=len(closed),
        at_risk=sum(1 for sc in series if sc.status == "at_risk"),
        stalled=sum(1 for sc in series if "stalled" in sc.flags),
        infusions_this_week=sum(n for d, n in infusions.items() if d >= week_start),
        sessions_this_week=sum(n for d, n in sessions.items() if d >= week_start),
        completed_this_week=completed,
    )


def team_meeting(session: Session, as_of: date, *, therapist_id: int | None = None,
                 read_at: datetime | None = None) -> TeamMeeting:
    """Everything the team meeting screen shows, for the clinic or one therapist."""
    week_start, week_end = week_bounds(as_of)
    series = compute_compliance(session, as_of, therapist_id=therapist_id)
    outcomes = outcome_summaries(session, as_of, therapist_id=therapist_id)
    in_care = _in_care(series, as_of)
    # Read only the habits of patients in care: the rule above, and the costliest read.
    habits = (habit_adherence(session, as_of, weeks=HABIT_WEEKS, patient_ids=sorted(in_care))
              if in_care else [])

    discussion = _discussion(series, outcomes, habits, as_of)
    wins = _wins(series, outcomes, habits, as_of, week_start)
    coming_end = as_of + timedelta(days=COMING_DAYS - 1)
    infusions, sessions = _appointments_by_day(
        session, min(week_start, as_of), max(week_end, coming_end), therapist_id)
    # Week totals use the Monday-Sunday week; the chart the next seven days.
    week_inf = Counter({d: n for d, n in infusions.items() if d <= week_end})
    week_ses = Counter({d: n for d, n in sessions.items() if d <= week_end})
    completed = sum(1 for sc in series if _completed_this_week(sc, week_start, as_of))
    labels = _labels(session, [r[0] for r in discussion] + [r[0] for r in wins])

    def label(pk: int) -> _Label:
        return labels.get(pk, _Label("?", "?", "?"))

    return TeamMeeting(
        as_of=as_of,
        read_at=read_at or datetime.now().astimezone(),
        week_start=week_start,
        week_end=week_end,
        headline=_headline(series, as_of, week_start, week_inf, week_ses, completed),
        discussion=tuple(
            DiscussionItem(topic, label(pk).initials, label(pk).code, label(pk).therapist,
                           progress, reason)
            for pk, topic, progress, reason in discussion),
        wins=tuple(WinItem(kind, label(pk).initials, label(pk).code, label(pk).therapist, detail)
                   for pk, kind, detail in wins),
        coming_week=tuple(
            DayLoad(day, infusions.get(day, 0), sessions.get(day, 0))
            for day in (as_of + timedelta(days=i) for i in range(COMING_DAYS))),
    )
