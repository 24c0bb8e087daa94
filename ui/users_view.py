"""Users page forms: add staff, reset a password, change a role, (de)activate.

Temporary passwords are shown once, on the run after the save, and never stored.

Every action in the "Manage a user" box is bound to the user it was drawn for:
its widgets are keyed by that user's id, its button carries the id (an
``on_click`` argument, fixed when the button is drawn), and the write checks the
id again in the database. A click on a button drawn for another user than the
one now chosen is refused with a message and saves nothing. Deactivating,
resetting a password and changing a role are confirmed in a dialog naming the
user (ui.confirm).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from db import staff
from db.models import ROLES

from .access import CurrentUser
from .confirm import PENDING_KEY, confirm_button
from .database import db_session
from .forms import FieldSlots, flash, save, show_flash
from .pages import ROLE_LABELS
from .text import md_escape

TEMP_KEY = "kap_temp_password"
TARGET_KEY = "us_target"  # the "Manage a user" picker: a username, or None
CHOSEN_KEY = "us_chosen"  # the same choice, kept while the picker is not drawn (another page)
CLICK_KEY = "us_clicked"  # (action, user id) of the last manage button pressed
MANAGE = "manage"  # where the manage box's messages go (ui.forms.flash)
ADD = "add"


def users_table(rows: list[staff.StaffRow]) -> None:
    st.dataframe(pd.DataFrame([{
        "Username": r.username, "Name": r.full_name, "Role": ROLE_LABELS.get(r.role, r.role),
        "Email": r.email or "", "Active": "✓ Active" if r.active else "– Deactivated",
        "Password": ("must change at next sign-in" if r.must_change_password
                     else "set" if r.has_password else "not set"),
    } for r in rows]), hide_index=True, width="stretch")


def user_label(row: staff.StaffRow) -> str:
    """How a user is named wherever they are acted on: full name and username."""
    return f"{row.full_name} ({row.username})"


def show_temporary_password(where: str) -> None:
    held = st.session_state.get(TEMP_KEY)
    if held and held[0] == where:
        del st.session_state[TEMP_KEY]
        _, username, temp = held
        st.info(f"Temporary password for **{md_escape(username)}** (shown only now; they choose "
                "their own at next sign-in):", icon=":material/key:")
        st.code(temp, language=None)


def add_staff_form(user: CurrentUser) -> None:
    show_flash(ADD)
    show_temporary_password(ADD)
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
                st.session_state[TEMP_KEY] = (ADD, row.username, temp)
                flash(f"{row.full_name} added as {ROLE_LABELS[row.role].lower()}.", ADD)
                for key in ("us_username", "us_full_name", "us_email"):
                    st.session_state.pop(key, None)  # the next person starts from empty
                st.rerun()


def _choice_changed() -> None:
    # A confirmation asked for the previous user never carries over to the next.
    st.session_state.pop(PENDING_KEY, None)


def pick_user(rows: list[staff.StaffRow]) -> staff.StaffRow | None:
    """The "Manage a user" picker; nobody is chosen until the admin chooses.

    The browser sends back the label it shows, so a label must not change when
    the account does: a label with "(deactivated)" in it stopped matching after
    a deactivation, and Streamlit fell back to the first user (issue 14). The
    status is shown in the box instead.
    """
    by_name = {r.username: r for r in rows}
    # Streamlit forgets the picker's value while another page is shown, but the browser
    # goes on showing it: back on Users, the picker named a user the page no longer
    # acted on (issue 14 walk). Put the choice back, so what it shows is what acts.
    held = st.session_state.get(TARGET_KEY, st.session_state.get(CHOSEN_KEY))
    if held in by_name:
        st.session_state[TARGET_KEY] = held
    else:
        st.session_state.pop(TARGET_KEY, None)
    picked = st.selectbox(
        "Manage a user", list(by_name), index=None, key=TARGET_KEY,
        placeholder="Choose a user", on_change=_choice_changed,
        format_func=lambda n: f"{n} · {by_name[n].full_name}" if n in by_name else n)
    st.session_state[CHOSEN_KEY] = picked
    return by_name.get(picked)


def _note_click(action: str, user_id: int) -> None:
    """on_click of every manage button: the user the button was drawn for."""
    st.session_state[CLICK_KEY] = (action, user_id)


def refused_stale_click(target: staff.StaffRow | None, rows: list[staff.StaffRow]) -> bool:
    """True (after saying so) when the button just pressed was drawn for another user
    than the one chosen now: the page moved under the click, so nothing is done."""
    held = st.session_state.pop(CLICK_KEY, None)
    if not held or (target is not None and held[1] == target.id):
        return False
    action, user_id = held
    meant = next((r for r in rows if r.id == user_id), None)
    now = "no user" if target is None else user_label(target)
    st.error(md_escape(
        f"{action} was pressed for {user_label(meant) if meant else 'another user'}, but the "
        f"page now shows {now}. Nothing was saved: choose the user and try again."),
        icon=":material/block:")
    return True


def manage_box(user: CurrentUser, rows: list[staff.StaffRow]) -> None:
    target = pick_user(rows)
    refused_stale_click(target, rows)
    show_flash(MANAGE)
    show_temporary_password(MANAGE)
    if target is None:
        st.caption("Choose a user to reset their password, change their role or their access.")
        return
    with st.container(border=True, key=f"us_manage_{target.id}"):
        status = "active" if target.active else "deactivated"
        st.markdown(f"**{md_escape(user_label(target))}** · "
                    f"{md_escape(ROLE_LABELS.get(target.role, target.role))} · {status}")
        reset_col, role_col, active_col = st.columns(3)
        with reset_col:
            reset_password_part(user, target)
        with role_col:
            role_part(user, target)
        with active_col:
            access_part(user, target)
        unlock_part(user, target)


def _bound_write(target: staff.StaffRow, write: Callable[..., Any], *args: Any,
                 **kwargs: Any) -> Any:
    """``write`` on ``target``'s account, checked by id: None (after saying why) when the
    username no longer names the account the form was drawn for."""
    def checked(session, *a, **kw):
        row = staff.get_by_username(session, target.username)
        if row is None or row.id != target.id:
            raise staff.StaffError(
                f"{target.username} is no longer the account this form was drawn for; "
                "nothing was saved. Choose the user again.")
        return write(session, *a, **kw)
    result = save(FieldSlots(), checked, *args, **kwargs)
    return None if result is None or result is False else result


def reset_password_part(user: CurrentUser, target: staff.StaffRow) -> None:
    st.markdown("**Reset password**")
    st.caption("Gives a temporary password and signs the user out everywhere at once."
               + ("" if target.active else " The account stays deactivated."))

    def act():
        temp = _bound_write(target, staff.reset_password, target.username, actor=user.username)
        if temp:
            st.session_state[TEMP_KEY] = (MANAGE, target.username, temp)
            flash(f"Password of {target.username} reset; their sessions are ended"
                  + ("." if target.active else "; the account stays deactivated."), MANAGE)
        return temp

    confirm_button(
        "Reset password", key=f"us_reset_{target.id}", record_id=target.id,
        record_label=user_label(target),
        question="Give this user a temporary password? Their current password stops working "
                 "and every session they have is ended at once.",
        action_label="Reset password", act=act,
        on_click=_note_click, args=("Reset password", target.id))


def role_part(user: CurrentUser, target: staff.StaffRow) -> None:
    st.markdown("**Role**")
    role = st.selectbox("Role", ROLES, index=ROLES.index(target.role),
                        format_func=ROLE_LABELS.get, key=f"ur_role_{target.id}")
    if role == target.role:
        st.button("Change role", key=f"us_role_{target.id}", disabled=True,
                  help="Choose another role first.")
        return

    def act():
        done = _bound_write(target, staff.change_role, target.username, role,
                            actor=user.username)
        if done:
            flash(f"{target.username} is now {ROLE_LABELS[role].lower()}.", MANAGE)
        return done

    confirm_button(
        "Change role", key=f"us_role_{target.id}", record_id=(target.id, role),
        record_label=user_label(target),
        question=f"Change this user's role from {ROLE_LABELS[target.role].lower()} to "
                 f"{ROLE_LABELS[role].lower()}? They are signed out at once and see the new "
                 "role's pages at next sign-in.",
        action_label="Change role", act=act,
        on_click=_note_click, args=("Change role", target.id))


def access_part(user: CurrentUser, target: staff.StaffRow) -> None:
    st.markdown("**Access**")
    if target.active:
        st.caption("Deactivating signs the user out at once; the history stays.")

        def act():
            done = _bound_write(target, _deactivate, target.username, actor=user.username)
            if done:
                flash(f"{target.username} deactivated and signed out.", MANAGE)
            return done

        confirm_button(
            "Deactivate", key=f"us_deactivate_{target.id}", record_id=target.id,
            record_label=user_label(target),
            question="Deactivate this account? The user is signed out everywhere at once and "
                     "cannot sign in until reactivated; their history stays.",
            action_label="Deactivate", act=act,
            on_click=_note_click, args=("Deactivate", target.id))
        return
    st.caption("Deactivated: cannot sign in.")
    if st.button("Reactivate", key=f"us_reactivate_{target.id}",
                 on_click=_note_click, args=("Reactivate", target.id)):
        if _bound_write(target, staff.reactivate, target.username, actor=user.username):
            flash(f"{target.username} can sign in again.", MANAGE)
            st.rerun()


def unlock_part(user: CurrentUser, target: staff.StaffRow) -> None:
    """Sign-in pauses on the account (db.auth throttling) and a button that lifts them all."""
    from db import auth as dbauth

    with db_session() as session:
        throttle = dbauth.account_throttle(session, target.username)
    if throttle.locked_from:
        until = throttle.locked_until.strftime("%H:%M UTC") if throttle.locked_until else ""
        st.caption(f"Sign-in paused after failed attempts from {throttle.locked_from} "
                   f"address(es), until {until} at the latest.")
    elif throttle.failing_from:
        st.caption(f"Failed sign-in attempts counted from {throttle.failing_from} address(es).")
    else:
        st.caption("No sign-in pause and no failed attempts counted.")
    if st.button("Unlock sign-in", key=f"us_unlock_{target.id}", disabled=not throttle.failing_from,
                 help="Lifts every pause and failure count on this account, from every address.",
                 on_click=_note_click, args=("Unlock sign-in", target.id)):
        if _bound_write(target, lambda s, name, actor: dbauth.unlock(s, name, actor=actor) >= 0,
                        target.username, actor=user.username):
            flash(f"Sign-in of {target.username} unlocked from every address.", MANAGE)
            st.rerun()


def _deactivate(session, username: str, *, actor: str) -> bool:
    staff.deactivate(session, username, actor=actor)
    return True


def list_users() -> list[staff.StaffRow]:
    with db_session() as session:
        return staff.list_users(session)
