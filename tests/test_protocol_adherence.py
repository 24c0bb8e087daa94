"""Habit adherence: weeks, counted weeks, caps, streaks, during/after series."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from db.protocol import (
    STREAK_LOOKBACK_WEEKS,
    WeekDone,
    complete_weeks_before,
    days_per_week,
    evaluate_habit,
    habit_adherence,
    habit_calendar,
    week_counts,
    weekly_habit_series,
)
from tests.protocol_builders import Clinic

AS_OF = date(2026, 6, 3)  # a Wednesday; the window is 4 May - 31 May
W = [date(2026, 5, 4), date(2026, 5, 11), date(2026, 5, 18), date(2026, 5, 25)]


def days(monday: date, n: int) -> list[date]:
    return [monday + timedelta(days=i) for i in range(n)]


def logs(*per_week: int) -> list[date]:
    """Completed days in the four window weeks, n days from each Monday."""
    return [day for m, n in zip(W, per_week) for day in days(m, n)]


def test_window_is_the_complete_weeks_before_the_current_one():
    assert complete_weeks_before(AS_OF, 4) == W
    # On a Monday the week that just began is not complete, so it is left out.
    assert complete_weeks_before(date(2026, 6, 1), 4) == W
    assert complete_weeks_before(date(2026, 6, 7), 4) == W  # the Sunday
    assert complete_weeks_before(date(2026, 6, 8), 1) == [date(2026, 6, 1)]


@pytest.mark.parametrize("start,end,monday,counts", [
    (date(2026, 5, 4), None, date(2026, 5, 4), True),  # starts on that Monday
    (date(2026, 5, 5), None, date(2026, 5, 4), False),  # starts mid-week
    (date(2026, 5, 5), None, date(2026, 5, 11), True),
    (date(2026, 5, 1), date(2026, 5, 10), date(2026, 5, 4), True),  # ends on the Sunday
    (date(2026, 5, 1), date(2026, 5, 9), date(2026, 5, 4), False),  # ends on the Saturday
    (date(2026, 5, 1), date(2026, 5, 9), date(2026, 5, 11), False),
])
def test_which_weeks_count(start, end, monday, counts):
    assert week_counts(start, end, monday) is counts


def test_duplicate_logs_count_once():
    assert days_per_week([date(2026, 5, 4), date(2026, 5, 4), date(2026, 5, 6),
                          date(2026, 5, 11)]) == {date(2026, 5, 4): 2, date(2026, 5, 11): 1}


# (name, target, start, end, completed days, pct, streak, weeks_counted, weekly done)
CASES = [
    ("all met", 3, date(2026, 5, 4), None, logs(3, 3, 3, 3), 100.0, 4, 4, (3, 3, 3, 3)),
    ("capped at the target", 3, date(2026, 5, 4), None, logs(7, 7, 0, 3), 75.0, 1, 4,
     (3, 3, 0, 3)),
    ("two thirds, one decimal", 3, date(2026, 5, 4), None, logs(2, 2, 2, 2), 66.7, 0, 4,
     (2, 2, 2, 2)),
    ("starts mid-week: that week does not count", 4, date(2026, 5, 6), None,
     logs(0, 4, 4, 4), 100.0, 3, 3, (0, 4, 4, 4)),
    ("ended on a Sunday: that week counts", 2, date(2026, 5, 4), date(2026, 5, 24),
     logs(2, 1, 2, 2), 83.3, 0, 3, (2, 1, 2, 0)),
    ("ended mid-week: that week does not count", 2, date(2026, 5, 4), date(2026, 5, 20),
     logs(2, 2, 2, 0), 100.0, 0, 2, (2, 2, 0, 0)),
    ("no counted week: empty", 2, date(2026, 5, 27), None, logs(0, 0, 0, 2), None, 0, 0,
     (0, 0, 0, 0)),
    ("streak broken by the newest week", 1, date(2026, 5, 4), None, logs(1, 1, 1, 0), 75.0,
     0, 4, (1, 1, 1, 0)),
    ("half up rounding: 1 of 16 days", 4, date(2026, 5, 4), None, logs(1, 0, 0, 0), 6.3, 0, 4,
     (1, 0, 0, 0)),
]


def _check(fig, pct, streak, counted, done):
    assert fig.adherence_pct == pct
    assert fig.streak_weeks == streak
    assert fig.weeks_counted == counted
    assert tuple(w.done for w in fig.weekly) == done
    assert [w.week_start for w in fig.weekly] == W


@pytest.mark.parametrize("name,target,start,end,done_days,pct,streak,counted,done", CASES,
                         ids=[c[0] for c in CASES])
def test_rules_on_plain_rows(name, target, start, end, done_days, pct, streak, counted, done):
    fig = evaluate_habit(target, start, end, days_per_week(done_days), AS_OF, 4)
    _check(fig, pct, streak, counted, done)


@pytest.mark.parametrize("name,target,start,end,done_days,pct,streak,counted,done", CASES,
                         ids=[c[0] for c in CASES])
def test_rules_on_the_database(session, name, target, start, end, done_days, pct, streak,
                               counted, done):
    clinic = Clinic(session)
    p = clinic.patient()
    # Logs marked not done, and completed logs outside the window, must not count.
    done_set = set(done_days)
    not_done = [x for m in W for x in days(m, 7) if x not in done_set][:5]
    extra = [AS_OF, date(2026, 6, 1)] if end is None else []
    clinic.habit(p, "walk", target, start, end, done=done_days + extra, not_done=not_done)
    session.commit()
    [h] = habit_adherence(session, AS_OF, weeks=4, patient_ids=[p.id])
    _check(h, pct, streak, counted, done)
    assert (h.habit, h.target_per_week, h.patient_id) == ("walk", target, p.patient_id)


def test_weekly_rows_show_uncounted_weeks():
    fig = evaluate_habit(3, date(2026, 5, 13), None, {}, AS_OF, 4)
    assert fig.weekly[:2] == (WeekDone(W[0], 0, 0, False), WeekDone(W[1], 0, 0, False))
    assert fig.weekly[2] == WeekDone(W[2], 0, 3, True)


def test_streak_looks_back_beyond_the_window():
    start = date(2025, 1, 6)  # a Monday, long before the lookback
    done = [d for m in complete_weeks_before(AS_OF, 60) for d in days(m, 2)]
    fig = evaluate_habit(2, start, None, days_per_week(done), AS_OF, 4)
    assert fig.streak_weeks == STREAK_LOOKBACK_WEEKS
    fig = evaluate_habit(2, date(2026, 3, 2), None, days_per_week(done), AS_OF, 4)
    assert fig.streak_weeks == 13  # 2 March - 31 May
    fig = evaluate_habit(2, start, None, days_per_week(done), AS_OF, 30)
    assert fig.streak_weeks == 30 and len(fig.weekly) == 30


def test_during_and_after_the_series():
    # Series 4-15 May with grace: window 4-22 May. Weeks of 4, 11, 18 May overlap
    # it; 25 May and on is after.
    done = logs(3, 3, 3, 1)
    fig = evaluate_habit(3, date(2026, 5, 4), None, days_per_week(done), AS_OF, 4,
                         (date(2026, 5, 4), date(2026, 5, 22)))
    assert (fig.during_series_pct, fig.after_series_pct) == (100.0, 33.3)
    fig = evaluate_habit(3, date(2026, 5, 4), None, days_per_week(done), AS_OF, 4,
                         (date(2026, 5, 20), date(2026, 6, 5)))
    assert fig.after_series_pct is None and fig.during_series_pct == 66.7  # 4 of 6
    fig = evaluate_habit(3, date(2026, 5, 4), None, days_per_week(done), AS_OF, 4, None)
    assert (fig.during_series_pct, fig.after_series_pct) == (None, None)


def test_during_and_after_from_the_database(session):
    clinic = Clinic(session)
    p = clinic.patient()
    clinic.series(p, infusions=[(date(2026, 5, 4), "completed"), (date(2026, 5, 15), "completed")])
    clinic.habit(p, "yoga", 3, date(2026, 5, 4), done=logs(3, 3, 3, 1))
    session.commit()
    [h] = habit_adherence(session, AS_OF)
    assert (h.during_series_pct, h.after_series_pct) == (100.0, 33.3)


def test_scope_and_charts(session):
    clinic = Clinic(session)
    other = clinic.staff("t_two")
    a = clinic.patient("A1")
    b = clinic.patient("B1", therapist=other)
    ha = clinic.habit(a, "walk", 2, date(2026, 5, 4), done=logs(2, 1, 0, 5) + [AS_OF],
                      not_done=[date(2026, 5, 31)])
    clinic.habit(b, "read", 2, date(2026, 5, 4), done=logs(1, 1, 1, 1))
    session.commit()
    assert [h.patient_id for h in habit_adherence(session, AS_OF, therapist_id=other.id)] == ["B1"]
    assert [h.patient_id for h in habit_adherence(session, AS_OF)] == ["A1", "B1"]
    rows = weekly_habit_series(session, [ha.id], date(2026, 5, 6), date(2026, 6, 3))
    assert [(r.week_start, r.done, r.days, r.counted) for r in rows] == [
        (W[0], 2, 2, True), (W[1], 1, 1, True), (W[2], 0, 0, True), (W[3], 2, 5, True),
        (date(2026, 6, 1), 1, 1, True)]
    cal = habit_calendar(session, a.id, date(2026, 5, 25), date(2026, 5, 31))
    assert [(c.date.day, c.completed) for c in cal] == [
        (25, True), (26, True), (27, True), (28, True), (29, True), (31, False)]
    assert all(c.habit_id == ha.id for c in cal)
    assert habit_calendar(session, a.id, date(2026, 5, 1), date(2026, 5, 3)) == []


def test_the_database_refuses_a_second_log_for_the_same_day(session):
    from sqlalchemy.exc import IntegrityError

    from db.models import HabitLog

    clinic = Clinic(session)
    h = clinic.habit(clinic.patient(), "walk", 2, W[0], done=[W[0]])
    session.add(HabitLog(habit_id=h.id, date=W[0], completed=True))
    with pytest.raises(IntegrityError):
        session.flush()
