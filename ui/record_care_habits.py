"""Record care, Habits tab: the week grid (a habit a row, a day a column, ticked
in one go), adding a habit with its weekly target, ending one."""
from __future__ import annotations

import streamlit as st

from db import clock
from db.queries import record_care as q
from db.recording import add_habit, end_habit, fmt_day, save_habit_week

from .access import CurrentUser
from .forms import FieldSlots, flash, fresh_choice, save, seen_version, show_flash
from .text import md_escape

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def week_grid(user: CurrentUser, patient: q.PatientForm, grid: q.HabitWeekGrid) -> None:
    today = clock.today()
    if not grid.rows:
        st.caption("No habits running this week. Add one below.")
        return
    versions = {r.habit_id: seen_version("habit", r.habit_id, r.version) for r in grid.rows}
    with st.form(f"habit_week_{patient.pk}_{grid.week_start}"):
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
                ticked = col.checkbox(f"{row.name} {d.isoformat()}", value=d in row.done,
                                      disabled=closed, label_visibility="collapsed",
                                      key=f"hw_{row.habit_id}_{d.isoformat()}_{row.version}")
                if ticked:
                    ticks[row.habit_id].add(d)
            slots.slot(f"habit_{row.habit_id}")
        slots.slot("habit")
        show_flash("habit_week")
        if st.form_submit_button("Save the week", type="primary"):
            if save(slots, save_habit_week, user, patient.pk, grid.week_start, ticks, versions):
                flash(f"Check-ins for the week of {fmt_day(grid.week_start)} saved.",
                      where="habit_week")
                st.rerun()


def habit_forms(user: CurrentUser, patient: q.PatientForm, running: list[q.HabitRow]) -> None:
    add_col, end_col = st.columns(2)
    with add_col, st.form("add_habit"):
        st.markdown("**Add a habit**")
        slots = FieldSlots()
        name = st.text_input("Habit", placeholder="exercise, journaling, meditation…",
                             key="ah_name")
        slots.slot("name")
        target = st.number_input("Target days a week (1–7)", value=3, step=1, key="ah_target")
        slots.slot("target_per_week")
        start = st.date_input("Starting", value=clock.today(), format="YYYY-MM-DD", key="ah_start")
        slots.slot("start_date")
        show_flash("add_habit")
        if st.form_submit_button("Add habit", type="primary"):
            if save(slots, add_habit, user, patient.pk, name=name, target_per_week=int(target),
                    start_date=start):
                flash(f"Habit “{md_escape(name.strip())}” added.", where="add_habit")
                st.rerun()
    with end_col:
        if not running:
            return
        versions = {h.habit_id: seen_version("habit_end", h.habit_id, h.version) for h in running}
        fresh_choice("eh_habit", running, list(versions))
        with st.form("end_habit"):
            st.markdown("**End a habit**")
            slots = FieldSlots()
            habit = st.selectbox("Habit", running, format_func=lambda h: h.name, key="eh_habit")
            slots.slot("habit")
            end = st.date_input("Last day", value=clock.today(), format="YYYY-MM-DD", key="eh_end")
            slots.slot("end_date")
            show_flash("end_habit")
            if st.form_submit_button("End habit"):
                if save(slots, end_habit, user, habit.habit_id, end, versions[habit.habit_id]):
                    flash(f"Habit “{md_escape(habit.name)}” ends on {fmt_day(end)}.", where="end_habit")
                    st.rerun()
