"""Record care: the header with the count against the minimum, sessions, scores
and the patient's details. Each form saves through ``db.recording`` and shows
its messages beside the fields (ui.forms)."""
from __future__ import annotations

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
from .confirm import confirm_button
from .forms import (
    FieldSlots,
    RecordScope,
    date_field,
    flash,
    fresh_choice,
    record_form,
    save,
    seen_version,
)
from .text import md_escape

STATUS_WORDS = theme.EVENT_STATUS_WORDS
# Cancelling a booking is not an outcome of the form: it asks first (_cancel_session).
OUTCOME_CHOICES = {s: STATUS_WORDS[s] for s in ("attended", "no_show")}
BOOKING_CHOICES = {"scheduled": "Booked (upcoming)", **OUTCOME_CHOICES,
                   "cancelled": STATUS_WORDS["cancelled"]}


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


def patient_scope(patient: q.PatientForm) -> RecordScope:
    """What Record care's forms are drawn for: this patient, named as on the page."""
    return RecordScope("patient", patient.pk,
                       f"{patient.first_name} {patient.last_name} ({patient.chart})")


def sessions_section(user: CurrentUser, scope: RecordScope, patient: q.PatientForm,
                     items: list[q.SessionItem], count: q.MinimumCount | None) -> None:
    if items:
        st.caption(f"Sessions of {md_escape(scope.label)}")
    _table([{"Date": fmt_day(i.date), "Kind": i.kind.title(), "Status": STATUS_WORDS[i.status],
             "Duration": f"{i.duration_minutes} min" if i.duration_minutes else "—"}
            for i in items])
    book, record = st.columns(2)
    with book, record_form(scope, "book_session", "Book a session") as form:
        slots = FieldSlots()
        kind = st.radio("Kind", ["preparation", "integration"], index=1, horizontal=True,
                        format_func=str.title, key=scope.key("bs_kind"))
        slots.slot("kind")
        on = date_field("Date", value=clock.today(), key=scope.key("bs_date"))
        slots.slot("date")
        status = st.selectbox("Status", list(BOOKING_CHOICES), format_func=BOOKING_CHOICES.get,
                              help="Book ahead, or record a session that already happened.",
                              key=scope.key("bs_status"))
        slots.slot("status")
        minutes = st.number_input("Duration (minutes, optional)", value=None, step=5,
                                  key=scope.key("bs_minutes"))
        slots.slot("duration_minutes")
        scope.show_flash("book_session")
        if form.submitted("Book session", type="primary"):
            if on is None:
                slots.show({"date": "Enter the date of the session."})
            elif save(slots, book_session, user, scope.id, kind=kind, on=on, status=status,
                      duration_minutes=None if minutes is None else int(minutes)):
                scope.flash("book_session", f"{kind.title()} session on {fmt_day(on)} saved "
                            f"({BOOKING_CHOICES[status].lower()}) for {scope.label}.")
                st.rerun()
    open_items = {i.id: i for i in items if i.status == "scheduled"}
    with record:
        if not open_items:
            # The confirmation of the last booking recorded, now that its form is gone.
            scope.show_flash("record_session")
            scope.show_flash("cancel_session")
            st.caption("No booked sessions waiting to be recorded.")
            return
        versions = {i: seen_version("session", i, item.version) for i, item in open_items.items()}
        _record_session_form(user, scope, open_items, versions)
        _cancel_session(user, scope, open_items, versions)


def _session_words(item: q.SessionItem) -> str:
    return f"{fmt_day(item.date)} · {item.kind}"


def _record_session_form(user: CurrentUser, scope: RecordScope, open_items: dict,
                         versions: dict[int, int]) -> None:
    pick = scope.key("rs_item")
    fresh_choice(pick, list(open_items), list(open_items))
    with record_form(scope, "record_session", "Record how a booked session went") as form:
        slots = FieldSlots()
        item_id = st.selectbox("Booked session", list(open_items),
                               format_func=lambda i: _session_words(open_items[i]), key=pick)
        slots.slot("session")
        status = st.radio("Outcome", list(OUTCOME_CHOICES), horizontal=True,
                          format_func=OUTCOME_CHOICES.get, key=scope.key("rs_status"))
        slots.slot("status")
        minutes = st.number_input("Duration (minutes, optional)", value=None, step=5,
                                  key=scope.key("rs_minutes"))
        slots.slot("duration_minutes")
        scope.show_flash("record_session")
        if form.submitted("Save outcome", type="primary"):
            item = open_items.get(item_id)
            if item is None:
                slots.show({"session": "Choose a booked session of this patient."})
            elif save(slots, set_session_status, user, item.id, status, versions[item.id],
                      duration_minutes=None if minutes is None else int(minutes)):
                scope.flash("record_session",
                            f"{item.kind.title()} session on {fmt_day(item.date)} recorded as "
                            f"{OUTCOME_CHOICES[status].lower()} for {scope.label}. "
                            + _count_after(scope.id))
                st.rerun()


