"""Issue 15 item 7, at the unit: a deferred export is audited when the file is made, never on
drawing the button, and is refused (and audited) once the sign-in that drew it has ended.
One rule for every deferred file (ui.downloads.audited_file): the compliance files and the
tables' CSVs.
The same over a real server and websocket: tests/reliability/test_attacks_http.py."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from db.engine import session_factory
from db.models import AuditEvent
from ui import downloads, http_guard, session_socket
from ui.access import CurrentUser

SESSION = "test-browser-session"


def _events(engine, action: str) -> list[dict]:
    with session_factory(engine)() as s:
        return [json.loads(e.detail) | {"actor": e.actor}
                for e in s.scalars(select(AuditEvent).where(AuditEvent.action == action))]


@pytest.fixture
def drawn(engine, monkeypatch):
    monkeypatch.setattr(session_socket, "session_id", lambda: SESSION)
    http_guard.grant(SESSION, "medical_director", "hash-of-the-sign-in-cookie")
    user = CurrentUser(7, "director", "Dr Dee", "medical_director")
    made = []

    def build() -> str:
        made.append(1)
        return "patient_id,series\n"

    yield downloads.audited_file(lambda: (build(), {}), user, "export.csv",
                                 {"what": "compliance series", "scope": "whole clinic"},
                                 engine=engine), made
    http_guard.revoke(SESSION)


def test_drawing_audits_nothing_making_audits_once_per_file(engine, drawn):
    make, made = drawn
    assert _events(engine, "export.csv") == []  # the button is drawn: no file, no event
    assert make() == "patient_id,series\n"
    assert make() == "patient_id,series\n"  # each download is its own file and event
    events = _events(engine, "export.csv")
    assert len(events) == 2 and len(made) == 2
    assert events[0] == {"actor": "director", "what": "compliance series", "scope": "whole clinic"}


@pytest.mark.parametrize("after", ["signed out", "signed in again"])
def test_after_the_sign_in_ends_the_file_is_refused_and_audited(engine, drawn, after):
    make, made = drawn
    http_guard.revoke(SESSION)
    if after == "signed in again":  # a new sign-in does not revive a button of the old one
        http_guard.grant(SESSION, "medical_director", "hash-of-another-cookie")
    with pytest.raises(downloads.ExportRefused):
        make()
    assert made == [] and _events(engine, "export.csv") == []
    denied = _events(engine, "access.denied")
    assert [(d["actor"], d["page"], d["export"]) for d in denied] == [
        ("director", "(export)", "export.csv")]
