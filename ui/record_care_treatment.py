"""Record care, Infusions tab: start a series, book a standard run, record each
infusion, cancel a booked one or discontinue the series (both ask first).

Every widget is keyed by the patient (``RecordScope.key``) and, inside a series,
by the series: the tab drawn for one patient never shows another's series."""
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
from .confirm import confirm_button
from .forms import (
    FieldSlots,
    RecordScope,
    date_field,
    fresh_choice,
    record_form,
    save,
    seen_version,
)
from .record_care_view import STATUS_WORDS, cancel_box, table_height
from .text import md_escape

# Cancelling a booked infusion is not an outcome of the form: it asks first.
OUTCOMES = {s: STATUS_WORDS[s] for s in ("completed", "no_show")}
ROUTE_WORDS = {"IV": "IV (intravenous)", "IM": "IM (intramuscular)", "SL": "SL (sublingual)",
               "IN": "IN (intranasal)"}
PATTERN_WORDS = {2: "Mon/Wed/Fri", 3: "Mon/Thu"}


def treatment_section(user: CurrentUser, scope: RecordScope, patient: q.PatientForm,
                      series: list[q.SeriesItem]) -> None:
    if not series:
        scope.show_flash("series")
        _start_form(user, scope)
        return
    scope.show_flash("series")
    by_id = {s.id: s for s in series}
    pick = scope.key("tr_series")
    fresh_choice(pick, list(by_id), list(by_id))
    current = by_id[st.selectbox("Series", list(by_id), format_func=lambda i: by_id[i].label,
                                 key=pick)]
    done = sum(1 for i in current.infusions if i.status == "completed")
    booked = sum(1 for i in current.infusions if i.status == "scheduled")
    st.caption(f"{md_escape(scope.label)}: {done} of {current.planned_infusions} infusions "
               f"completed, {booked} booked."
               + (f" Discontinued: {md_escape(current.discontinued_reason or '')}"
                  if current.status == "discontinued" else ""))
    if current.infusions:
        st.dataframe(pd.DataFrame([
            {"Date": fmt_day(i.date), "Status": STATUS_WORDS[i.status],
             "Dose (mg/kg)": f"{i.dose_mg_per_kg:g}" if i.dose_mg_per_kg else "—",
             "Route": i.route or "—"} for i in current.infusions
        ]), hide_index=True, width="stretch", height=table_height(len(current.infusions)),
            key=scope.key(f"tr_infusions_{current.id}"))
    left, right = st.columns(2)
    if current.status == "active":
        with left:
            _schedule_form(user, scope, current)
        with right:
            _record_form(user, scope, current)
        with st.expander("Discontinue this series"):
            _discontinue(user, scope, current)
    with st.expander("Start a new series"):
        _start_form(user, scope)


def _start_form(user: CurrentUser, scope: RecordScope) -> None:
    with record_form(scope, "start_series", "Start a new series") as form:
        slots = FieldSlots()
        kind = st.radio("Kind", ["induction", "booster"], horizontal=True, format_func=str.title,
                        key=scope.key("ss_kind"))
        slots.slot("kind")
        planned = st.number_input("Planned infusions (empty: the clinic's default)", value=None,
                                  step=1, key=scope.key("ss_planned"))
        slots.slot("planned_infusions")
        if form.submitted("Start series", type="primary"):
            if save(slots, start_series, user, scope.id, kind=kind,
                    planned_infusions=None if planned is None else int(planned)):
                scope.flash("series", f"New {kind} series started for {scope.label}.")
                st.rerun()


def _schedule_form(user: CurrentUser, scope: RecordScope, series: q.SeriesItem) -> None:
    today = clock.today()
    next_monday = today + timedelta(days=(7 - today.weekday()) % 7 or 7)
    with record_form(scope, f"schedule_{series.id}", "Book the series' infusions") as form:
        slots = FieldSlots()
        slots.slot("series")
        start = date_field("First infusion on or after", value=next_monday,
                           key=scope.key("si_start"))
        slots.slot("start")
        count = st.number_input("How many (empty: what the series still lacks)", value=None,
                                step=1, key=scope.key("si_count"))
        slots.slot("count")
        weeks = st.radio("Spread over", [2, 3], horizontal=True, key=scope.key("si_weeks"),
                         format_func=lambda w: f"{w} weeks ({PATTERN_WORDS[w]} for six)")
        slots.slot("weeks")
        scope.show_flash("schedule")
        if form.submitted("Book infusions", type="primary"):
            if start is None:
                slots.show({"start": "Enter the day of the first infusion."})
                return
            dates = save(slots, schedule_series_infusions, user, series.id, start=start,
                         count=None if count is None else int(count), weeks=weeks)
            if dates:
                scope.flash("schedule", f"{len(dates)} infusions booked for {scope.label}: "
                            + ", ".join(fmt_day(d) for d in dates) + ".")
                st.rerun()