def _cancel_session(user: CurrentUser, scope: RecordScope, open_items: dict,
                    versions: dict[int, int]) -> None:
    """Cancelling a booking asks first, naming the patient and the session."""
    cancel_box(user, scope, open_items, versions, title="Cancel a booking",
               picker=("cs_item", "Booking to cancel", _session_words),
               what=lambda item: f"the {item.kind} session of {fmt_day(item.date)}",
               write=set_session_status, flash_key="cancel_session",
               button=("cs_cancel", "Cancel booking"))


def cancel_box(user: CurrentUser, scope: RecordScope, open_items: dict, versions: dict[int, int],
               *, title: str, picker: tuple, what, write, flash_key: str, button: tuple) -> None:
    """One booked item of this patient to cancel, confirmed in a dialog naming the patient and
    the item. ``picker`` is (key, label, item words); ``button`` is (key, action words)."""
    pick_key, pick_label, words = picker
    button_key, action = button
    with st.container(border=True):
        st.markdown(f"**{title}**")
        scope.name_it()
        pick = scope.key(pick_key)
        fresh_choice(pick, list(open_items), list(open_items))
        item_id = st.selectbox(pick_label, list(open_items),
                               format_func=lambda i: words(open_items[i]), key=pick)
        scope.show_flash(flash_key)
        item = open_items.get(item_id)
        if item is None:
            return
        said = what(item)

        def cancel(item_id: int = item.id, version: int = versions[item.id]) -> bool:
            if save(FieldSlots(), write, user, item_id, "cancelled", version):
                scope.flash(flash_key, f"Cancelled {said} for {scope.label}.")
                return True
            return False

        confirm_button(f"{action}…", key=scope.key(button_key), record_id=item.id,
                       record_label=scope.label, question=f"Cancel {said} for {scope.label}?",
                       action_label=action, act=cancel)


def _count_after(patient_pk: int) -> str:
    with db_session() as session:
        count = q.minimum_count(session, patient_pk, clock.today())
    return f"Now {count.text}." if count else ""


def scores_section(user: CurrentUser, scope: RecordScope, patient: q.PatientForm,
                   scores: list[q.ScoreItem]) -> None:
    form_col, list_col = st.columns(2)
    with form_col, record_form(scope, "add_score", "Add a score") as form:
        slots = FieldSlots()
        instrument = st.selectbox("Instrument", list(INSTRUMENT_MAX),
                                  format_func=lambda i: f"{i} (0–{INSTRUMENT_MAX[i]})",
                                  key=scope.key("sc_instrument"))
        slots.slot("instrument")
        on = date_field("Date", value=clock.today(), key=scope.key("sc_date"))
        slots.slot("date")
        score = st.number_input("Total score", value=None, step=1, key=scope.key("sc_score"))
        slots.slot("score")
        scope.show_flash("add_score")
        if form.submitted("Save score", type="primary"):
            if score is None or on is None:
                slots.show({k: m for k, m, v in (("score", "Enter the total score.", score),
                                                  ("date", "Enter the date.", on)) if v is None})
            elif save(slots, add_measure, user, scope.id, instrument=instrument, on=on,
                      score=int(score) if float(score).is_integer() else score):
                scope.flash("add_score", f"{instrument} {int(score)} on {fmt_day(on)} saved "
                                         f"for {scope.label}.")
                st.rerun()
    with list_col:
        if scores:
            st.caption(f"Recent scores of {md_escape(scope.label)}")
        _table([{"Date": fmt_day(s.date), "Instrument": s.instrument, "Score": s.score}
                for s in scores])


