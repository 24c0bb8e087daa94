"""Habit adherence: how many days a week each habit was done, against its target.

Rules (see docs/protocol.md):

* Weeks run Monday to Sunday. The window is the N complete weeks before the
  week that contains the as-of date.
* A week counts for a habit when the habit had started on or before that
  week's Monday and had not ended before that week's Sunday (``end_date`` is
  empty or on/after the Sunday): the habit was live for the whole week, so a
  part-week never drags the figure down.
* done = distinct days with a completed log in the week, capped at the target.
  Adherence % = sum(done) / sum(target) x 100 over counted weeks, one decimal
  (half up); empty when no week counts.
* Streak: consecutive counted weeks with done >= target, going back from the
  newest complete week, looking back up to ``STREAK_LOOKBACK_WEEKS`` (or N, if
  larger) so that "held for four weeks or more" shows even with a shorter
  window. A week that does not count (not started yet, ended) ends the streak.
* During / after series: over the same lookback, counted weeks that overlap
  the patient's latest started series' [first infusion, window end] against
  counted weeks that begin after its window end.

Logs are read as per-habit, per-week counts of distinct completed days, an
aggregate in SQL over a bounded date range; week numbers come from a CASE over
Monday dates computed in Python, so no dialect-specific date arithmetic.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import NamedTuple

from sqlalchemy import case, distinct, func, select
from sqlalchemy.orm import Session

from ..models import Habit, HabitLog, Patient
from .compliance import _chunks, latest_started_windows
from .rates import percent

DEFAULT_WEEKS = 4
STREAK_LOOKBACK_WEEKS = 26


class WeekDone(NamedTuple):
    week_start: date
    done: int  # distinct completed days, capped at the target
    target: int
    counted: bool = True  # False: the habit was not live all that week


class HabitWeek(NamedTuple):
    habit_id: int
    week_start: date
    done: int
    target: int
    counted: bool
    days: int  # distinct completed days, uncapped


class CalendarDay(NamedTuple):
    date: date
    habit_id: int
    completed: bool


@dataclass(frozen=True)
class HabitAdherence:
    habit_id: int
    patient_pk: int
    patient_id: str
    habit: str
    target_per_week: int
    start_date: date
    end_date: date | None
    adherence_pct: float | None
    streak_weeks: int
    weeks_counted: int
    during_series_pct: float | None
    after_series_pct: float | None
    weekly: tuple[WeekDone, ...]


def monday(d: date) -> date:
    """The Monday of ``d``'s week (weeks run Monday to Sunday, as the rules count them)."""
    return d - timedelta(days=d.weekday())


def week_bounds(d: date) -> tuple[date, date]:
    """Monday and Sunday of the week that holds ``d``."""
    start = monday(d)
    return start, start + timedelta(days=6)


def complete_weeks_before(as_of: date, n: int) -> list[date]:
    """Mondays of the n complete weeks before the week holding as_of, oldest first."""
    this_week = monday(as_of)
    return [this_week - timedelta(weeks=k) for k in range(n, 0, -1)]


def week_counts(start_date: date, end_date: date | None, week_start: date) -> bool:
    return start_date <= week_start and (end_date is None or end_date >= week_start + timedelta(days=6))


def days_per_week(days: Iterable[date]) -> dict[date, int]:
    """Distinct days by Monday: a day logged twice counts once."""
    out: dict[date, int] = defaultdict(int)
    for d in set(days):
        out[monday(d)] += 1
    return dict(out)


def _pct_over(weeks: Iterable[WeekDone]) -> float | None:
    counted = [w for w in weeks if w.counted]
    return percent(sum(w.done for w in counted), sum(w.target for w in counted)) if counted else None


class HabitFigures(NamedTuple):
    adherence_pct: float | None
    streak_weeks: int
    weeks_counted: int
    during_series_pct: float | None
    after_series_pct: float | None
    weekly: tuple[WeekDone, ...]


def evaluate_habit(target: int, start_date: date, end_date: date | None,
                   days_by_week: Mapping[date, int], as_of: date, weeks: int = DEFAULT_WEEKS,
                   series_window: tuple[date, date] | None = None) -> HabitFigures:
    """The rules above for one habit; ``days_by_week`` maps Mondays to distinct
    completed days (see :func:`days_per_week`)."""
    lookback = complete_weeks_before(as_of, max(weeks, STREAK_LOOKBACK_WEEKS))
    history = [
        WeekDone(m, min(days_by_week.get(m, 0), target), target, True)
        if week_counts(start_date, end_date, m) else WeekDone(m, 0, 0, False)
        for m in lookback
    ]
    window = tuple(history[-weeks:])
    streak = 0
    for w in reversed(history):
        if not w.counted or w.done < w.target:
            break
        streak += 1
    during = after = None
    if series_window is not None:
        first, end = series_window
        during = _pct_over(w for w in history
                           if w.week_start <= end and w.week_start + timedelta(days=6) >= first)
        after = _pct_over(w for w in history if w.week_start > end)
    return HabitFigures(_pct_over(window), streak, sum(1 for w in window if w.counted),
                        during, after, window)


def _habit_scope(stmt, therapist_id: int | None, chunk: Sequence[int] | None):
    if chunk is not None:
        return stmt.where(Habit.patient_id.in_(chunk))
    if therapist_id is not None:
        return stmt.join(Patient, Patient.id == Habit.patient_id).where(
            Patient.therapist_id == therapist_id)
    return stmt


