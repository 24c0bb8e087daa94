"""Floor of pages/patient.py: one patient's record and its charts and tables."""
import streamlit as st

from bench.floors._support import session
from db.clock import today
from db.queries.patient import find_patient, patient_record
from ui import patient_view as view

with session() as s:
    ref = find_patient(s, st.query_params["chart"])
    record = patient_record(s, ref.pk, today())
view.render_timeline(record)
view.render_attendance(record)
view.render_outcomes(record)
view.render_habits(record)
