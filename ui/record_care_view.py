"""Record care: the header with the count against the minimum, sessions, scores
and the patient's details. Each form saves through ``db.recording`` and shows
its messages beside the fields (ui.forms)."""
from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from db import clock
from db.models import INSTRUMENT_MAX
from db.queries import record_care as q
from db.queries.caseload import therapists
from db.recording import (
    add_measure,
    add_patient,
    book_session,
    fmt_day,
    reassign_therapist,
    set_session_status,
    update_patient,
)

from . import theme
from .access import CurrentUser
from .database import db_session
from .forms import FieldSlots, flash, fresh_choice, save, seen_version, show_flash
from .text import md_escape

STATUS_WORDS = theme.EVENT_STATUS_WORDS
OUTCOME_CHOICES = {s: STATUS_WORDS[s] for s in ("attended", "no_show", "cancelled")}
BOOKING_CHOICES = {"scheduled": "Booked (upcoming)", **OUTCOME_CHOICES}
EARLIEST = date(1900, 1, 1)


def minimum_header(patient: q.PatientForm, count: q.MinimumCount | None) -> None:
    st.subheader(f"{md_escape(patient.first_name)} {md_escape(patient.last_name)}")
    st.caption(f"Chart {md_escape(patient.chart)} · primary therapist "
               f"{md_escape(patient.therapist_name)} · intake {fmt_day(patient.intake_date)}")
    if count is None:
        st.info("No treatment series yet: start one under Infusions. The count of integration "
                "sessions against the minimum appears once it starts.", icon=":material/info:")
        return
    left, right = st.columns([2, 3])
    left.metric(f"Integration sessions, series {count.series_number}",
                f"{count.attended} of {count.required}",
                help="Attended integration sessions against the protocol minimum.")
    with right:
        theme.status_badge(count.status)
        # The engine's reason already states the count; say it once.
        st.write(count.reason or count.text + ".")


ROW_PX = 35


def table_height(rows: int, most: int = 12) -> int:
    """Room for every row up to ``most``: the grid otherwise keeps its old height after
    a save adds a row, hiding it until scrolled."""
    return ROW_PX * (min(rows, most) + 1) + 3


def _table(rows: list[dict]) -> None:
    if rows:
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch",
                     height=table_height(len(rows)))


def sessions_section(user: CurrentUser, patient: q.PatientForm, items: list[q.SessionItem],
                     count: q.MinimumCount | None) -> None:
    _table([{"Date": fmt_day(i.date), "Kind": i.kind.title(), "Status": STATUS_WORDS[i.status],
             "Duration": f"{i.duration_minutes} min" if i.duration_minutes else "—"}
            for i in items])
    book, record = st.columns(2)
    with book, st.form("book_session", clear_on_submit=False):
        st.markdown("**Book a session**")
        slots = FieldSlots()
        kind = st.radio("Kind", ["preparation", "integration"], index=1, horizontal=True,
                        format_func=str.title, key="bs_kind")
        slots.slot("kind")
        on = st.date_input("Date", value=clock.today(), format="YYYY-MM-DD", key="bs_date")
        slots.slot("date")
        status = st.selectbox("Status", list(BOOKING_CHOICES), format_func=BOOKING_CHOICES.get,
                              help="Book ahead, or record a session that already happened.",
                              key="bs_status")
        slots.slot("status")
        minutes = st.number_input("Duration (minutes, optional)", value=None, step=5,
                                  key="bs_minutes")
        slots.slot("duration_minutes")
        show_flash("book_session")
        if st.form_submit_button("Book session", type="primary"):
            done = save(slots, book_session, user, patient.pk, kind=kind, on=on, status=status,
                        duration_minutes=None if minutes is None else int(minutes))
            if done:
                flash(f"{kind.title()} session on {fmt_day(on)} saved "
                      f"({BOOKING_CHOICES[status].lower()}).", where="book_session")
                st.rerun()
    open_items = [i for i in items if i.status == "scheduled"]
    with record:
        if not open_items:
            # The confirmation of the last booking recorded, now that its form is gone.
            show_flash("record_session")
            st.caption("No booked sessions waiting to be recorded.")
            return
        versions = {i.id: seen_version("session", i.id, i.version) for i in open_items}
        fresh_choice("rs_item", open_items, list(versions))
        with st.form("record_session"):
            st.markdown("**Record how a booked session went**")
            slots = FieldSlots()
            item = st.selectbox("Booked session", open_items,
                                format_func=lambda i: f"{fmt_day(i.date)} · {i.kind}",
                                key="rs_item")
            slots.slot("session")
            status = st.radio("Outcome", list(OUTCOME_CHOICES), horizontal=True,
                              format_func=OUTCOME_CHOICES.get, key="rs_status")
            slots.slot("status")
            minutes = st.number_input("Duration (minutes, optional)", value=None, step=5,
                                      key="rs_minutes")
            slots.slot("duration_minutes")
            show_flash("record_session")
            if st.form_submit_button("Save outcome", type="primary"):
                done = save(slots, set_session_status, user, item.id, status, versions[item.id],
                            duration_minutes=None if minutes is None else int(minutes))
                if done:
                    flash(f"{item.kind.title()} session on {fmt_day(item.date)} recorded as "
                          f"{OUTCOME_CHOICES[status].lower()}. " + _count_after(patient.pk),
                          where="record_session")
                    st.rerun()