def _week_days(session: Session, mondays: Sequence[date], where) -> dict[tuple[int, date], int]:
    """(habit id, Monday) -> distinct completed days, grouped in SQL.

    ``where`` adds the scope to a select over HabitLog joined to Habit.
    """
    if not mondays:
        return {}
    newest_first = list(reversed(mondays))
    week_no = case(*[(HabitLog.date >= m, i) for i, m in enumerate(newest_first)], else_=-1)
    inner = where(
        select(HabitLog.habit_id, week_no.label("wk"), HabitLog.date)
        .join(Habit, Habit.id == HabitLog.habit_id)
        .where(HabitLog.completed.is_(True), HabitLog.date >= mondays[0],
               HabitLog.date <= mondays[-1] + timedelta(days=6))
    ).subquery()
    # Grouping on the subquery's column: PostgreSQL would not match the CASE in
    # SELECT with a separately bound copy of it in GROUP BY.
    q = (select(inner.c.habit_id, inner.c.wk, func.count(distinct(inner.c.date)))
         .group_by(inner.c.habit_id, inner.c.wk))
    return {(hid, newest_first[wk]): n for hid, wk, n in session.execute(q) if wk >= 0}


def habit_adherence(session: Session, as_of: date, *, weeks: int = DEFAULT_WEEKS,
                    therapist_id: int | None = None,
                    patient_ids: Sequence[int] | None = None) -> list[HabitAdherence]:
    """Adherence of every habit in scope, ordered by chart number and habit name."""
    if weeks < 1:
        raise ValueError("weeks must be at least 1")
    lookback = complete_weeks_before(as_of, max(weeks, STREAK_LOOKBACK_WEEKS))
    chunks: list[Sequence[int] | None] = (
        list(_chunks(patient_ids)) if patient_ids is not None else [None])
    habits = []
    counts: dict[tuple[int, date], int] = {}
    base = (select(Habit.id, Habit.patient_id, Patient.patient_id, Habit.name,
                   Habit.target_per_week, Habit.start_date, Habit.end_date)
            .join(Patient, Patient.id == Habit.patient_id))
    for chunk in chunks:
        if chunk is not None:
            habits.extend(session.execute(base.where(Habit.patient_id.in_(chunk))))
        elif therapist_id is not None:
            habits.extend(session.execute(base.where(Patient.therapist_id == therapist_id)))
        else:
            habits.extend(session.execute(base))
        counts.update(_week_days(session, lookback,
                                 lambda q, c=chunk: _habit_scope(q, therapist_id, c)))
    windows = latest_started_windows(session, therapist_id=therapist_id,
                                     patient_ids=patient_ids, as_of=as_of)
    by_habit: dict[int, dict[date, int]] = defaultdict(dict)
    for (hid, m), n in counts.items():
        by_habit[hid][m] = n
    out = []
    for hid, pk, chart, name, target, start, end in habits:
        f = evaluate_habit(target, start, end, by_habit.get(hid, {}), as_of, weeks,
                           windows.get(pk))
        out.append(HabitAdherence(hid, pk, chart, name, target, start, end, f.adherence_pct,
                                  f.streak_weeks, f.weeks_counted, f.during_series_pct,
                                  f.after_series_pct, f.weekly))
    out.sort(key=lambda h: (h.patient_id, h.habit))
    return out


def weekly_habit_series(session: Session, habit_ids: Sequence[int], start: date,
                        end: date) -> list[HabitWeek]:
    """One row per habit and week, for every week whose Monday falls between the
    Mondays of ``start`` and ``end`` (inclusive): for the patient page's charts."""
    if not habit_ids:
        return []
    first, last = monday(start), monday(end)
    mondays = []
    m = first
    while m <= last:
        mondays.append(m)
        m += timedelta(weeks=1)
    out: list[HabitWeek] = []
    for chunk in _chunks(habit_ids):
        habits = session.execute(
            select(Habit.id, Habit.target_per_week, Habit.start_date, Habit.end_date)
            .where(Habit.id.in_(chunk))).all()
        counts = _week_days(session, mondays, lambda q, c=chunk: q.where(Habit.id.in_(c)))
        for hid, target, h_start, h_end in habits:
            for m in mondays:
                days = counts.get((hid, m), 0)
                counted = week_counts(h_start, h_end, m)
                out.append(HabitWeek(hid, m, min(days, target), target, counted, days))
    out.sort(key=lambda r: (r.habit_id, r.week_start))
    return out


def habit_calendar(session: Session, patient_pk: int, start: date, end: date, *,
                   habit_id: int | None = None) -> list[CalendarDay]:
    """Logged days of one patient's habits (or one habit) between start and end
    inclusive, for a heatmap; a day with no log has no row."""
    q = (select(HabitLog.date, HabitLog.habit_id, HabitLog.completed)
         .join(Habit, Habit.id == HabitLog.habit_id)
         .where(Habit.patient_id == patient_pk, HabitLog.date >= start, HabitLog.date <= end)
         .order_by(HabitLog.date, HabitLog.habit_id))
    if habit_id is not None:
        q = q.where(HabitLog.habit_id == habit_id)
    return [CalendarDay(d, hid, bool(done)) for d, hid, done in session.execute(q)]
