"""Floor of pages/caseload.py: the caseload query, its tiles and its table."""
import streamlit as st

from bench.floors._support import session
from db.clock import today
from db.queries.caseload import caseload, filter_rows, tiles
from ui import caseload_view as view

therapist = st.query_params.get("therapist")
therapist_id = int(therapist) if therapist else None
with session() as s:
    rows = caseload(s, today(), therapist_id=therapist_id)
view.render_tiles(tiles(rows))
shown = filter_rows(rows)[:view.MAX_TABLE_ROWS]
st.dataframe(view.caseload_frame(shown, with_therapist=therapist_id is None), hide_index=True)
