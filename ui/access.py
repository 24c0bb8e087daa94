"""Who is signed in, and the check every page makes first.

dashboard.py validates the server-side session on every run and then puts a
``CurrentUser`` into ``st.session_state["current_user"]`` (or removes it);
pages only read it.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

import streamlit as st

from db import audit

from .database import db_session
from .pages import ROLE_LABELS, page_key, roles_for

CURRENT_USER_KEY = "current_user"


@dataclass(frozen=True)
class CurrentUser:
    id: int
    username: str
    full_name: str
    role: str

    @property
    def first_name(self) -> str:
        return self.full_name.split()[0] if self.full_name.split() else self.username

    @property
    def role_label(self) -> str:
        return ROLE_LABELS.get(self.role, self.role)


def current_user() -> CurrentUser | None:
    user = st.session_state.get(CURRENT_USER_KEY)
    return user if isinstance(user, CurrentUser) else None


def _calling_page(depth: int = 2) -> str:
    # The page file that called require_role, for the audit trail.
    name = sys._getframe(depth).f_globals.get("__file__", "?")
    return page_key(name) if name != "?" else name


def require_role(*roles: str, page: str | None = None) -> CurrentUser:
    """The signed-in user if their role may see this page; otherwise refuse and stop.

    Refusals are audited (``access.denied``) with the page and the role.
    """
    page = page or _calling_page()
    user = current_user()
    if user is None:
        _audit("(signed out)", "access.denied", page=page, role=None)
        st.error("Please sign in to see this page.", icon=":material/lock:")
        st.stop()
    if user.role not in roles:
        _audit(user.username, "access.denied", page=page, role=user.role)
        st.error(f"This page is not available to the {user.role_label.lower()} role.",
                 icon=":material/block:")
        st.stop()
    return user


def require_page_access(page_file: str) -> CurrentUser:
    """``require_role`` with the roles the page registry gives this page file."""
    return require_role(*roles_for(page_file), page=page_key(page_file))


def _audit(actor: str, action: str, patient_ref: str | None = None, **detail: Any) -> None:
    with db_session() as session:
        audit.record(session, actor, action, patient_ref, **detail)
        session.commit()


def audit_event(action: str, patient_ref: str | None = None, **detail: Any) -> None:
    """Record an audit event for the signed-in user, in its own short transaction.

    For a change, prefer ``db.audit.record`` inside the change's own transaction,
    so the change and its event are saved together.
    """
    user = current_user()
    if user is None:
        raise RuntimeError("audit_event needs a signed-in user; call require_role first")
    _audit(user.username, action, patient_ref, **detail)
