"""Team meeting: what the care team should discuss this week, for the meeting-room screen.

Shows the minimum a discussion needs (initials, a pseudonymous code, the
therapist's first name, series progress, a reason in plain words) and nothing
that identifies a patient to a visitor: the query layer returns no names,
chart numbers, birth dates or intentions, and the page offers no drill-down.
The same clinic-wide view for every role: it is the whole team's meeting.
"""
from __future__ import annotations

import time

import streamlit as st

from db.clock import today
from ui.access import require_page_access
from ui.database import guard_database
from ui.settings import session_settings
from ui.team_meeting_data import load_team_meeting, minute_key
from ui.team_meeting_view import CONTAINER_KEY, WALL_CSS, render

REFRESH_SECONDS = 60
# Fragment reruns skip dashboard.py's session check. Roles with an idle limit
# have the shell's idle watch (which also sees revocation, without counting as
# activity); the wall display has none, so a whole-app rerun this often lets a
# revoked or expired display fall back to the sign-in page.
RECHECK_SIGN_IN_MINUTES = 5
FULL_RUN_KEY = "_team_meeting_full_run_minute"  # one int, overwritten: no growth

user = require_page_access(__file__)
# Only where nothing else re-checks: a full run counts as activity, and must not
# keep a therapist who left this page open from being signed out when idle.
recheck_here = session_settings().idle_limit(user.role) is None
st.html(WALL_CSS)
st.session_state[FULL_RUN_KEY] = int(time.time() // 60)


@st.fragment(run_every=REFRESH_SECONDS)
def meeting_screen() -> None:
    minute = int(time.time() // 60)
    if recheck_here and minute - st.session_state.get(FULL_RUN_KEY, minute) >= RECHECK_SIGN_IN_MINUTES:
        st.rerun(scope="app")
    with guard_database():
        meeting = load_team_meeting(today(), minute_key(), None)
    with st.container(key=CONTAINER_KEY):
        # One refresh a minute, so the minute number turns the pages: no paging state.
        render(meeting, tick=minute)


meeting_screen()
