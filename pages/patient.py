"""Patient record: one patient's series, attendance, habits and outcomes.

The patient comes from ``?patient=<chart number>`` (the caseload and links set
it) or from the search box. Every route goes through one access check; a
refusal and every view are audited.
"""
import streamlit as st

from db.clock import today
from ui import patient_view as view
from ui.access import audit_event, require_page_access
from ui.caseload_data import (
    find_patient,
    load_record,
    may_view,
    search_patients,
    settings_version,
)
from ui.pages import CASELOAD, RECORD_CARE, roles_for, title_for

user = require_page_access(__file__)
as_of = today()
# A therapist searches their own caseload only; the medical director the clinic.
scope = user.id if user.role == "therapist" else None


def open_chart(chart: str) -> None:
    st.query_params["patient"] = chart
    st.session_state["patient_route"] = "search"
    st.session_state["patient_search"] = ""


def on_search() -> None:
    text = st.session_state.get("patient_search", "").strip()
    ref = find_patient(text) if text else None
    if ref is None:
        return
    # A chart number typed in full opens that record at once. Someone else's is
    # refused with the same words as a chart that does not exist (no hint that
    # it does), and the attempt is audited, once per search.
    if may_view(user.role, user.id, ref):
        open_chart(text)
    else:
        audit_event("patient.view_denied", ref.chart, route="search", reason="not in caseload")


def on_pick() -> None:
    picked = st.session_state.get("patient_pick")
    if picked:
        open_chart(picked)


# In the sidebar, under who is signed in: the record keeps the whole width.
search_col = st.sidebar
search = search_col.text_input("Find a patient", placeholder="Name or chart number",
                               key="patient_search", on_change=on_search)
if search.strip():
    found = search_patients(search, scope)
    if found:
        labels = {p.chart: f"{p.name} · {p.chart}" for p in found}
        search_col.selectbox("Matching patients", list(labels), index=None, key="patient_pick",
                     format_func=labels.get, placeholder="Choose a patient", on_change=on_pick)
    elif scope is not None:
        search_col.info("No patient on your caseload matches that name or chart number. "
                        "You can open only the records of your own patients.")
    else:
        search_col.info("No patient in the clinic matches that name or chart number.")

chart = (st.query_params.get("patient") or "").strip()
route = st.session_state.pop("patient_route", "link")
if not chart:
    st.title("Patient", anchor=False)
    st.info(f"Find a patient with the search box in the sidebar, or choose one in "
            f"**{title_for(CASELOAD, user.role)}** in the menu.", icon=":material/person_search:")
    st.stop()

ref = find_patient(chart)
if not may_view(user.role, user.id, ref):
    audit_event("patient.view_denied", chart, route=route,
                reason="no such chart" if ref is None else "not in caseload")
    st.title("Patient", anchor=False)
    if scope is not None:
        st.error("You can open only the records of patients on your own caseload. "
                 "This request has been recorded.", icon=":material/block:")
    else:
        st.error("No patient has that chart number.", icon=":material/person_off:")
    st.stop()

record = load_record(chart, as_of, settings_version(), user.role, user.id)
if record is None:  # removed since the check above
    st.error("This patient's record is no longer there.", icon=":material/person_off:")
    st.stop()
audit_event("patient.view", chart, route=route)
view.render_header(record)
# Record care on exactly this record: the chart is bound to the button when drawn.
if user.role in roles_for(RECORD_CARE) and st.button(
        "Record care", key=f"patient_record_care_{chart}", icon=":material/edit_note:"):
    st.switch_page(RECORD_CARE, query_params={"patient": chart})
st.divider()
view.render_timeline(record)
left, right = st.columns([2, 3], gap="large")
with left:
    view.render_attendance(record)
with right:
    view.render_outcomes(record)
st.divider()
view.render_habits(record)
