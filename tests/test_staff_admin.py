"""User admin: temporary passwords, sessions ended at once, the last admin kept."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from db import audit, staff
from db.models import AuditEvent, AuthSession, Staff
from db.passwords import verify_password


def _open_session(session, staff_id: int, token: str) -> None:
    now = audit.utcnow()
    session.add(AuthSession(token_hash=token, staff_id=staff_id, created_at=now,
                            last_seen_at=now - timedelta(minutes=1)))
    session.flush()


def _open_count(session, staff_id: int) -> int:
    return len(session.scalars(select(AuthSession).where(AuthSession.staff_id == staff_id,
                                                         AuthSession.ended_at.is_(None))).all())


def test_add_staff_gets_a_temporary_password_to_change(session):
    row, temp = staff.add_staff(session, "Nina", "Nina Nurse", "therapist", actor="boss")
    session.commit()
    assert row.username == "nina" and row.must_change_password and row.has_password
    assert len(temp) == staff.TEMP_PASSWORD_LENGTH
    assert verify_password(temp, session.scalar(select(Staff.password_hash)))
    with pytest.raises(staff.StaffError) as info:
        staff.add_staff(session, "nina", "Again", "therapist", actor="boss")
    assert info.value.field == "username"
    with pytest.raises(staff.StaffError) as info:
        staff.add_staff(session, "x y", "Bad", "therapist", actor="boss")
    assert info.value.field == "username"


def test_reset_and_deactivate_end_sessions_at_once(session):
    row = staff.add_user(session, "tess", "Tess T", "therapist", actor="boss")
    staff.set_password(session, "tess", "first-password-1", actor="boss")
    _open_session(session, row.id, "a" * 64)
    _open_session(session, row.id, "b" * 64)
    temp = staff.reset_password(session, "tess", actor="boss")
    assert _open_count(session, row.id) == 0
    s = session.get(Staff, row.id)
    assert s.must_change_password and verify_password(temp, s.password_hash)
    _open_session(session, row.id, "c" * 64)
    staff.deactivate(session, "tess", actor="boss")
    assert _open_count(session, row.id) == 0 and not s.active
    session.commit()
    actions = session.scalars(select(AuditEvent.action)).all()
    assert "user.set_password" in actions and "user.deactivate" in actions


def test_the_last_admin_stays(session):
    staff.add_user(session, "root", "Root Admin", "admin", actor="cli")
    with pytest.raises(staff.StaffError):
        staff.deactivate(session, "root", actor="root")
    with pytest.raises(staff.StaffError) as info:
        staff.change_role(session, "root", "therapist", actor="root")
    assert info.value.field == "role"
    staff.add_user(session, "second", "Second Admin", "admin", actor="cli")
    row = staff.change_role(session, "root", "therapist", actor="second")
    assert row.role == "therapist"
    with pytest.raises(staff.StaffError):
        staff.deactivate(session, "second", actor="second")
    session.commit()
    [ev] = session.scalars(select(AuditEvent).where(AuditEvent.action == "user.change_role"))
    assert json.loads(ev.detail)["before"] == {"role": "admin"}
