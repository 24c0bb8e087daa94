"""Sessions in a real browser, beyond tests/test_browser_shell.py (sign-out
replay, lockout, idle logoff, team screen by URL are there): a user deactivated
while signed in is out on their next click, and neither their open tab nor a
copy of their cookie brings them back."""
from __future__ import annotations

import pytest

from db import staff
from db.engine import make_engine, session_factory
from tests.apptest_support import demo_clinic_template  # noqa: F401 (fixture)
from tests.browser_support import app_server, browser, is_signed_in, sign_in, wait_settled  # noqa: F401

pytestmark = pytest.mark.browser


def test_deactivated_user_is_out_on_the_next_click_and_stays_out(app_server, browser):
    ctx = browser.new_context(viewport={"width": 1366, "height": 768})
    page = ctx.new_page()
    try:
        page.goto(app_server.url)
        assert sign_in(page, "therapist")
        page.reload()  # the cookie has reached the browser
        wait_settled(page)
        assert is_signed_in(page)
        cookies = [c for c in ctx.cookies() if c["name"] == "kap_session"]
        assert cookies

        engine = make_engine(app_server.database_url)
        try:
            with session_factory(engine)() as s:
                staff.deactivate(s, "therapist", actor="admin")
                s.commit()
        finally:
            engine.dispose()

        # The next interaction: a click in the menu.
        page.locator("[data-testid='stSidebarNav'] a", has_text="Team meeting").click()
        wait_settled(page)
        assert not is_signed_in(page)
        assert page.get_by_text("no longer active").is_visible()
        assert page.get_by_role("textbox", name="Username").is_visible()

        # The cookie they still hold, in a fresh browser: still out.
        other = browser.new_context()
        try:
            other.add_cookies(cookies)
            replay = other.new_page()
            replay.goto(app_server.url)
            wait_settled(replay)
            assert not is_signed_in(replay)
        finally:
            other.close()
        # And the password no longer opens the account.
        assert not sign_in(page, "therapist")
    finally:
        ctx.close()
