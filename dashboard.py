"""The front door: page config, sign-in, then the signed-in role's pages.

It only routes. ``st.navigation`` is called on every run, also when signed
out or when something is wrong, so Streamlit never falls back to listing
every script in pages/. The rules live in ui/ and db/.

``streamlit run dashboard.py`` reads this file twice over: it imports it as a
module to find ``app`` (the web server, with ui/http_guard.py's checks in
front of Streamlit), and runs it as ``__main__`` for every browser run.
"""
from __future__ import annotations

import streamlit as st

if __name__ == "__main__":
    # Only for a browser's run: imported as a module (to find ``app``, before
    # Streamlit's runtime exists) this file must load nothing of the app, or the
    # cookie component is declared too early and its frame answers 404.
    from ui import gate_pages, layout, settings, theme
    from ui.database import DatabaseUnavailable, guard_database, is_outage, show_outage
    from ui.demo_setup import create_demo_clinic, demo_clinic_missing
    from ui.pages import hidden_for, pages_for, title_for
    from ui.return_to import gate_routes, remember, take
    from ui.session import SignIn


def only_page(render, title: str, icon: str, *, keep_request: bool = False) -> None:
    # Under every registered page's URL too, so a link opened now never shows
    # Streamlit's "Page not found" (issue 19); the sign-in keeps what it asked for.
    page = st.navigation(gate_routes(render, title, icon), position="sidebar")
    if keep_request:
        remember(page)
    with guard_database():
        page.run()


def main() -> None:
    demo = settings.is_demo_mode()
    try:
        cookie_key = settings.cookie_key()
        session_settings = settings.session_settings()
    except settings.ConfigRefused as refused:
        only_page(gate_pages.setup_needed_page(str(refused)), "Setup needed", ":material/settings_alert:")
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
        only_page(gate_pages.sign_in_page(gate, demo=demo), "Sign in", ":material/login:",
                  keep_request=True)
        return

    if signed_in.must_change_password:
        only_page(gate_pages.choose_password_page(gate, signed_in), "Choose a password", ":material/password:")
        return

    gate.watch_idle(signed_in)
    role = signed_in.role
    page = st.navigation(
        [st.Page(spec.path, title=spec.title, icon=spec.icon, default=(i == 0))
         for i, spec in enumerate(pages_for(role))]
        # The others are registered too, unlisted, so that opening one refuses and audits.
        + [st.Page(path, title=title_for(path, role), visibility="hidden") for path in hidden_for(role)],
        position="sidebar",
    )
    take(page)  # the page and patient asked for before signing in, once
    if demo:
        layout.demo_badge()
    with guard_database():
        page.run()


def run() -> None:
    st.set_page_config(page_title="KAP care team", page_icon=":material/spa:", layout="wide")
    theme.enable_altair_theme()
    try:
        main()
    except DatabaseUnavailable:
        only_page(show_outage, "Database unreachable", ":material/cloud_off:")
    except Exception as exc:  # noqa: BLE001 - only outages are handled; the rest re-raise
        if not is_outage(exc):
            raise
        only_page(show_outage, "Database unreachable", ":material/cloud_off:")


if __name__ == "__main__":  # a browser's run (Streamlit runs the script as __main__)
    run()
else:  # imported by `streamlit run` (uvicorn) to find the server app
    from streamlit.runtime.pages_manager import PagesManager

    from ui.http_guard import middleware

    # Because pages/ sits beside this file, Streamlit starts in its old "pages
    # folder" mode until some session calls st.navigation: the first visitor of a
    # fresh server who opened a link such as /patient?patient=... got that page
    # file run without this script (no sign-in, every page listed). This app
    # always routes through st.navigation, so switch that mode off from the start.
    PagesManager.uses_pages_directory = False
    app = st.App(__file__, middleware=middleware())
