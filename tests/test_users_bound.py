"""Issue 14, case 1: every action on the Users page lands on the user on screen.

Deactivate s.park, then reset his password: the reset is his (not the first user
in the list), he stays deactivated, and the audit names him. Destructive and
account-changing actions wait for the dialog's confirmation; a button drawn for
another user than the one chosen now is refused. SQLite and PostgreSQL.
"""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from db import staff
from db.engine import session_factory
from db.models import AuditEvent, Staff
from db.passwords import verify_password
from tests.apptest_support import shown
from tests.bound_support import (
    dialog_buttons,
    dialog_text,
    dialogs,
    press_in_dialog,
    send_stale_label,
)
from tests.record_care_apptest import run_page

PAGE = "pages/users.py"


@pytest.fixture
def clinic(engine):
    """root (admin) and, sorted around s.park, a.chen and t.wu: a wrong target is visible."""
    factory = session_factory(engine)
    ids = {}
    with factory() as s:
        for username, name, role in [("root", "Root Admin", "admin"),
                                     ("a.chen", "Amy Chen", "therapist"),
                                     ("s.park", "Sam Park, LMFT", "therapist"),
                                     ("t.wu", "Tia Wu", "therapist")]:
            ids[username] = staff.add_user(s, username, name, role).id
            staff.set_password(s, username, f"{username}-password-1")
        s.commit()
    return engine.url.render_as_string(hide_password=False), factory, ids


def page(clinic, monkeypatch):
    return run_page(PAGE, "root", monkeypatch, clinic[0])


def hashes(factory) -> dict[str, str]:
    with factory() as s:
        return {r.username: r.password_hash for r in s.scalars(select(Staff))}


def user_events(factory, after_id: int = 0) -> list[tuple[str, str, dict]]:
    with factory() as s:
        return [(e.action, e.actor, json.loads(e.detail or "{}")) for e in s.scalars(
            select(AuditEvent).where(AuditEvent.action.like("user.%"), AuditEvent.id > after_id)
            .order_by(AuditEvent.id))]


def last_event_id(factory) -> int:
    with factory() as s:
        return max(s.scalars(select(AuditEvent.id)), default=0)


def choose(at, username):
    return at.selectbox(key="us_target").set_value(username).run()


def successes(at):
    return [shown(m.value) for m in at.success]


def test_case_1_deactivate_then_reset_acts_on_the_deactivated_user(clinic, monkeypatch):
    _, factory, ids = clinic
    park = ids["s.park"]
    before = hashes(factory)
    mark = last_event_id(factory)
    at = page(clinic, monkeypatch)
    assert at.selectbox(key="us_target").value is None  # nobody is preselected
    choose(at, "s.park")
    box = at.selectbox(key="us_target")
    label_shown = box.options[box.index]  # what the browser keeps sending from now on

    at.button(key=f"us_deactivate_{park}").click().run()
    assert "Sam Park, LMFT (s.park)" in dialog_text(at)
    assert dialog_buttons(at) == ["Deactivate", "Cancel"]
    press_in_dialog(at, "Deactivate")
    assert not dialogs(at)
    assert "s.park deactivated and signed out." in successes(at)
    assert at.selectbox(key="us_target").value == "s.park"  # still chosen
    assert "Sam Park, LMFT (s.park)" in shown(at.markdown[1].value)

    # The browser does not redraw the picker's text: it sends the label it showed
    # when s.park was chosen (before the fix, that label had changed to "... (deactivated)"
    # and the server fell back to the first user in the list).
    send_stale_label(at, "us_target", label_shown)
    at.button(key=f"us_reset_{park}").click().run()
    assert "Sam Park, LMFT (s.park)" in dialog_text(at)
    assert dialog_buttons(at) == ["Reset password", "Cancel"]
    press_in_dialog(at, "Reset password")
    assert not at.exception
    temp = at.code[0].value
    assert any(m.startswith("Password of s.park reset") for m in successes(at))

    after = hashes(factory)
    assert after["s.park"] != before["s.park"]
    assert {u: h for u, h in after.items() if u != "s.park"} == \
        {u: h for u, h in before.items() if u != "s.park"}
    with factory() as s:
        row = s.get(Staff, park)
        assert not row.active  # the reset does not reactivate
        assert row.must_change_password and verify_password(temp, row.password_hash)
    assert user_events(factory, mark) == [
        ("user.deactivate", "root", {"username": "s.park"}),
        ("user.set_password", "root", {"username": "s.park", "must_change": True}),
    ]


