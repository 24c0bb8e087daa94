"""Protocol settings page (issue 14): a value out of its range gets a message beside
its field, keeps what was typed, and saves nothing. SQLite and PostgreSQL.

The bounds come from db.protocol.LIMITS, the one place that holds them; the
widgets have none of their own (a number_input out of its min/max keeps sending
its last valid value, so the server never saw what was typed).
"""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from db import staff
from db.engine import session_factory
from db.models import AuditEvent
from db.protocol import LIMITS, ProtocolConfig, load_settings
from tests.apptest_support import shown
from tests.bound_support import message_beside
from tests.record_care_apptest import run_page

PAGE = "pages/protocol_settings.py"
LABEL = {"min_integration_sessions": "minimum integration sessions",
         "grace_days": "grace days", "default_planned_infusions": "default planned infusions"}


@pytest.fixture
def clinic(engine):
    factory = session_factory(engine)
    with factory() as s:
        staff.add_user(s, "md", "Dr. Mia Director", "medical_director")
        s.commit()
    return engine.url.render_as_string(hide_password=False), factory


def key(name: str, version: int = 1) -> str:
    return f"ps_{name}_{version}"


def updates(factory) -> int:
    with factory() as s:
        return s.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "protocol_settings.update"))


def save(at):
    next(b for b in at.button if b.label == "Save settings").click()
    return at.run()


def test_the_widgets_have_no_bounds_of_their_own(clinic, monkeypatch):
    at = run_page(PAGE, "md", monkeypatch, clinic[0])
    for name in LIMITS:
        box = at.number_input(key=key(name))
        assert box.min is None and box.max is None
        low, high = LIMITS[name]
        assert f"Between {low} and {high}." in box.help


CASES = [(name, value) for name, (low, high) in LIMITS.items()
         for value in (low - 1, high + 1, high + 1000, None)]


@pytest.mark.parametrize("name, typed", CASES, ids=[f"{n}={v}" for n, v in CASES])
def test_an_invalid_value_is_never_saved(clinic, monkeypatch, name, typed):
    url, factory = clinic
    at = run_page(PAGE, "md", monkeypatch, url)
    at.number_input(key=key(name)).set_value(typed)
    # Another field changed validly at the same time must not be saved either.
    other = next(n for n in LIMITS if n != name)
    at.number_input(key=key(other)).set_value(LIMITS[other][0])
    save(at)
    assert not at.exception
    low, high = LIMITS[name]
    expected = ("must be a whole number" if typed is None
                else f"must be between {low} and {high}")
    assert message_beside(at, key(name)) == f"{LABEL[name]}: {expected}"
    assert message_beside(at, key(other)) is None
    assert at.number_input(key=key(name)).value == typed  # kept as typed
    assert not at.success
    assert any("Not saved" in shown(e.value) for e in at.error)
    with factory() as s:
        assert load_settings(s) == ProtocolConfig()
    assert updates(factory) == 0


def test_every_bad_field_gets_its_own_message_then_a_fix_saves(clinic, monkeypatch):
    url, factory = clinic
    at = run_page(PAGE, "md", monkeypatch, url)
    for name, (low, high) in LIMITS.items():
        at.number_input(key=key(name)).set_value(high + 1)
    save(at)
    for name, (low, high) in LIMITS.items():
        assert message_beside(at, key(name)) == f"{LABEL[name]}: must be between {low} and {high}"
    assert updates(factory) == 0
    # Corrected, the same form saves, and the values are exactly the ones typed.
    for name, (low, high) in LIMITS.items():
        at.number_input(key=key(name)).set_value(high)
    save(at)
    assert not at.exception and at.success
    with factory() as s:
        got = load_settings(s)
    assert {n: getattr(got, n) for n in LIMITS} == {n: high for n, (_, high) in LIMITS.items()}
    assert updates(factory) == 1
