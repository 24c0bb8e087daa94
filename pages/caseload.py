"""My caseload / Caseloads (placeholder: the page's own issue replaces this body)."""
import streamlit as st

from ui.access import require_page_access
from ui.pages import title_for

user = require_page_access(__file__)
st.title(title_for(__file__, user.role))
st.info("This page will show each patient in the caseload with their series progress, integration sessions against the protocol minimum, habit adherence and latest outcome scores, most urgent first.", icon=":material/construction:")
