"""The pages shown before a signed-in user reaches their role's pages.

dashboard.py only routes; these build the page functions it registers with
``st.navigation`` when the app is not configured, nobody is signed in, or the
user must choose a new password.
"""
from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from . import layout
from .database import db_session
from .demo_setup import demo_accounts_to_show
from .session import NOTICE_KEY, SignIn


def setup_needed_page(reason: str) -> Callable[[], None]:
    def setup_needed() -> None:
        st.title(":material/settings_alert: The dashboard is not configured yet")
        st.error(reason, icon=":material/key:")
        st.write("Nobody can sign in until this is fixed. Restart the app after changing "
                 "`.streamlit/secrets.toml`; `docs/security.md` explains each setting.")

    return setup_needed


def sign_in_page(gate: SignIn, *, demo: bool) -> Callable[[], None]:
    def sign_in() -> None:
        st.title(":material/spa: KAP care team")
        if demo:
            layout.demo_badge()
        notice = st.session_state.get(NOTICE_KEY)
        if notice:
            st.info(notice, icon=":material/info:")
        if gate.login_form():
            st.rerun()
        if demo:
            with db_session() as session:
                accounts = demo_accounts_to_show(session)
            if accounts:
                st.subheader("Demo accounts")
                st.caption("Shown only in demo mode. Every patient here is synthetic.")
                st.table([{"Username": a.username, "Password": a.password,
                           "Role": a.role.replace("_", " ")} for a in accounts])

    return sign_in


def choose_password_page(gate: SignIn, signed_in) -> Callable[[], None]:
    def choose_password() -> None:
        st.title("Choose a new password")
        st.write("Your password was reset by an administrator. Choose your own before you continue.")
        with st.form("kap_new_password", clear_on_submit=True):
            new = st.text_input("New password", type="password")
            repeat = st.text_input("Repeat the new password", type="password")
            if st.form_submit_button("Save password", type="primary"):
                problem = gate.change_password(signed_in, new, repeat)
                if problem:
                    st.error(problem)
                else:
                    st.rerun()

    return choose_password
