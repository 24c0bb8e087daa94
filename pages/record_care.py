"""Record care: sessions, infusions, habit check-ins, scores and patient details.

Therapists record for their own patients, the medical director for any. Every
save goes through db.recording (validation, access, versions, audit)."""
import streamlit as st

from db import clock
from ui import record_care_data as data
from ui.access import audit_event, require_page_access
from ui.forms import DATE_FIELD_MAX, DATE_FIELD_MIN, show_flash
from ui.pages import title_for
from ui.record_care_habits import habit_forms, week_grid
from ui.record_care_treatment import treatment_section
from ui.record_care_view import (
    add_patient_form,
    minimum_header,
    patient_scope,
    patient_section,
    scores_section,
    sessions_section,
)

user = require_page_access(__file__)
st.title(title_for(__file__, user.role))
show_flash()
today = clock.today()
PICKED = "record_care_pick"  # a patient to select on the next run (new or linked)
# The chosen patient's pk. A plain key, not the picker's: widget state is dropped when
# the user goes to another page, and the choice must still be there on the way back.
CHOSEN = "record_care_chosen"
LINKED = "record_care_linked"  # the ?patient= chart last followed (followed once per chart)


def _picked() -> None:
    """The picker moved: that patient is chosen, and the address says so."""
    pk = st.session_state.get("rc_patient")
    option = st.session_state.get("rc_options", {}).get(pk)
    if option is not None:
        st.session_state[CHOSEN] = pk
        st.session_state[LINKED] = option.chart
        st.query_params["patient"] = option.chart


with st.expander("Add a new patient", icon=":material/person_add:"):
    new_pk = add_patient_form(user)
    if new_pk:
        st.session_state[PICKED] = new_pk
        st.rerun()

# Who: the therapist picks from their caseload; the director searches the clinic.
chart = (st.query_params.get("patient") or "").strip()
if chart and chart != st.session_state.get(LINKED):
    # A link (the patient page's Record care button, an address): followed once,
    # so the picker can move away from it afterwards.
    st.session_state[LINKED] = chart
    linked = data.viewable(chart, user.role, user.id)
    if linked:
        st.session_state[PICKED] = linked.pk
    else:  # the link is ignored, and the attempt recorded like any refusal
        audit_event("record_care.view_denied", chart, route="link")
if user.role == "therapist":
    options = data.caseload_options(user.id)
else:
    text = st.text_input("Find a patient", placeholder="name or chart number", key="rc_find")
    options = data.search_options(
        text, st.session_state.get(PICKED) or st.session_state.get(CHOSEN))

if not options:
    st.info("Pick a patient to record care for." if user.role != "therapist"
            else "No patients on your caseload yet: add one above.", icon=":material/info:")
    st.stop()
by_pk = {o.pk: o for o in options}
st.session_state["rc_options"] = by_pk
# The choice is a pk, so a patient renamed by a save stays chosen (an option object
# with the old name would no longer match and the picker would jump to the first).
picked = st.session_state.pop(PICKED, None)
chosen_pk = picked if picked in by_pk else st.session_state.get(CHOSEN)
if chosen_pk not in by_pk:
    chosen_pk = options[0].pk
st.session_state[CHOSEN] = chosen_pk
st.session_state["rc_patient"] = chosen_pk
if by_pk[chosen_pk].chart != chart:
    st.session_state[LINKED] = by_pk[chosen_pk].chart
    st.query_params["patient"] = by_pk[chosen_pk].chart
st.selectbox("Patient", list(by_pk), format_func=lambda pk: by_pk[pk].label, key="rc_patient",
             on_change=_picked)
chosen = by_pk[chosen_pk]

record = data.load_record(chosen.chart, chosen.pk, user.role, user.id, today)
if record is None:
    audit_event("record_care.view_denied", chosen.chart, route="picker")
    st.error("This patient is not on your caseload.", icon=":material/block:")
    st.stop()
patient, count, sessions = record.patient, record.count, record.sessions
series, scores, running = record.series, record.scores, record.running

# A record viewed is audited once per patient picked, not on every click.
if st.session_state.get("record_care_audited") != chosen.pk:
    audit_event("record_care.view", patient.chart)
    st.session_state["record_care_audited"] = chosen.pk

# Every form and table below is for this patient: keyed by its pk, named in each.
scope = patient_scope(patient)
minimum_header(patient, count)
tab_sessions, tab_infusions, tab_habits, tab_scores, tab_patient = st.tabs(
    ["Sessions", "Infusions", "Habits", "Scores", "Patient"])
with tab_sessions:
    sessions_section(user, scope, patient, sessions, count)
with tab_infusions:
    treatment_section(user, scope, patient, series)
with tab_habits:
    week_day = st.columns([1, 3])[0].date_input(
        "Week of", value=today, min_value=DATE_FIELD_MIN, max_value=DATE_FIELD_MAX,
        format="YYYY-MM-DD", key=scope.key("hw_week"))
    grid = data.habit_week(chosen.pk, week_day or today)
    week_grid(user, scope, patient, grid)
    habit_forms(user, scope, patient, running)
with tab_scores:
    scores_section(user, scope, patient, scores)
with tab_patient:
    patient_section(user, scope, patient)
