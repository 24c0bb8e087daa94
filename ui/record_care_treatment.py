"""Record care, Infusions tab: start a series, book a standard run, record each
infusion, discontinue with a reason."""
from __future__ import annotations

from datetime import timedelta

import pandas as pd
import streamlit as st

from db import clock
from db.models import ROUTES
from db.queries import record_care as q
from db.recording import (
    discontinue_series,
    fmt_day,
    schedule_series_infusions,
    set_infusion_status,
    start_series,
)

from .access import CurrentUser
from .record_care_view import STATUS_WORDS, table_height
from .forms import FieldSlots, flash, fresh_choice, save, seen_version, show_flash

OUTCOMES = {s: STATUS_WORDS[s] for s in ("completed", "no_show", "cancelled")}
ROUTE_WORDS = {"IV": "IV (intravenous)", "IM": "IM (intramuscular)", "SL": "SL (sublingual)",
               "IN": "IN (intranasal)"}
PATTERN_WORDS = {2: "Mon/Wed/Fri", 3: "Mon/Thu"}


def treatment_section(user: CurrentUser, patient: q.PatientForm,
                      series: list[q.SeriesItem]) -> None:
    if not series:
        _start_form(user, patient)
        return
    show_flash("series")
    current = st.selectbox("Series", series, format_func=lambda s: s.label)
    done = sum(1 for i in current.infusions if i.status == "completed")
    booked = sum(1 for i in current.infusions if i.status == "scheduled")
    st.caption(f"{done} of {current.planned_infusions} infusions completed, {booked} booked."
               + (f" Discontinued: {current.discontinued_reason}"
                  if current.status == "discontinued" else ""))
    if current.infusions:
        st.dataframe(pd.DataFrame([
            {"Date": fmt_day(i.date), "Status": STATUS_WORDS[i.status],
             "Dose (mg/kg)": f"{i.dose_mg_per_kg:g}" if i.dose_mg_per_kg else "—",
             "Route": i.route or "—"} for i in current.infusions
        ]), hide_index=True, width="stretch", height=table_height(len(current.infusions)))
    left, right = st.columns(2)
    if current.status == "active":
        with left:
            _schedule_form(user, current)
        with right:
            _record_form(user, current)
        with st.expander("Discontinue this series"):
            _discontinue_form(user, current)
    with st.expander("Start a new series"):
        _start_form(user, patient)


def _start_form(user: CurrentUser, patient: q.PatientForm) -> None:
    with st.form("start_series"):
        st.markdown("**Start a new series**")
        slots = FieldSlots()
        kind = st.radio("Kind", ["induction", "booster"], horizontal=True, format_func=str.title,
                        key="ss_kind")
        slots.slot("kind")
        planned = st.number_input("Planned infusions (empty: the clinic's default)", value=None,
                                  step=1, key="ss_planned")
        slots.slot("planned_infusions")
        if st.form_submit_button("Start series", type="primary"):
            if save(slots, start_series, user, patient.pk, kind=kind,
                    planned_infusions=None if planned is None else int(planned)):
                flash(f"New {kind} series started.", where="series")
                st.rerun()


def _schedule_form(user: CurrentUser, series: q.SeriesItem) -> None:
    today = clock.today()
    next_monday = today + timedelta(days=(7 - today.weekday()) % 7 or 7)
    with st.form(f"schedule_{series.id}"):
        st.markdown("**Book the series' infusions**")
        slots = FieldSlots()
        slots.slot("series")
        start = st.date_input("First infusion on or after", value=next_monday, format="YYYY-MM-DD",
                              key="si_start")
        slots.slot("start")
        count = st.number_input("How many (empty: what the series still lacks)", value=None,
                                step=1, key="si_count")
        slots.slot("count")
        weeks = st.radio("Spread over", [2, 3], horizontal=True, key="si_weeks",
                         format_func=lambda w: f"{w} weeks ({PATTERN_WORDS[w]} for six)")
        slots.slot("weeks")
        show_flash("schedule")
        if st.form_submit_button("Book infusions", type="primary"):
            dates = save(slots, schedule_series_infusions, user, series.id, start=start,
                         count=None if count is None else int(count), weeks=weeks)
            if dates:
                flash(f"{len(dates)} infusions booked: " + ", ".join(fmt_day(d) for d in dates)
                      + ".", where="schedule")
                st.rerun()


def _record_form(user: CurrentUser, series: q.SeriesItem) -> None:
    open_items = [i for i in series.infusions if i.status == "scheduled"]
    if not open_items:
        show_flash("record_infusion")
        st.caption("No booked infusions waiting to be recorded.")
        return
    versions = {i.id: seen_version("infusion", i.id, i.version) for i in open_items}
    fresh_choice("ri_item", open_items, list(versions))
    with st.form(f"record_infusion_{series.id}"):
        st.markdown("**Record an infusion**")
        slots = FieldSlots()
        item = st.selectbox("Booked infusion", open_items, format_func=lambda i: fmt_day(i.date),
                            key="ri_item")
        slots.slot("infusion")
        status = st.radio("Outcome", list(OUTCOMES), horizontal=True, format_func=OUTCOMES.get,
                          key="ri_status")
        slots.slot("status")
        dose = st.number_input("Dose (mg/kg), when completed", value=None, step=0.05,
                               format="%.2f", key="ri_dose")
        slots.slot("dose_mg_per_kg")
        route = st.selectbox("Route, when completed", ROUTES, index=None, key="ri_route",
                             format_func=ROUTE_WORDS.get, placeholder="Choose the route")
        slots.slot("route")
        show_flash("record_infusion")
        if st.form_submit_button("Save infusion", type="primary"):
            if save(slots, set_infusion_status, user, item.id, status, versions[item.id],
                    dose_mg_per_kg=dose, route=route):
                flash(f"Infusion on {fmt_day(item.date)} recorded as {OUTCOMES[status].lower()}.",
                      where="record_infusion")
                st.rerun()


def _discontinue_form(user: CurrentUser, series: q.SeriesItem) -> None:
    version = seen_version("series", series.id, series.version)
    with st.form(f"discontinue_{series.id}"):
        slots = FieldSlots()
        slots.slot("series")
        reason = st.text_area("Reason", placeholder="e.g. side effects, moved away, chose to stop",
                              key="ds_reason")
        slots.slot("reason")
        st.caption("Infusions still booked from today on are cancelled.")
        if st.form_submit_button("Discontinue series"):
            if save(slots, discontinue_series, user, series.id, reason, version):
                flash(f"Series {series.number} discontinued.", where="series")
                st.rerun()
