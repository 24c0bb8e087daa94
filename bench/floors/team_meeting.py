"""Floor of pages/team_meeting.py: the clinic-wide meeting data, rendered once."""
import time

from bench.floors._support import session
from db.clock import today
from db.queries.team_meeting import team_meeting
from ui.team_meeting_view import render

with session() as s:
    meeting = team_meeting(s, today())
render(meeting, tick=int(time.time() // 60))
