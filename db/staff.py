"""Staff accounts: add, set or reset a password, change role, list, deactivate.

Ending a user's sign-in sessions on a password change or deactivation lives in
``db.auth`` and is called from here, so no caller can forget it.
"""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import audit
from .limits import IDENTIFIER_MAX
from .models import ROLES, Staff
from .passwords import check_strength, hash_password
from .text_rules import control_character_problem

USERNAME_MIN = 2
USERNAME_RE = re.compile(rf"^[a-z0-9][a-z0-9._-]{{{USERNAME_MIN - 1},{IDENTIFIER_MAX - 1}}}$")
#: What a username may be, for the forms and the importer alike.
USERNAME_RULE = (f"use {USERNAME_MIN}-{IDENTIFIER_MAX} lower-case letters, digits, '.', '_' or '-', "
                 "starting with a letter or digit")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class StaffError(ValueError):
    """A user's mistake, said in plain words; ``field`` names the form field at fault."""

    def __init__(self, message: str, field: str | None = None) -> None:
        self.field = field
        super().__init__(message)


# No look-alike characters: a temporary password is often read out or copied by hand.
_TEMP_ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789"
TEMP_PASSWORD_LENGTH = 14


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
            f"username: {USERNAME_RULE}", "username")
    if not (full_name or "").strip():
        raise StaffError("full name: must not be empty", "full_name")
    if len(full_name) > 200:
        raise StaffError("full name: at most 200 characters", "full_name")
    if problem := control_character_problem(full_name):
        raise StaffError(f"full name: {problem}", "full_name")
    if role not in ROLES:
        raise StaffError(f"role: must be one of {', '.join(ROLES)}", "role")
    if email and not EMAIL_RE.match(email):
        raise StaffError(f"email: {email!r} is not an email address", "email")


def get_by_username(session: Session, username: str) -> Staff | None:
    return session.scalar(select(Staff).where(Staff.username == username))


def add_user(session: Session, username: str, full_name: str, role: str,
             email: str | None = None, *, actor: str = "cli") -> StaffRow:
    username = (username or "").strip().lower()
    validate(username, full_name, role, email or None)
    if get_by_username(session, username) is not None:
        raise StaffError(f"username: {username!r} already exists", "username")
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
    if _is_last_admin(session, staff):
        raise StaffError("cannot deactivate the last active admin")
    staff.active = False
    end_user_sessions(session, staff.id, reason="deactivated")
    audit.record(session, actor, "user.deactivate", username=username)


def list_users(session: Session) -> list[StaffRow]:
    return [_row(s) for s in session.scalars(select(Staff).order_by(Staff.username))]


def _is_last_admin(session: Session, staff: Staff) -> bool:
    """True when ``staff`` is the only active admin: nobody could then manage accounts."""
    if staff.role != "admin" or not staff.active:
        return False
    others = session.scalar(
        select(Staff.id).where(Staff.role == "admin", Staff.active, Staff.id != staff.id).limit(1)
    )
    return others is None


def _existing(session: Session, username: str) -> Staff:
    staff = get_by_username(session, username)
    if staff is None:
        raise StaffError(f"no user named {username!r}")
    return staff


def temporary_password() -> str:
    return "".join(secrets.choice(_TEMP_ALPHABET) for _ in range(TEMP_PASSWORD_LENGTH))


def add_staff(session: Session, username: str, full_name: str, role: str,
              email: str | None = None, *, actor: str) -> tuple[StaffRow, str]:
    """Add an account with a temporary password the user must change at first sign-in.

    Returns the row and the temporary password, to be handed over once; the
    caller commits.
    """
    row = add_user(session, username, full_name, role, email, actor=actor)
    temp = temporary_password()
    set_password(session, row.username, temp, actor=actor, must_change=True)
    return _row(_existing(session, row.username)), temp


def reset_password(session: Session, username: str, *, actor: str) -> str:
    """Give the user a temporary password, to be changed at next sign-in; ends their sessions.

    Returns the temporary password; the caller commits.
    """
    temp = temporary_password()
    set_password(session, username, temp, actor=actor, must_change=True)
    return temp


def change_role(session: Session, username: str, role: str, *, actor: str) -> StaffRow:
    """Give an account another role; ends its sessions so the new menu applies at once."""
    from .auth import end_user_sessions

    staff = _existing(session, username)
    if role not in ROLES:
        raise StaffError(f"role: must be one of {', '.join(ROLES)}", "role")
    if role == staff.role:
        return _row(staff)
    if _is_last_admin(session, staff):
        raise StaffError("role: cannot change the role of the last active admin", "role")
    before = staff.role
    staff.role = role
    end_user_sessions(session, staff.id, reason="role changed")
    audit.record(session, actor, "user.change_role", username=username,
                 before={"role": before}, after={"role": role})
    return _row(staff)


def reactivate(session: Session, username: str, *, actor: str) -> StaffRow:
    staff = _existing(session, username)
    staff.active = True
    audit.record(session, actor, "user.reactivate", username=username)
    return _row(staff)
