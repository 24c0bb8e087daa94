"""Users page forms: add staff, reset a password, change a role, (de)activate.

Temporary passwords are shown once, on the run after the save, and never stored."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from db import staff
from db.models import ROLES

from .access import CurrentUser
from .database import db_session
from .forms import FieldSlots, flash, save
from .pages import ROLE_LABELS

TEMP_KEY = "kap_temp_password"


def users_table(rows: list[staff.StaffRow]) -> None:
    st.dataframe(pd.DataFrame([{
        "Username": r.username, "Name": r.full_name, "Role": ROLE_LABELS.get(r.role, r.role),
        "Email": r.email or "", "Active": "✓ Active" if r.active else "– Deactivated",
        "Password": ("must change at next sign-in" if r.must_change_password
                     else "set" if r.has_password else "not set"),
    } for r in rows]), hide_index=True, width="stretch")


def show_temporary_password() -> None:
    held = st.session_state.pop(TEMP_KEY, None)
    if held:
        username, temp = held
        st.info(f"Temporary password for **{username}** (shown only now; they choose their own "
                "at next sign-in):", icon=":material/key:")
        st.code(temp, language=None)


def add_staff_form(user: CurrentUser) -> None:
    with st.form("add_staff"):
        st.markdown("**Add staff**")
        slots = FieldSlots()
        username = st.text_input("Username", key="us_username")
        slots.slot("username")
        full_name = st.text_input("Full name", key="us_full_name")
        slots.slot("full_name")
        role = st.selectbox("Role", ROLES, format_func=ROLE_LABELS.get, key="us_role")
        slots.slot("role")
        email = st.text_input("Email (optional)", key="us_email")
        slots.slot("email")
        if st.form_submit_button("Add user", type="primary"):
            added = save(slots, staff.add_staff, username, full_name, role, email.strip() or None,
                         actor=user.username)
            if added:
                row, temp = added
                st.session_state[TEMP_KEY] = (row.username, temp)
                flash(f"{row.full_name} added as {ROLE_LABELS[row.role].lower()}.")
                st.rerun()


def manage_forms(user: CurrentUser, target: staff.StaffRow) -> None:
    reset_col, role_col, active_col = st.columns(3)
    with reset_col, st.form("reset_password"):
        st.markdown("**Reset password**")
        st.caption("Gives a temporary password and signs the user out everywhere at once.")
        slots = FieldSlots()
        slots.slot("_")
        if st.form_submit_button("Reset password"):
            temp = save(slots, staff.reset_password, target.username, actor=user.username)
            if temp:
                st.session_state[TEMP_KEY] = (target.username, temp)
                flash(f"Password of {target.username} reset; their sessions are ended.")
                st.rerun()
    with role_col, st.form("change_role"):
        st.markdown("**Role**")
        slots = FieldSlots()
        role = st.selectbox("Role", ROLES, index=ROLES.index(target.role),
                            format_func=ROLE_LABELS.get, key=f"ur_role_{target.id}")
        slots.slot("role")
        slots.slot("_")
        if st.form_submit_button("Change role"):
            if save(slots, staff.change_role, target.username, role, actor=user.username):
                flash(f"{target.username} is now {ROLE_LABELS[role].lower()}.")
                st.rerun()
    with active_col, st.form("activation"):
        st.markdown("**Access**")
        slots = FieldSlots()
        slots.slot("_")
        if target.active:
            st.caption("Deactivating signs the user out at once; the history stays.")
            if st.form_submit_button("Deactivate"):
                if save(slots, _deactivate, target.username, actor=user.username):
                    flash(f"{target.username} deactivated and signed out.")
                    st.rerun()
        elif st.form_submit_button("Reactivate"):
            if save(slots, staff.reactivate, target.username, actor=user.username):
                flash(f"{target.username} can sign in again.")
                st.rerun()


def _deactivate(session, username: str, *, actor: str) -> bool:
    staff.deactivate(session, username, actor=actor)
    return True


def list_users() -> list[staff.StaffRow]:
    with db_session() as session:
        return staff.list_users(session)
