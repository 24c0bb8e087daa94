"""Patient (placeholder: the page's own issue replaces this body)."""
import streamlit as st

from ui.access import require_page_access
from ui.pages import title_for

user = require_page_access(__file__)
st.title(title_for(__file__, user.role))
st.info("This page will show one patient's record: treatment series, infusions and integration sessions, habit adherence and PHQ-9, GAD-7 and PCL-5 scores over time. Every view of a record is written to the audit trail.", icon=":material/construction:")
