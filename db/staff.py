"""Staff accounts: add, set a password, list, deactivate.

Ending a user's sign-in sessions on a password change or deactivation lives in
``db.auth`` and is called from here, so no caller can forget it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import audit
from .models import ROLES, Staff
from .passwords import check_strength, hash_password

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class StaffError(ValueError):
    """A user's mistake, said in plain words."""


@dataclass(frozen=True)
class StaffRow:
    id: int
    username: str
    full_name: str
    email: str | None
    role: str
    active: bool
    has_password: bool
    must_change_password: bool


def _row(s: Staff) -> StaffRow:
    return StaffRow(s.id, s.username, s.full_name, s.email, s.role, s.active,
                    s.password_hash is not None, s.must_change_password)


def validate(username: str, full_name: str, role: str, email: str | None) -> None:
    if not USERNAME_RE.match(username or ""):
        raise StaffError(
            "username: use 2-64 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    if not (full_name or "").strip():
        raise StaffError("full name: must not be empty")
    if len(full_name) > 200:
        raise StaffError("full name: at most 200 characters")
    if role not in ROLES:
        raise StaffError(f"role: must be one of {', '.join(ROLES)}")
    if email and not EMAIL_RE.match(email):
        raise StaffError(f"email: {email!r} is not an email address")


def get_by_username(session: Session, username: str) -> Staff | None:
    return session.scalar(select(Staff).where(Staff.username == username))


def add_user(session: Session, username: str, full_name: str, role: str,
             email: str | None = None, *, actor: str = "cli") -> StaffRow:
    username = (username or "").strip().lower()
    validate(username, full_name, role, email or None)
    if get_by_username(session, username) is not None:
        raise StaffError(f"username: {username!r} already exists")
    staff = Staff(username=username, full_name=full_name.strip(), role=role,
                  email=email or None, active=True, created_at=audit.utcnow())
    session.add(staff)
    session.flush()
    audit.record(session, actor, "user.add", username=username, role=role)
    return _row(staff)


def set_password(session: Session, username: str, password: str, *, actor: str = "cli",
                 must_change: bool = False) -> None:
    from .auth import end_user_sessions

    staff = get_by_username(session, username)
    if staff is None:
        raise StaffError(f"no user named {username!r}")
    check_strength(password)
    staff.password_hash = hash_password(password)
    staff.must_change_password = must_change
    end_user_sessions(session, staff.id, reason="password changed")
    audit.record(session, actor, "user.set_password", username=username, must_change=must_change)


def deactivate(session: Session, username: str, *, actor: str = "cli") -> None:
    from .auth import end_user_sessions

    staff = get_by_username(session, username)
    if staff is None:
        raise StaffError(f"no user named {username!r}")
    if staff.role == "admin" and staff.active:
        others = session.scalar(
            select(Staff.id).where(Staff.role == "admin", Staff.active, Staff.id != staff.id).limit(1)
        )
        if others is None:
            raise StaffError("cannot deactivate the last active admin")
    staff.active = False
    end_user_sessions(session, staff.id, reason="deactivated")
    audit.record(session, actor, "user.deactivate", username=username)


def list_users(session: Session) -> list[StaffRow]:
    return [_row(s) for s in session.scalars(select(Staff).order_by(Staff.username))]