def _record_form(user: CurrentUser, scope: RecordScope, series: q.SeriesItem) -> None:
    open_items = {i.id: i for i in series.infusions if i.status == "scheduled"}
    if not open_items:
        scope.show_flash("record_infusion")
        scope.show_flash("cancel_infusion")
        st.caption("No booked infusions waiting to be recorded.")
        return
    versions = {i: seen_version("infusion", i, item.version) for i, item in open_items.items()}
    pick = scope.key("ri_item")
    fresh_choice(pick, list(open_items), list(open_items))
    with record_form(scope, f"record_infusion_{series.id}", "Record an infusion") as form:
        slots = FieldSlots()
        item_id = st.selectbox("Booked infusion", list(open_items),
                               format_func=lambda i: fmt_day(open_items[i].date), key=pick)
        slots.slot("infusion")
        status = st.radio("Outcome", list(OUTCOMES), horizontal=True, format_func=OUTCOMES.get,
                          key=scope.key("ri_status"))
        slots.slot("status")
        dose = st.number_input("Dose (mg/kg), when completed", value=None, step=0.05,
                               format="%.2f", key=scope.key("ri_dose"))
        slots.slot("dose_mg_per_kg")
        route = st.selectbox("Route, when completed", ROUTES, index=None,
                             key=scope.key("ri_route"), format_func=ROUTE_WORDS.get,
                             placeholder="Choose the route")
        slots.slot("route")
        scope.show_flash("record_infusion")
        if form.submitted("Save infusion", type="primary"):
            item = open_items.get(item_id)
            if item is None:
                slots.show({"infusion": "Choose a booked infusion of this series."})
            elif save(slots, set_infusion_status, user, item.id, status, versions[item.id],
                      dose_mg_per_kg=dose, route=route):
                scope.flash("record_infusion", f"Infusion on {fmt_day(item.date)} recorded as "
                                               f"{OUTCOMES[status].lower()} for {scope.label}.")
                st.rerun()
    _cancel_infusion(user, scope, series, open_items, versions)


def _cancel_infusion(user: CurrentUser, scope: RecordScope, series: q.SeriesItem,
                     open_items: dict, versions: dict[int, int]) -> None:
    cancel_box(user, scope, open_items, versions, title="Cancel a booked infusion",
               picker=(f"ci_item_{series.id}", "Infusion to cancel",
                       lambda item: fmt_day(item.date)),
               what=lambda item: f"the infusion of {fmt_day(item.date)} (series {series.number})",
               write=set_infusion_status, flash_key="cancel_infusion",
               button=("ci_cancel", "Cancel infusion"))


def _discontinue(user: CurrentUser, scope: RecordScope, series: q.SeriesItem) -> None:
    """The reason is typed first; the series stops only once the dialog is confirmed."""
    version = seen_version("series", series.id, series.version)
    scope.name_it()
    reason = st.text_area("Reason", placeholder="e.g. side effects, moved away, chose to stop",
                          key=scope.key(f"ds_reason_{series.id}"))
    st.caption("Infusions still booked from today on are cancelled.")

    def stop(series_id: int = series.id, reason: str = reason, version: int = version) -> bool:
        if save(FieldSlots(), discontinue_series, user, series_id, reason, version):
            scope.flash("series", f"Series {series.number} of {scope.label} discontinued.")
            return True
        return False

    confirm_button("Discontinue series…", key=scope.key(f"ds_confirm_{series.id}"),
                   record_id=series.id, record_label=scope.label,
                   question=f"Discontinue series {series.number} ({series.kind}) of "
                            f"{scope.label}? Infusions still booked from today on are cancelled.",
                   action_label="Discontinue series", act=stop)
