"""The shell in a real Chromium: sign-in per role, reload, sign-out against a replayed
cookie, lockout, and URLs a role may not open. Screenshots go to test-artifacts/."""
from __future__ import annotations

import pytest

from db import staff as dbstaff
from db.engine import make_engine, session_factory
from tests.apptest_support import demo_clinic_template  # noqa: F401 (fixture)
from tests.browser_support import (  # noqa: F401 (fixtures)
    app_server,
    browser,
    is_signed_in,
    nav_titles,
    screenshot,
    sign_in,
    sign_out,
    wait_settled,
)

pytestmark = pytest.mark.browser

ROLE_PAGES = {
    "therapist": ["My caseload", "Patient", "Record care", "Team meeting"],
    "director": ["Compliance", "Caseloads", "Patient", "Record care", "Team meeting", "Audit log",
                 "Protocol settings", "Import"],
    "admin": ["Users", "Import", "Audit log"],
    "teamscreen": ["Team meeting"],
}


def menu(username: str) -> list[str]:
    # Streamlit draws no menu at all for a single page.
    pages = ROLE_PAGES[username]
    return pages if len(pages) > 1 else []


URL_PATHS = ["caseload", "patient", "record_care", "team_meeting", "compliance", "audit_log",
             "protocol_settings", "users", "import_data"]


@pytest.fixture
def context(browser):
    ctx = browser.new_context(viewport={"width": 1400, "height": 900})
    yield ctx
    ctx.close()


def open_app(ctx, url):
    page = ctx.new_page()
    page.goto(url)
    return page


def test_the_first_sign_in_after_start_holds_even_when_hurried(app_server, browser):
    # The stack notes saw the first sign-in after a server start lost, and a
    # cookie never written when the app reran at once: fill the form as soon as
    # it appears, three times, and check that each sign-in holds over a reload.
    for attempt in range(3):
        ctx = browser.new_context()
        try:
            page = open_app(ctx, app_server.url)
            assert sign_in(page, "therapist", hurry=True), f"attempt {attempt}: not signed in"
            page.reload()
            wait_settled(page)
            assert is_signed_in(page), f"attempt {attempt}: reload lost the sign-in"
        finally:
            ctx.close()


@pytest.mark.parametrize("username", list(ROLE_PAGES))
def test_each_role_signs_in_sees_its_pages_and_stays_signed_in_on_reload(app_server, context,
                                                                           username):
    page = open_app(context, app_server.url)
    wait_settled(page)
    if username == "therapist":
        screenshot(page, "shell-sign-in")
    assert sign_in(page, username)
    assert nav_titles(page) == menu(username)
    assert page.get_by_text("Demo data").first.is_visible()
    for title in ROLE_PAGES[username]:
        if menu(username):
            page.locator("[data-testid='stSidebarNav'] a", has_text=title).first.click()
            wait_settled(page)
        assert page.get_by_text("This app has encountered an error").count() == 0
        screenshot(page, f"shell-{username}-{title.lower().replace(' ', '-')}")
    page.reload()
    wait_settled(page)
    assert is_signed_in(page)
    assert nav_titles(page) == menu(username)


def test_a_cookie_copied_before_sign_out_signs_nobody_in(app_server, browser):
    ctx = browser.new_context()
    page = open_app(ctx, app_server.url)
    assert sign_in(page, "director")
    page.reload()  # the cookie has reached the browser: a reload keeps us in
    wait_settled(page)
    assert is_signed_in(page)
    saved = [c for c in ctx.cookies() if c["name"] == "kap_session"]
    assert len(saved) == 1 and saved[0]["sameSite"] == "Strict"
    sign_out(page)
    assert not is_signed_in(page)
    assert page.get_by_text("You have signed out").is_visible()
    ctx.close()

    replay = browser.new_context()
    replay.add_cookies(saved)
    page = open_app(replay, app_server.url)
    wait_settled(page)
    page.reload()
    wait_settled(page)
    assert not is_signed_in(page)
    assert page.get_by_role("textbox", name="Username").is_visible()
    screenshot(page, "shell-replayed-cookie-refused")
    replay.close()


