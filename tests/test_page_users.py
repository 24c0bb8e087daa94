"""AppTest for the Users page: add, reset, role, deactivate, each message."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from db import audit, staff
from db.engine import make_engine, session_factory
from db.models import AuditEvent, AuthSession, Staff
from db.passwords import verify_password
from tests.record_care_apptest import migrated_sqlite, run_page
from tests.apptest_support import shown
from tests.bound_support import dialog_text, message_beside, press_in_dialog

PAGE = "pages/users.py"


@pytest.fixture
def clinic(tmp_path):
    url = migrated_sqlite(tmp_path / "clinic.db")
    engine = make_engine(url)
    factory = session_factory(engine)
    with factory() as s:
        staff.add_user(s, "root", "Root Admin", "admin")
        staff.add_user(s, "tess", "Tess Therapist", "therapist")
        staff.set_password(s, "tess", "tess-password-1")
        s.commit()
    yield url, factory
    engine.dispose()


def page(clinic, monkeypatch, username="root"):
    url, _ = clinic
    return run_page(PAGE, username, monkeypatch, url)


def button(at, label):
    return next(b for b in at.button if b.label == label)


def errors(at):
    return [shown(e.value) for e in at.error]


def test_only_admins(clinic, monkeypatch):
    at = page(clinic, monkeypatch, "tess")
    assert "not available" in errors(at)[0]
    assert not at.dataframe


def test_add_staff_and_messages(clinic, monkeypatch):
    at = page(clinic, monkeypatch)
    at.text_input(key="us_username").input("Bad name!")
    at.text_input(key="us_full_name").input("Nina Nurse")
    button(at, "Add user").click().run()
    assert any("username: use 2-64" in e for e in errors(at))
    at.text_input(key="us_username").input("tess")
    button(at, "Add user").click().run()
    assert any("already exists" in e for e in errors(at))
    at.text_input(key="us_username").input("nina")
    at.text_input(key="us_email").input("not-an-email")
    button(at, "Add user").click().run()
    assert any("is not an email address" in e for e in errors(at))
    at.text_input(key="us_email").input("")
    at.selectbox(key="us_role").set_value("medical_director")
    button(at, "Add user").click().run()
    assert "Nina Nurse added as medical director" in shown(at.success[0].value)
    temp = at.code[0].value
    with clinic[1]() as s:
        nina = staff.get_by_username(s, "nina")
        assert nina.must_change_password and verify_password(temp, nina.password_hash)
    # The form is empty for the next person; the password is shown once only.
    assert [at.text_input(key=k).value for k in ("us_username", "us_full_name", "us_email")] \
        == ["", "", ""]
    at.run()
    assert not at.code


def test_reset_ends_sessions_and_deactivate(clinic, monkeypatch):
    url, factory = clinic
    with factory() as s:
        tess = staff.get_by_username(s, "tess")
        now = audit.utcnow()
        s.add(AuthSession(token_hash="t" * 64, staff_id=tess.id, created_at=now,
                          last_seen_at=now - timedelta(minutes=1)))
        s.commit()
        tess_id = tess.id
    at = page(clinic, monkeypatch)
    at.selectbox(key="us_target").set_value("tess").run()
    button(at, "Reset password").click().run()
    press_in_dialog(at, "Reset password")
    assert "sessions are ended" in shown(at.success[0].value)
    temp = at.code[0].value
    with factory() as s:
        assert s.scalar(select(AuthSession.ended_at)) is not None
        row = s.get(Staff, tess_id)
        assert row.must_change_password and verify_password(temp, row.password_hash)
    button(at, "Deactivate").click().run()
    press_in_dialog(at, "Deactivate")
    assert "deactivated and signed out" in shown(at.success[0].value)
    with factory() as s:
        assert not s.get(Staff, tess_id).active
    button(at, "Reactivate").click().run()
    assert "can sign in again" in shown(at.success[0].value)
    with factory() as s:
        assert s.get(Staff, tess_id).active


def test_the_last_admin_cannot_be_removed(clinic, monkeypatch):
    at = page(clinic, monkeypatch)
    at.selectbox(key="us_target").set_value("root").run()
    button(at, "Deactivate").click().run()
    press_in_dialog(at, "Deactivate")
    assert "last active admin" in dialog_text(at)  # said in the dialog, which stays open
    at.selectbox(key="ur_role_1").set_value("therapist").run()
    button(at, "Change role").click().run()
    press_in_dialog(at, "Change role")
    assert "last active admin" in dialog_text(at)
    with clinic[1]() as s:
        root = staff.get_by_username(s, "root")
        assert root.active and root.role == "admin"


# Every bounded field of "Add staff": an invalid value gets its message right under
# the field, the field keeps what was typed, and nothing is saved.
VALID = {"us_username": "nina", "us_full_name": "Nina Nurse", "us_email": "nina@clinic.example"}


@pytest.mark.parametrize("key, typed, message", [
    ("us_username", "Bad name!", "username: use 2-64"),
    ("us_username", "n", "username: use 2-64"),
    ("us_username", "n" * 65, "username: use 2-64"),
    ("us_username", "tess", "username: 'tess' already exists"),
    ("us_full_name", "", "full name: must not be empty"),
    ("us_full_name", "   ", "full name: must not be empty"),
    ("us_full_name", "N" * 201, "full name: at most 200 characters"),
    ("us_full_name", "Nina\x07Nurse", "full name: contains an invisible control character"),
    ("us_email", "not-an-email", "email: 'not-an-email' is not an email address"),
])
def test_an_invalid_value_is_never_saved(engine, monkeypatch, key, typed, message):
    """On SQLite and PostgreSQL (the ``engine`` fixture)."""
    factory = session_factory(engine)
    with factory() as s:
        staff.add_user(s, "root", "Root Admin", "admin")
        staff.add_user(s, "tess", "Tess Therapist", "therapist")
        s.commit()
    clinic = (engine.url.render_as_string(hide_password=False), factory)
    with factory() as s:
        before = (s.scalar(select(func.count()).select_from(Staff)),
                  s.scalar(select(func.count()).select_from(AuditEvent)))
    at = page(clinic, monkeypatch)
    for field, value in VALID.items():
        at.text_input(key=field).input(typed if field == key else value)
    button(at, "Add user").click().run()
    assert not at.exception
    assert message in (message_beside(at, key) or "")
    assert at.text_input(key=key).value == typed  # kept as typed
    assert not at.success and not at.code
    with factory() as s:
        assert (s.scalar(select(func.count()).select_from(Staff)),
                s.scalar(select(func.count()).select_from(AuditEvent))) == before
