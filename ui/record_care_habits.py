"""Record care, Habits tab: the week grid (a habit a row, a day a column, ticked
in one go), adding a habit with its weekly target, ending one."""
from __future__ import annotations

import streamlit as st

from db import clock
from db.limits import HABIT_TARGET_PER_WEEK
from db.queries import record_care as q
from db.recording import add_habit, end_habit, fmt_day, save_habit_week

from .access import CurrentUser
from .forms import FieldSlots, RecordScope, date_field, fresh_choice, record_form, save, seen_version
from .text import md_escape

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def week_grid(user: CurrentUser, scope: RecordScope, patient: q.PatientForm,
              grid: q.HabitWeekGrid) -> None:
    today = clock.today()
    if not grid.rows:
        st.caption("No habits running this week. Add one below.")
        return
    versions = {r.habit_id: seen_version("habit", r.habit_id, r.version) for r in grid.rows}
    with record_form(scope, f"habit_week_{grid.week_start}") as form:
        st.markdown(f"**Week of {fmt_day(grid.week_start)}**: tick the days each habit was done")
        slots = FieldSlots()
        widths = [3] + [1] * 7
        header = st.columns(widths)
        header[0].markdown("**Habit** (target a week)")
        for col, d in zip(header[1:], grid.days, strict=True):
            col.markdown(f"**{WEEKDAYS[d.weekday()]}** {d.day}")
        ticks: dict[int, set] = {}
        for row in grid.rows:
            cols = st.columns(widths)
            cols[0].write(f"{md_escape(row.name)} ({row.target_per_week}×)")
            ticks[row.habit_id] = set()
            for col, d in zip(cols[1:], grid.days, strict=True):
                # Days to come and days the habit was not running cannot be ticked.
                closed = d > today or not row.running_on(d)
                # The label is Markdown even when collapsed (its aria-label is the raw text).
                ticked = col.checkbox(f"{md_escape(row.name)} {d.isoformat()}", value=d in row.done,
                                      disabled=closed, label_visibility="collapsed",
                                      key=f"hw_{row.habit_id}_{d.isoformat()}_{row.version}")
                if ticked:
                    ticks[row.habit_id].add(d)
            slots.slot(f"habit_{row.habit_id}")
        slots.slot("habit")
        scope.show_flash("habit_week")
        if form.submitted("Save the week", type="primary"):
            if save(slots, save_habit_week, user, scope.id, grid.week_start, ticks, versions):
                scope.flash("habit_week", f"Check-ins for the week of {fmt_day(grid.week_start)} "
                                          f"saved for {scope.label}.")
                st.rerun()


def habit_forms(user: CurrentUser, scope: RecordScope, patient: q.PatientForm,
                running: list[q.HabitRow]) -> None:
    add_col, end_col = st.columns(2)
    with add_col, record_form(scope, "add_habit", "Add a habit") as form:
        slots = FieldSlots()
        name = st.text_input("Habit", placeholder="exercise, journaling, meditation…",
                             key=scope.key("ah_name"))
        slots.slot("name")
        target = st.number_input(f"Target days a week ({HABIT_TARGET_PER_WEEK.span})", value=3, step=1,
                                 key=scope.key("ah_target"))
        slots.slot("target_per_week")
        start = date_field("Starting", value=clock.today(), key=scope.key("ah_start"))
        slots.slot("start_date")
        scope.show_flash("add_habit")
        if form.submitted("Add habit", type="primary"):
            missing = {f: m for f, m, v in (("target_per_week", "Enter the weekly target.", target),
                                            ("start_date", "Enter the first day.", start))
                       if v is None}
            if missing:
                slots.show(missing)
            elif save(slots, add_habit, user, scope.id, name=name, target_per_week=int(target),
                      start_date=start):
                scope.flash("add_habit", f"Habit “{name.strip()}” added for {scope.label}.")
                st.rerun()
    with end_col:
        if not running:
            return
        by_id = {h.habit_id: h for h in running}
        versions = {h: seen_version("habit_end", h, row.version) for h, row in by_id.items()}
        pick = scope.key("eh_habit")
        fresh_choice(pick, list(by_id), list(by_id))
        with record_form(scope, "end_habit", "End a habit") as form:
            slots = FieldSlots()
            habit_id = st.selectbox("Habit", list(by_id), format_func=lambda h: by_id[h].name,
                                    key=pick)
            slots.slot("habit")
            end = date_field("Last day", value=clock.today(), key=scope.key("eh_end"))
            slots.slot("end_date")
            scope.show_flash("end_habit")
            if form.submitted("End habit"):
                habit = by_id.get(habit_id)
                if habit is None:
                    slots.show({"habit": "Choose a running habit of this patient."})
                elif end is None:
                    slots.show({"end_date": "Enter the last day."})
                elif save(slots, end_habit, user, habit.habit_id, end, versions[habit.habit_id]):
                    scope.flash("end_habit", f"Habit “{habit.name}” of {scope.label} ends on "
                                             f"{fmt_day(end)}.")
                    st.rerun()
