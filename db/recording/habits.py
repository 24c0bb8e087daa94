"""Habits and the weekly check-in grid."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from .. import audit, clock
from ..limits import HABIT_TARGET_PER_WEEK, NAME_MAX
from ..models import Habit, HabitLog
from ..protocol import monday
from .common import (
    ActorLike,
    Errors,
    ValidationError,
    check_not_before_intake,
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

HABIT_FIELDS = ("name", "target_per_week", "start_date", "end_date")
MAX_NAME_CHARS = NAME_MAX


def _snapshot(row: Habit) -> dict:
    return values(row, HABIT_FIELDS) | {"version": row.version}


# The habit grid saves the same weeks the adherence rules count: one definition.
week_of = monday


def add_habit(session: Session, actor: ActorLike, patient_pk: int, *, name: str,
              target_per_week: int, start_date: date) -> Saved:
    name = " ".join((name or "").split())
    duplicate = ("name", f"This patient already has a habit called “{name}”.")
    with unit_of_work(session, actor, "habit", duplicate=duplicate):
        patient = load_patient(session, actor, patient_pk)
        errors = Errors()
        named = check_required_text(
            errors, "name", name, max_chars=MAX_NAME_CHARS, noun="name",
            empty="Name the habit, e.g. exercise, journaling, meditation.")
        if named and session.scalar(select(Habit.id).where(Habit.patient_id == patient.id,
                                                           Habit.name == name)) is not None:
            errors.add(*duplicate)
        if not HABIT_TARGET_PER_WEEK.holds(target_per_week):
            errors.add("target_per_week", f"The weekly target is {HABIT_TARGET_PER_WEEK.low} to "
                                          f"{HABIT_TARGET_PER_WEEK.high} days.")
        check_not_before_intake(errors, "start_date", start_date, patient)
        check_not_too_far(errors, "start_date", start_date)
        errors.raise_if_any()
        row = Habit(patient_id=patient.id, name=name, target_per_week=target_per_week,
                    start_date=start_date)
        session.add(row)
        session.flush()
        audit.record(session, actor.username, "habit.add", patient.patient_id,
                     habit_id=row.id, before=None, after=values(row, HABIT_FIELDS))
    return Saved(row.id, row.version)


def end_habit(session: Session, actor: ActorLike, habit_id: int, end_date: date,
              expected_version: int) -> Saved:
    with unit_of_work(session, actor, "habit", reload=reloader(Habit, habit_id, _snapshot)):
        row = load_row(session, Habit, habit_id, "habit")
        patient = load_patient(session, actor, row.patient_id)
        check_version("habit", row, expected_version, _snapshot)
        errors = Errors()
        if row.end_date is not None:
            errors.add("habit", f"This habit already ended on {fmt_day(row.end_date)}.")
        if end_date < row.start_date:
            errors.add("end_date", f"The habit started on {fmt_day(row.start_date)}; "
                                   "it cannot end before that.")
        check_not_too_far(errors, "end_date", end_date)
        errors.raise_if_any()
        before = values(row, HABIT_FIELDS)
        row.end_date = end_date
        session.flush()
        audit.record(session, actor.username, "habit.end", patient.patient_id,
                     habit_id=row.id, before=before, after=values(row, HABIT_FIELDS))
    return Saved(row.id, row.version)


def save_habit_week(session: Session, actor: ActorLike, patient_pk: int, week_start: date,
                    ticks: Mapping[int, set[date]],
                    expected_versions: Mapping[int, int]) -> dict[int, int]:
    """Save a week of check-ins in one go; returns each habit's new version.

    ``ticks`` maps a habit to the days it was done that week; a day not ticked
    is saved as not done only where a check-in already existed, so an empty
    grid adds nothing. Saving bumps each habit's version: two people ticking
    the same week cannot overwrite each other's grid unseen.
    """
    week_start = week_of(week_start)
    week = [week_start + timedelta(days=i) for i in range(7)]
    today = clock.today()

    def reload(s: Session):
        return _week_snapshot(s, list(expected_versions), week)

    with unit_of_work(session, actor, "week of check-ins", reload=reload):
        patient = load_patient(session, actor, patient_pk)
        habits = {h.id: h for h in session.scalars(
            select(Habit).where(Habit.patient_id == patient.id)
            .execution_options(populate_existing=True))}
        errors = Errors()
        for habit_id in set(ticks) | set(expected_versions):
            if habit_id not in habits or habit_id not in expected_versions:
                raise ValidationError({"habit": "A habit on this grid belongs to another patient "
                                                "or no longer exists; reload."})
        for habit_id, days in ticks.items():
            habit = habits[habit_id]
            for d in sorted(days):
                if d not in week:
                    errors.add(f"habit_{habit_id}", f"{fmt_day(d)} is not in this week.")
                elif d > today:
                    errors.add(f"habit_{habit_id}", f"{habit.name}: {fmt_day(d)} is in the future; "
                                                    "tick only days that have happened.")
                elif d < habit.start_date or (habit.end_date and d > habit.end_date):
                    errors.add(f"habit_{habit_id}", f"{habit.name}: not running on {fmt_day(d)}.")
        errors.raise_if_any()
        for habit_id, expected in expected_versions.items():
            check_version("week of check-ins", habits[habit_id], expected,
                          lambda _: _week_snapshot(session, list(expected_versions), week))
        existing = {(log.habit_id, log.date): log for log in session.scalars(
            select(HabitLog).where(HabitLog.habit_id.in_(list(expected_versions)),
                                   HabitLog.date >= week[0], HabitLog.date <= week[-1]))}
        before = {h: sorted(d.isoformat() for (hid, d), log in existing.items()
                            if hid == h and log.completed) for h in expected_versions}
        for habit_id in expected_versions:
            done = ticks.get(habit_id, set())
            for d in week:
                log = existing.get((habit_id, d))
                if d in done and log is None:
                    session.add(HabitLog(habit_id=habit_id, date=d, completed=True))
                elif log is not None and log.completed != (d in done):
                    log.completed = d in done
            # The explicit version bump is the optimistic lock on the grid: a
            # concurrent save of the same week finds its version gone.
            expected = expected_versions[habit_id]
            bumped = session.execute(
                update(Habit).where(Habit.id == habit_id, Habit.version == expected)
                .values(version=expected + 1)
                .execution_options(synchronize_session=False)
            ).rowcount
            if bumped != 1:
                raise StaleDataError("habit grid saved concurrently")
        session.flush()
        after = {h: sorted(d.isoformat() for d in ticks.get(h, set())) for h in expected_versions}
        audit.record(session, actor.username, "habit.week", patient.patient_id,
                     week_start=week_start.isoformat(),
                     before={str(k): v for k, v in before.items()},
                     after={str(k): v for k, v in after.items()})
    return {h: expected_versions[h] + 1 for h in expected_versions}


def _week_snapshot(session: Session, habit_ids: list[int], week: list[date]) -> dict[str, str]:
    """Each habit's ticked days of the week as saved now: what a stale grid is shown."""
    names = dict(session.execute(select(Habit.id, Habit.name).where(Habit.id.in_(habit_ids))).all())
    done: dict[int, list[str]] = {h: [] for h in names}
    for habit_id, d in session.execute(
        select(HabitLog.habit_id, HabitLog.date)
        .where(HabitLog.habit_id.in_(habit_ids), HabitLog.date >= week[0],
               HabitLog.date <= week[-1], HabitLog.completed.is_(True))
        .order_by(HabitLog.date)
    ):
        done[habit_id].append(f"{d:%a} {d.day}")
    return {names[h]: ", ".join(days) or "no days ticked" for h, days in done.items()}