def test_five_wrong_passwords_lock_the_account(app_server, context):
    engine = make_engine(app_server.database_url)
    with session_factory(engine)() as session:
        dbstaff.add_user(session, "locktest", "Lock Test", "therapist", actor="test")
        dbstaff.set_password(session, "locktest", "right-password-1", actor="test")
        session.commit()
    engine.dispose()
    page = open_app(context, app_server.url)
    for _ in range(5):
        assert not sign_in(page, "locktest", "wrong-password-0")
    message = page.get_by_text("Sign-in failed").inner_text()
    assert not sign_in(page, "locktest", "right-password-1")
    assert page.get_by_text("Sign-in failed").inner_text() == message
    screenshot(page, "shell-locked")
    # An unknown name gets the very same words.
    assert not sign_in(page, "nobody-at-all", "whatever-it-is")
    assert page.get_by_text("Sign-in failed").inner_text() == message


def test_team_screen_cannot_open_another_page_even_by_url(app_server, context):
    page = open_app(context, app_server.url)
    assert sign_in(page, "teamscreen")
    forbidden = {"Compliance", "Caseloads", "My caseload", "Audit log", "Users", "Import",
                 "Protocol settings", "Patient", "Record care"}
    for path in URL_PATHS:
        page.goto(f"{app_server.url}/{path}")
        wait_settled(page)
        assert is_signed_in(page), path
        assert nav_titles(page) == [], path  # a single page: no menu at all
        headings = {h.strip() for h in page.locator("h1").all_inner_texts()}
        assert not headings & forbidden, (path, headings)
        if path == "audit_log":
            screenshot(page, "shell-teamscreen-typed-audit-log-url")


def test_a_bad_cookie_just_means_the_sign_in_page(app_server, browser):
    ctx = browser.new_context()
    host = app_server.url.split("//")[1].split(":")[0]
    ctx.add_cookies([{"name": "kap_session", "value": "not.a-real.token", "domain": host,
                      "path": "/"}])
    page = open_app(ctx, app_server.url)
    wait_settled(page)
    assert not is_signed_in(page)
    assert page.get_by_role("textbox", name="Username").is_visible()
    assert page.get_by_text("This app has encountered an error").count() == 0
    ctx.close()


def test_first_run_builds_the_demo_clinic_once_for_two_visitors(browser, tmp_path):
    import os
    import sqlite3

    from tests.browser_support import require_chromium, start_server, stop_server

    require_chromium()
    server = start_server(tmp_path, timeout=90)
    try:
        ctx = browser.new_context()
        first, second = ctx.new_page(), ctx.new_page()
        # Two visitors arrive before the clinic exists.
        first.goto(server.url, wait_until="commit")
        second.goto(server.url, wait_until="commit")
        for page in (first, second):
            page.get_by_role("textbox", name="Username").wait_for(timeout=240_000)
            wait_settled(page)
            assert page.get_by_text("Demo accounts").is_visible()
        with sqlite3.connect(tmp_path / "clinic.db") as conn:
            assert conn.execute("SELECT count(*) FROM patient").fetchone()[0] == 150
            assert conn.execute(
                "SELECT count(*) FROM audit_event WHERE action = 'demo.generate'").fetchone()[0] == 1
        assert oct(os.stat(tmp_path / "cookie_key").st_mode & 0o777) == "0o600"
        assert sign_in(first, "director")
        assert nav_titles(first) == ROLE_PAGES["director"]
        screenshot(first, "shell-first-run-director")
        ctx.close()
    finally:
        stop_server(server.process)


def test_a_deployment_shows_no_demo_accounts_and_logs_off_an_idle_screen(browser, tmp_path,
                                                                         demo_clinic_template):
    import shutil

    from tests.apptest_support import TEST_COOKIE_KEY
    from tests.browser_support import require_chromium, start_server, stop_server

    require_chromium()
    shutil.copy(demo_clinic_template, tmp_path / "clinic.db")
    # A short idle limit so the test need not wait 15 minutes: 0.1 minutes = 6 seconds.
    (tmp_path / "secrets.toml").write_text(
        f'[auth]\ncookie_key = "{TEST_COOKIE_KEY}"\nidle_minutes = 0.1\n')
    server = start_server(tmp_path, env={"DATABASE_URL": f"sqlite:///{tmp_path / 'clinic.db'}"})
    try:
        ctx = browser.new_context()
        page = open_app(ctx, server.url)
        wait_settled(page)
        assert page.get_by_text("Demo accounts").count() == 0
        assert page.get_by_text("Demo data").count() == 0
        assert sign_in(page, "therapist")
        # Nobody touches the screen: the page must give way to sign-in by itself.
        page.get_by_role("textbox", name="Username").wait_for(timeout=30_000)
        wait_settled(page)
        assert not is_signed_in(page)
        assert page.get_by_text("without activity").is_visible()
        screenshot(page, "shell-idle-signed-out")
        ctx.close()
    finally:
        stop_server(server.process)
