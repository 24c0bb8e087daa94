"""A navigation shell for AppTest: the list pages and the patient page, with the
signed-in user seeded by the test (as dashboard.py leaves it after its session
check). Lets a test leave a page and come back, on any database."""
from pathlib import Path

import streamlit as st

PAGES = Path(__file__).resolve().parent.parent / "pages"
NAV_PAGES = ("caseload", "compliance", "audit_log", "patient")

st.navigation([st.Page(str(PAGES / f"{name}.py")) for name in NAV_PAGES]).run()
