"""The front door: page config, sign-in, then the signed-in role's pages.

It only routes. ``st.navigation`` is called on every run, also when signed
out or when something is wrong, so Streamlit never falls back to listing
every script in pages/. The rules live in ui/ and db/.
"""
from __future__ import annotations

import streamlit as st

from ui import layout, settings, theme
from ui.database import DatabaseUnavailable, db_session, guard_database, is_outage, show_outage
from ui.demo_setup import create_demo_clinic, demo_accounts_to_show, demo_clinic_missing
from ui.pages import pages_for
from ui.session import NOTICE_KEY, SignIn

st.set_page_config(page_title="KAP care team", page_icon=":material/spa:", layout="wide")
theme.enable_altair_theme()


def only_page(render, title: str, icon: str) -> None:
    page = st.navigation([st.Page(render, title=title, icon=icon)], position="sidebar")
    with guard_database():
        page.run()


def main() -> None:
    demo = settings.is_demo_mode()
    try:
        cookie_key = settings.cookie_key()
        session_settings = settings.session_settings()
    except settings.ConfigRefused as refused:
        def setup_needed() -> None:
            st.title(":material/settings_alert: The dashboard is not configured yet")
            st.error(str(refused), icon=":material/key:")
            st.write("Nobody can sign in until this is fixed. Restart the app after changing "
                     "`.streamlit/secrets.toml`; `docs/security.md` explains each setting.")

        only_page(setup_needed, "Setup needed", ":material/settings_alert:")
        return

    if demo and demo_clinic_missing():
        with st.spinner("Creating the demo clinic. This happens once, on the first run…"):
            create_demo_clinic()

    gate = SignIn(cookie_key, session_settings)
    signed_in = gate.establish()
    user = st.session_state.get("current_user")
    if signed_in is not None and layout.sidebar(user, demo=demo):
        with st.sidebar:  # the cookie component's empty frame goes where it takes no room
            gate.sign_out()
        signed_in = None
    elif signed_in is not None:
        with st.sidebar:
            gate.write_cookie()

    if signed_in is None:
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

        only_page(sign_in, "Sign in", ":material/login:")
        return

    if signed_in.must_change_password:
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

        only_page(choose_password, "Choose a password", ":material/password:")
        return

    gate.watch_idle(signed_in)
    page = st.navigation(
        [st.Page(spec.path, title=spec.title, icon=spec.icon, default=(i == 0))
         for i, spec in enumerate(pages_for(signed_in.role))],
        position="sidebar",
    )
    if demo:
        layout.demo_badge()
    with guard_database():
        page.run()


try:
    main()
except DatabaseUnavailable:
    only_page(show_outage, "Database unreachable", ":material/cloud_off:")
except Exception as exc:  # noqa: BLE001 - only outages are handled; the rest re-raise
    if not is_outage(exc):
        raise
    only_page(show_outage, "Database unreachable", ":material/cloud_off:")
