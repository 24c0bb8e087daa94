"""Record care: sessions, infusions, habit check-ins, scores and patient details.

Therapists record for their own patients, the medical director for any. Every
save goes through db.recording (validation, access, versions, audit)."""
import streamlit as st

from db import clock
from db.queries import record_care as q
from db.queries.patient import search_patients, viewable_patient
from ui.access import audit_event, require_page_access
from ui.database import db_session
from ui.forms import show_flash
from ui.pages import title_for
from ui.record_care_habits import habit_forms, week_grid
from ui.record_care_treatment import treatment_section
from ui.record_care_view import (
    add_patient_form,
    minimum_header,
    patient_section,
    scores_section,
    sessions_section,
)

user = require_page_access(__file__)
st.title(title_for(__file__, user.role))
show_flash()
today = clock.today()
PICKED = "record_care_pick"  # a patient to select on the next run (new or linked)

with st.expander("Add a new patient", icon=":material/person_add:"):
    new_pk = add_patient_form(user)
    if new_pk:
        st.session_state[PICKED] = new_pk
        st.rerun()

# Who: the therapist picks from their caseload; the director searches the clinic.
with db_session() as session:
    chart = st.query_params.get("patient")
    first_visit = "rc_patient" not in st.session_state
    if first_visit and chart:
        linked = viewable_patient(session, chart, user.role, user.id)
        if linked:
            st.session_state[PICKED] = linked.pk
        else:  # the link is ignored, and the attempt recorded like any refusal
            audit_event("record_care.view_denied", chart, route="link")
    if user.role == "therapist":
        options = q.caseload_options(session, user.id)
    else:
        text = st.text_input("Find a patient", placeholder="name or chart number", key="rc_find")
        options = [q.PatientOption(r.pk, r.chart, r.name)
                   for r in search_patients(session, text, therapist_id=None)]
        held = (st.session_state.get(PICKED)
                or getattr(st.session_state.get("rc_patient"), "pk", None))
        if held and all(o.pk != held for o in options):
            form = q.patient_form(session, held)
            if form:
                options.insert(0, q.PatientOption(form.pk, form.chart,
                                                  f"{form.first_name} {form.last_name}"))

if not options:
    st.info("Pick a patient to record care for." if user.role != "therapist"
            else "No patients on your caseload yet: add one above.", icon=":material/info:")
    st.stop()
by_pk = {o.pk: o for o in options}
picked = st.session_state.pop(PICKED, None)
if picked in by_pk:
    st.session_state["rc_patient"] = by_pk[picked]
elif st.session_state.get("rc_patient") not in options:
    st.session_state["rc_patient"] = options[0]
chosen = st.selectbox("Patient", options, format_func=lambda o: o.label, key="rc_patient")

with db_session() as session:
    if viewable_patient(session, chosen.chart, user.role, user.id) is None:
        audit_event("record_care.view_denied", chosen.chart, route="picker")
        st.error("This patient is not on your caseload.", icon=":material/block:")
        st.stop()
    patient = q.patient_form(session, chosen.pk)
    count = q.minimum_count(session, chosen.pk, today)
    sessions = q.patient_sessions(session, chosen.pk, today)
    series = q.patient_series(session, chosen.pk)
    scores = q.recent_scores(session, chosen.pk)
    running = q.open_habits(session, chosen.pk)

# A record viewed is audited once per patient picked, not on every click.
if st.session_state.get("record_care_audited") != chosen.pk:
    audit_event("record_care.view", patient.chart)
    st.session_state["record_care_audited"] = chosen.pk

minimum_header(patient, count)
tab_sessions, tab_infusions, tab_habits, tab_scores, tab_patient = st.tabs(
    ["Sessions", "Infusions", "Habits", "Scores", "Patient"])
with tab_sessions:
    sessions_section(user, patient, sessions, count)
with tab_infusions:
    treatment_section(user, patient, series)
with tab_habits:
    week_day = st.columns([1, 3])[0].date_input("Week of", value=today, max_value=today,
                                                format="YYYY-MM-DD", key="hw_week")
    with db_session() as session:
        grid = q.habit_week(session, chosen.pk, week_day)
    week_grid(user, patient, grid)
    habit_forms(user, patient, running)
with tab_scores:
    scores_section(user, patient, scores)
with tab_patient:
    patient_section(user, patient)
