"""Cached reads for the team meeting screen.

Keyed on the as-of date, the minute of reading and the scope, so every screen
showing the same scope in the same minute shares one read, and the wall
display sees fresh data each minute. Bounded: the cache never grows however
long the display runs.

``st.cache_resource`` rather than ``st.cache_data``: the reading is immutable
(frozen dataclasses holding tuples), so sharing one object is safe and saves a
pickled copy per screen; and a fragment rerun after the code was reloaded
(a deploy without restart, or development) cannot fail to pickle a class that
is no longer the module's.
"""
from __future__ import annotations

from datetime import date, datetime

import streamlit as st

from db.queries.team_meeting import TeamMeeting, team_meeting
from ui.database import db_session

CACHE_TTL_SECONDS = 120
CACHE_MAX_ENTRIES = 8


def minute_key(now: datetime | None = None) -> str:
    """The current minute: a new key, and so a new read, once a minute."""
    return (now or datetime.now()).strftime("%Y-%m-%dT%H:%M")


@st.cache_resource(ttl=CACHE_TTL_SECONDS, max_entries=CACHE_MAX_ENTRIES, show_spinner=False)
def load_team_meeting(as_of: date, minute: str, therapist_id: int | None) -> TeamMeeting:
    # ``minute`` is only part of the cache key: it makes the read happen once a minute.
    del minute
    with db_session() as session:
        return team_meeting(session, as_of, therapist_id=therapist_id)