def patient_section(user: CurrentUser, scope: RecordScope, patient: q.PatientForm) -> None:
    version = seen_version("patient", patient.pk, patient.version)
    # Keys carry the version: once the record changes, the form shows the saved values.
    v = f"_{patient.version}"
    with record_form(scope, "patient", "Details and intentions") as form:
        slots = FieldSlots()
        first = st.text_input("First name", value=patient.first_name,
                              key=scope.key("pf_first") + v)
        slots.slot("first_name")
        last = st.text_input("Last name", value=patient.last_name, key=scope.key("pf_last") + v)
        slots.slot("last_name")
        born = date_field("Date of birth", value=patient.date_of_birth,
                          key=scope.key("pf_born") + v)
        slots.slot("date_of_birth")
        intake = date_field("Intake date", value=patient.intake_date,
                            key=scope.key("pf_intake") + v)
        slots.slot("intake_date")
        intentions = st.text_area("Intentions", value=patient.intentions,
                                  key=scope.key("pf_intentions") + v)
        slots.slot("intentions")
        scope.show_flash("patient")
        if form.submitted("Save details", type="primary"):
            missing = {f: "Enter the date." for f, d in (("date_of_birth", born),
                                                          ("intake_date", intake)) if d is None}
            if missing:
                slots.show(missing)
            elif save(slots, update_patient, user, scope.id, version, first_name=first,
                      last_name=last, date_of_birth=born, intake_date=intake,
                      intentions=intentions):
                scope.flash("patient", f"Patient details saved for {first.strip()} "
                                       f"{last.strip()} ({patient.chart}).")
                st.rerun()
    if user.role == "medical_director":
        _reassign_form(user, scope, patient, version)


def _reassign_form(user: CurrentUser, scope: RecordScope, patient: q.PatientForm,
                   version: int) -> None:
    with db_session() as session:
        options = therapists(session)
    with record_form(scope, "reassign", "Primary therapist") as form:
        slots = FieldSlots()
        ids = [o.id for o in options]
        names = {o.id: o.full_name for o in options}
        current = ids.index(patient.therapist_id) if patient.therapist_id in ids else 0
        chosen = st.selectbox("Hand over to", ids, format_func=names.get,
                              key=scope.key("ra_therapist"), index=current)
        slots.slot("therapist_id")
        scope.show_flash("reassign")
        if form.submitted("Reassign"):
            if save(slots, reassign_therapist, user, scope.id, chosen, version):
                scope.flash("reassign", f"Primary therapist of {scope.label} is now "
                                        f"{names[chosen]}; upcoming sessions moved too.")
                st.rerun()


def add_patient_form(user: CurrentUser) -> int | None:
    """The 'new patient' form; returns the new patient's pk once saved.

    Once a patient is added the form starts empty: its keys change with each patient
    added (``np_round``), so nothing typed for the last one stays on screen.
    """
    added = st.session_state.get("np_round", 0)

    def key(name: str) -> str:
        return name if added == 0 else f"{name}_{added}"

    with st.form(key("add_patient"), clear_on_submit=False):
        slots = FieldSlots()
        chart = st.text_input("Chart number", key=key("np_chart"))
        slots.slot("patient_id")
        first = st.text_input("First name", key=key("np_first"))
        slots.slot("first_name")
        last = st.text_input("Last name", key=key("np_last"))
        slots.slot("last_name")
        born = date_field("Date of birth", value=None, key=key("np_born"))
        slots.slot("date_of_birth")
        intake = date_field("Intake date", value=clock.today(), key=key("np_intake"))
        slots.slot("intake_date")
        therapist_id = user.id
        if user.role == "medical_director":
            with db_session() as session:
                options = therapists(session)
            therapist_id = st.selectbox("Primary therapist", [o.id for o in options],
                                        format_func={o.id: o.full_name for o in options}.get,
                                        key=key("np_therapist"))
        slots.slot("therapist_id")
        intentions = st.text_area("Intentions (optional)", key=key("np_intentions"))
        slots.slot("intentions")
        if st.form_submit_button("Add patient", type="primary"):
            missing = {f: m for f, m, d in (
                ("date_of_birth", "Enter the date of birth.", born),
                ("intake_date", "Enter the intake date.", intake)) if d is None}
            if missing:
                slots.show(missing)
                return None
            saved = save(slots, add_patient, user, patient_id=chart, first_name=first,
                         last_name=last, date_of_birth=born, intake_date=intake,
                         intentions=intentions, therapist_id=therapist_id)
            if saved:
                flash(f"Patient {chart.strip()} added.")
                st.session_state["np_round"] = added + 1
                return saved.id
    return None