def _count_after(patient_pk: int) -> str:
    with db_session() as session:
        count = q.minimum_count(session, patient_pk, clock.today())
    return f"Now {count.text}." if count else ""


def scores_section(user: CurrentUser, patient: q.PatientForm, scores: list[q.ScoreItem]) -> None:
    form_col, list_col = st.columns(2)
    with form_col, st.form("add_score"):
        slots = FieldSlots()
        instrument = st.selectbox("Instrument", list(INSTRUMENT_MAX),
                                  format_func=lambda i: f"{i} (0–{INSTRUMENT_MAX[i]})",
                                  key="sc_instrument")
        slots.slot("instrument")
        on = st.date_input("Date", value=clock.today(), format="YYYY-MM-DD", key="sc_date")
        slots.slot("date")
        score = st.number_input("Total score", value=None, step=1, key="sc_score")
        slots.slot("score")
        show_flash("add_score")
        if st.form_submit_button("Save score", type="primary"):
            if score is None:
                slots.show({"score": "Enter the total score."})
            elif save(slots, add_measure, user, patient.pk, instrument=instrument, on=on,
                      score=int(score) if float(score).is_integer() else score):
                flash(f"{instrument} {int(score)} on {fmt_day(on)} saved.", where="add_score")
                st.rerun()
    with list_col:
        _table([{"Date": fmt_day(s.date), "Instrument": s.instrument, "Score": s.score}
                for s in scores])


def patient_section(user: CurrentUser, patient: q.PatientForm) -> None:
    version = seen_version("patient", patient.pk, patient.version)
    # Keys carry the version: once the record changes, the form shows the saved values.
    k = f"{patient.pk}_{patient.version}"
    with st.form(f"patient_{patient.pk}"):
        st.markdown("**Details and intentions**")
        slots = FieldSlots()
        first = st.text_input("First name", value=patient.first_name, key=f"pf_first_{k}")
        slots.slot("first_name")
        last = st.text_input("Last name", value=patient.last_name, key=f"pf_last_{k}")
        slots.slot("last_name")
        born = st.date_input("Date of birth", value=patient.date_of_birth, min_value=EARLIEST,
                             format="YYYY-MM-DD", key=f"pf_born_{k}")
        slots.slot("date_of_birth")
        intake = st.date_input("Intake date", value=patient.intake_date, min_value=EARLIEST,
                               format="YYYY-MM-DD", key=f"pf_intake_{k}")
        slots.slot("intake_date")
        intentions = st.text_area("Intentions", value=patient.intentions, key=f"pf_intentions_{k}")
        slots.slot("intentions")
        show_flash("patient")
        if st.form_submit_button("Save details", type="primary"):
            if save(slots, update_patient, user, patient.pk, version, first_name=first,
                    last_name=last, date_of_birth=born, intake_date=intake,
                    intentions=intentions):
                flash("Patient details saved.", where="patient")
                st.rerun()
    if user.role == "medical_director":
        _reassign_form(user, patient, version)


def _reassign_form(user: CurrentUser, patient: q.PatientForm, version: int) -> None:
    with db_session() as session:
        options = therapists(session)
    with st.form(f"reassign_{patient.pk}"):
        st.markdown("**Primary therapist**")
        slots = FieldSlots()
        ids = [o.id for o in options]
        names = {o.id: o.full_name for o in options}
        current = ids.index(patient.therapist_id) if patient.therapist_id in ids else 0
        chosen = st.selectbox("Hand over to", ids, format_func=names.get, key="ra_therapist",
                              index=current)
        slots.slot("therapist_id")
        show_flash("reassign")
        if st.form_submit_button("Reassign"):
            if save(slots, reassign_therapist, user, patient.pk, chosen, version):
                flash(f"Primary therapist is now {names[chosen]}; upcoming sessions moved too.",
                      where="reassign")
                st.rerun()


def add_patient_form(user: CurrentUser) -> int | None:
    """The 'new patient' form; returns the new patient's pk once saved."""
    with st.form("add_patient", clear_on_submit=False):
        slots = FieldSlots()
        chart = st.text_input("Chart number", key="np_chart")
        slots.slot("patient_id")
        first = st.text_input("First name", key="np_first")
        slots.slot("first_name")
        last = st.text_input("Last name", key="np_last")
        slots.slot("last_name")
        born = st.date_input("Date of birth", value=None, min_value=EARLIEST, format="YYYY-MM-DD",
                             key="np_born")
        slots.slot("date_of_birth")
        intake = st.date_input("Intake date", value=clock.today(), min_value=EARLIEST,
                               format="YYYY-MM-DD", key="np_intake")
        slots.slot("intake_date")
        therapist_id = user.id
        if user.role == "medical_director":
            with db_session() as session:
                options = therapists(session)
            therapist_id = st.selectbox("Primary therapist", [o.id for o in options],
                                        format_func={o.id: o.full_name for o in options}.get,
                                        key="np_therapist")
        slots.slot("therapist_id")
        intentions = st.text_area("Intentions (optional)", key="np_intentions")
        slots.slot("intentions")
        if st.form_submit_button("Add patient", type="primary"):
            if born is None:
                slots.show({"date_of_birth": "Enter the date of birth."})
                return None
            saved = save(slots, add_patient, user, patient_id=chart, first_name=first,
                         last_name=last, date_of_birth=born, intake_date=intake,
                         intentions=intentions, therapist_id=therapist_id)
            if saved:
                flash(f"Patient {chart.strip()} added.")
                return saved.id
    return None
