"""Protocol settings (placeholder: the page's own issue replaces this body)."""
import streamlit as st

from ui.access import require_page_access
from ui.pages import title_for

user = require_page_access(__file__)
st.title(title_for(__file__, user.role))
st.info("This page will let the medical director set the protocol: the minimum number of integration sessions, the grace period and the default number of infusions in a series.", icon=":material/construction:")