@pytest.mark.parametrize("action", ["Deactivate", "Reset password"])
@pytest.mark.parametrize("leave", ["Cancel", "dismiss"])
def test_without_confirming_nothing_changes(clinic, monkeypatch, action, leave):
    _, factory, ids = clinic
    park = ids["s.park"]
    before = hashes(factory)
    mark = last_event_id(factory)
    at = page(clinic, monkeypatch)
    choose(at, "s.park")
    key = {"Deactivate": "us_deactivate", "Reset password": "us_reset"}[action]
    at.button(key=f"{key}_{park}").click().run()
    assert dialog_buttons(at) == [action, "Cancel"]
    if leave == "Cancel":
        press_in_dialog(at, "Cancel")
    else:  # the dialog's close button or Escape: the page reruns without the dialog's button
        from ui.confirm import PENDING_KEY
        at.session_state[PENDING_KEY] = None
        at.run()
    assert not dialogs(at)
    at.run()  # and nothing comes back later
    assert not dialogs(at)
    assert hashes(factory) == before
    with factory() as s:
        assert s.get(Staff, park).active
    assert user_events(factory, mark) == []


def test_a_pending_confirmation_does_not_follow_a_switch_of_user(clinic, monkeypatch):
    _, factory, ids = clinic
    mark = last_event_id(factory)
    at = page(clinic, monkeypatch)
    choose(at, "s.park")
    at.button(key=f"us_deactivate_{ids['s.park']}").click().run()
    assert dialogs(at)
    choose(at, "a.chen")
    assert not dialogs(at)
    choose(at, "s.park")
    assert not dialogs(at)  # not reopened for him either
    with factory() as s:
        assert all(r.active for r in s.scalars(select(Staff)))
    assert user_events(factory, mark) == []


def test_a_button_drawn_for_another_user_is_refused(clinic, monkeypatch):
    """The browser still shows s.park's label after it changed (here his full name, as
    an import could): the picker then holds nobody, and his button saves nothing."""
    _, factory, ids = clinic
    park = ids["s.park"]
    before = hashes(factory)
    mark = last_event_id(factory)
    at = page(clinic, monkeypatch)
    choose(at, "s.park")
    with factory() as s:
        s.get(Staff, park).full_name = "Samuel Park, LMFT"
        s.commit()
    at.run()  # the server now offers the new label; the browser has not redrawn yet
    send_stale_label(at, "us_target", "s.park · Sam Park, LMFT")
    at.button(key=f"us_reset_{park}").click().run()
    assert not at.exception
    refusal = " ".join(shown(e.value) for e in at.error)
    assert "Reset password was pressed for Samuel Park, LMFT (s.park)" in refusal
    assert "Nothing was saved" in refusal
    assert not dialogs(at)
    assert hashes(factory) == before
    assert user_events(factory, mark) == []


def test_a_stale_reactivate_is_refused(clinic, monkeypatch):
    _, factory, ids = clinic
    park = ids["s.park"]
    with factory() as s:
        staff.deactivate(s, "s.park", actor="test")
        s.commit()
    mark = last_event_id(factory)
    at = page(clinic, monkeypatch)
    choose(at, "s.park")
    with factory() as s:
        s.get(Staff, park).full_name = "Samuel Park"
        s.commit()
    at.run()
    send_stale_label(at, "us_target", "s.park · Sam Park, LMFT")
    at.button(key=f"us_reactivate_{park}").click().run()
    assert any("Reactivate was pressed for" in shown(e.value) for e in at.error)
    with factory() as s:
        assert not s.get(Staff, park).active
    assert user_events(factory, mark) == []


def test_switching_user_resets_every_form(clinic, monkeypatch):
    _, factory, ids = clinic
    at = page(clinic, monkeypatch)
    choose(at, "s.park")
    at.selectbox(key=f"ur_role_{ids['s.park']}").set_value("medical_director").run()
    assert not at.button(key=f"us_role_{ids['s.park']}").disabled
    choose(at, "a.chen")
    assert at.selectbox(key=f"ur_role_{ids['a.chen']}").value == "therapist"
    assert at.button(key=f"us_role_{ids['a.chen']}").disabled
    assert "Amy Chen (a.chen)" in shown(at.markdown[1].value)
    choose(at, "s.park")
    assert at.selectbox(key=f"ur_role_{ids['s.park']}").value == "therapist"  # not kept
    with factory() as s:
        assert s.get(Staff, ids["s.park"]).role == "therapist"


def test_role_change_is_confirmed_and_names_the_user(clinic, monkeypatch):
    _, factory, ids = clinic
    park = ids["s.park"]
    mark = last_event_id(factory)
    at = page(clinic, monkeypatch)
    choose(at, "s.park")
    at.selectbox(key=f"ur_role_{park}").set_value("medical_director").run()
    at.button(key=f"us_role_{park}").click().run()
    assert "Sam Park, LMFT (s.park)" in dialog_text(at)
    assert "from therapist to medical director" in dialog_text(at)
    assert dialog_buttons(at) == ["Change role", "Cancel"]
    with factory() as s:
        assert s.get(Staff, park).role == "therapist"  # not before the confirmation
    press_in_dialog(at, "Change role")
    assert "s.park is now medical director." in successes(at)
    with factory() as s:
        assert s.get(Staff, park).role == "medical_director"
    assert user_events(factory, mark) == [
        ("user.change_role", "root", {"username": "s.park", "before": {"role": "therapist"},
                                      "after": {"role": "medical_director"}})]
