"""The sign-in attacks of issue 15 through the real sign-in form (AppTest): a lockout
played from one address does not lock the account anywhere else, the Users page's
Unlock clears it, and activity keeps a one-minute idle window open."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

import db.auth
import ui.session
from db import auth as dbauth
from db.audit import utcnow
from db.engine import make_engine, session_factory
from db.models import AuditEvent, LoginThrottle
from tests.apptest_support import (  # noqa: F401 (fixtures)
    clinic_app,
    demo_clinic_template,
    fresh_demo_clinic_url,
    sign_in,
)

ATTACKER = "203.0.113.9"
OFFICE = "198.51.100.7"


@pytest.fixture
def address(monkeypatch) -> dict[str, str | None]:
    """The source address the next sign-in comes from, as the app would read it."""
    where: dict[str, str | None] = {"ip": None}
    monkeypatch.setattr(ui.session, "_source_address", lambda: dbauth.source_address(where["ip"]))
    return where


def db_rows(url, model, *where):
    engine = make_engine(url)
    try:
        with session_factory(engine)() as session:
            return list(session.scalars(select(model).where(*where)))
    finally:
        engine.dispose()


def signed_in_as(at) -> str | None:
    user = at.session_state["current_user"] if "current_user" in at.session_state else None
    return user.username if user else None


def test_a_lockout_from_one_address_leaves_the_admin_free_everywhere_else(fresh_demo_clinic_url, address):
    attacker = clinic_app("dashboard.py", fresh_demo_clinic_url).run()
    address["ip"] = ATTACKER
    for _ in range(dbauth.LOCK_THRESHOLD):
        sign_in(attacker, "admin", "wrong password!")
    message = [e.value for e in attacker.error]
    sign_in(attacker, "admin")  # the right password, from the attacker's address
    assert signed_in_as(attacker) is None
    assert [e.value for e in attacker.error] == message  # refused like any failure
    # The admin, at the office, signs in at once with the right password.
    office = clinic_app("dashboard.py", fresh_demo_clinic_url).run()
    address["ip"] = OFFICE
    sign_in(office, "admin")
    assert not office.exception and signed_in_as(office) == "admin"
    rows = db_rows(fresh_demo_clinic_url, LoginThrottle, LoginThrottle.username == "admin")
    assert [(r.address, r.failures) for r in rows] == [(ATTACKER, dbauth.LOCK_THRESHOLD)]


def test_the_admins_unlock_button_clears_every_throttle(fresh_demo_clinic_url, address):
    locked_out = clinic_app("dashboard.py", fresh_demo_clinic_url).run()
    for ip in (ATTACKER, OFFICE):
        address["ip"] = ip
        for _ in range(dbauth.LOCK_THRESHOLD):
            sign_in(locked_out, "therapist", "wrong password!")
    address["ip"] = OFFICE
    sign_in(locked_out, "therapist")
    assert signed_in_as(locked_out) is None

    admin = clinic_app("dashboard.py", fresh_demo_clinic_url).run()
    address["ip"] = "192.0.2.50"
    sign_in(admin, "admin")
    admin.switch_page("pages/users.py").run()
    admin.selectbox(key="us_target").select("therapist").run()
    assert any("paused" in c.value for c in admin.caption), [c.value for c in admin.caption]
    next(b for b in admin.button if b.label == "Unlock sign-in").click().run()
    assert not admin.exception, admin.exception
    assert db_rows(fresh_demo_clinic_url, LoginThrottle, LoginThrottle.username == "therapist") == []
    unlock = db_rows(fresh_demo_clinic_url, AuditEvent, AuditEvent.action == "auth.unlock")
    assert [e.actor for e in unlock] == ["admin"]
    for ip in (ATTACKER, OFFICE):
        address["ip"] = ip
        at = clinic_app("dashboard.py", fresh_demo_clinic_url).run()
        sign_in(at, "therapist")
        assert signed_in_as(at) == "therapist", ip


def test_activity_every_twenty_seconds_keeps_a_one_minute_idle_window_open(fresh_demo_clinic_url,
                                                                          monkeypatch):
    """The issue: with idle_minutes=1, a user clicking every 20 s was signed out at 60 s."""
    clock = {"now": utcnow()}
    monkeypatch.setattr(db.auth, "utcnow", lambda: clock["now"])
    monkeypatch.setattr(ui.session, "utcnow", lambda: clock["now"])
    at = clinic_app("dashboard.py", fresh_demo_clinic_url)
    at.secrets["auth"] = {**at.secrets["auth"], "idle_minutes": 1}
    at.run()
    sign_in(at, "director")
    assert signed_in_as(at) == "director"
    start = clock["now"]
    for t in range(20, 201, 20):  # a rerun every 20 s for over three minutes
        clock["now"] = start + timedelta(seconds=t)
        at.run()
        assert not at.exception and signed_in_as(at) == "director", t
    clock["now"] = start + timedelta(seconds=200 + 61)  # then a minute without activity
    at.run()
    assert signed_in_as(at) is None
    assert any("1 minute without activity" in i.value for i in at.info)
