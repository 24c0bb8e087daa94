"""The lockout attack of issue 15 in a real browser against a real server, from several
source addresses: Chromium sends X-Forwarded-For, which uvicorn trusts from 127.0.0.1
(as from a reverse proxy on the same machine), so st.context.ip_address is that address."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from db import auth as dbauth
from db.engine import make_engine, session_factory
from db.models import LoginThrottle
from tests.apptest_support import demo_clinic_template  # noqa: F401 (fixture)
from tests.browser_support import app_server, browser, sign_in  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser

ATTACKER = "203.0.113.9"
OFFICE = "198.51.100.7"


def open_from(browser, server, ip: str | None):
    context = browser.new_context(extra_http_headers={"X-Forwarded-For": ip} if ip else {})
    page = context.new_page()
    page.goto(server.url)
    return context, page


def throttle_rows(url: str) -> list[tuple[str, str, int]]:
    engine = make_engine(url)
    try:
        with session_factory(engine)() as session:
            return sorted((r.username, r.address, r.failures) for r in session.scalars(
                select(LoginThrottle).where(LoginThrottle.address != dbauth.ANY_ADDRESS)))
    finally:
        engine.dispose()


def test_a_lockout_from_one_address_does_not_reach_the_admin_elsewhere(app_server, browser):
    attacker, page = open_from(browser, app_server, ATTACKER)
    try:
        for _ in range(dbauth.LOCK_THRESHOLD):
            assert not sign_in(page, "admin", "wrong password!")
        assert not sign_in(page, "admin")  # the right password, refused from there
    finally:
        attacker.close()
    # The failures were counted against the forwarded address, not the proxy's.
    assert (("admin", ATTACKER, dbauth.LOCK_THRESHOLD) in throttle_rows(app_server.database_url))
    for ip in (OFFICE, None):  # another address, and the server's own machine
        context, page = open_from(browser, app_server, ip)
        try:
            assert sign_in(page, "admin"), ip
        finally:
            context.close()
