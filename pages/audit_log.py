"""Audit log (placeholder: the page's own issue replaces this body)."""
import streamlit as st

from ui.access import require_page_access
from ui.pages import title_for

user = require_page_access(__file__)
st.title(title_for(__file__, user.role))
st.info("This page will show the audit trail: sign-ins, refusals, record views, exports and changes, searchable by person, patient and date.", icon=":material/construction:")
