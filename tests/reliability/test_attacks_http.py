"""Issue 15's attacks over plain HTTP and a raw websocket, against a real server.

``streamlit run dashboard.py`` on a copy of the demo clinic; the attacker
speaks Streamlit's protocol directly (tests/reliability/raw_client.py), the
victims sign in with Chromium. Each test first shows the attack's way in is
really there (the server answers, the victim's session exists), then that it
does no harm:

- item 2: anonymous uploads are refused before their body is read, and five
  of 60 MB grow the server's memory by less than ``UPLOAD_RSS_BOUND``; a
  director's own upload still works, the same session id without the
  director's cookie does not, nor a therapist's;
- item 4: the victim's Streamlit session id and no cookie give the sign-in
  form, not the director's pages, and the refusal is audited;
- item 7: a deferred compliance file asked for over the websocket without any
  click is audited when made; ``/media`` serves it only with a live sign-in's
  cookie, with ``Cache-Control: no-store``; after sign-out it is refused;
- item 11: the security headers are on every response, and the app still
  renders and signs in in Chromium under that policy.
"""
from __future__ import annotations

import json
import shutil
import tomllib
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

from db.engine import make_engine, session_factory
from db.models import AuditEvent, Staff
from tests.apptest_support import DEMO_PASSWORDS, demo_clinic_template  # noqa: F401 (fixture)
from tests.browser_support import (  # noqa: F401 (fixture)
    PROJECT_ROOT, browser, sign_in, sign_out, start_server, stop_server, wait_settled)
from tests.reliability.raw_client import RawSession, multipart, rss_bytes, session_ids
from ui.http_guard import SECURITY_HEADERS, UPLOAD_ROLES
from ui.session import COOKIE_NAME

MB = 1 << 20
UPLOAD_SIZE = 60 * MB
UPLOADS = 5
# Five anonymous uploads of 60 MB may grow the server by at most this much (before the
# fix, five of 100 MB grew it by 500 MB and it stayed).
UPLOAD_RSS_BOUND = 25 * MB


@pytest.fixture(scope="module")
def server(demo_clinic_template, tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("attack-server")
    shutil.copy(demo_clinic_template, data_dir / "clinic.db")
    (data_dir / "secrets.toml").write_text("")
    running = start_server(data_dir)
    try:
        yield running
    finally:
        stop_server(running.process)


def _events(server, action: str) -> list[AuditEvent]:
    engine = make_engine(server.database_url)
    try:
        with session_factory(engine)() as s:
            return list(s.scalars(select(AuditEvent).where(AuditEvent.action == action)
                                  .order_by(AuditEvent.id)))
    finally:
        engine.dispose()


def _full_name(server, username: str) -> str:
    engine = make_engine(server.database_url)
    try:
        with session_factory(engine)() as s:
            return s.scalar(select(Staff.full_name).where(Staff.username == username))
    finally:
        engine.dispose()


def _put(server, session_id: str, xsrf: str, size: int, cookies: dict[str, str] | None = None,
         file_id: str = "f1") -> int:
    body, content_type = multipart(size)
    response = requests.put(
        f"{server.url}/_stcore/upload_file/{session_id}/{file_id}", data=body, timeout=120,
        headers={"Content-Type": content_type, "X-Xsrftoken": xsrf},
        cookies={"_streamlit_xsrf": xsrf, **(cookies or {})})
    return response.status_code


class Victim:
    """A staff member signed in with Chromium: their session id(s) and sign-in cookie."""

    def __init__(self, browser, server, username: str) -> None:
        self.context = browser.new_context(viewport={"width": 1366, "height": 900})
        self.page = self.context.new_page()
        self.console: list[str] = []
        self.page.on("console", lambda m: self.console.append(m.text))
        self.ids = session_ids(self.page)
        self.page.goto(server.url)
        assert sign_in(self.page, username), f"{username} could not sign in"
        # The cookie is written by the cookie component a moment after sign-in.
        for _ in range(40):
            if self.cookie:
                break
            self.page.wait_for_timeout(250)
        assert self.cookie and self.ids

    @property
    def cookie(self) -> str | None:
        found = [c["value"] for c in self.context.cookies() if c["name"] == COOKIE_NAME]
        return found[0] if found else None

    @property
    def session_id(self) -> str:
        return self.ids[-1]

    def close(self) -> None:
        self.context.close()


# --- item 2: uploads --------------------------------------------------------------------------

def test_the_upload_cap_is_at_most_100_mb():
    config = tomllib.loads((PROJECT_ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] <= 100


def test_anonymous_uploads_are_refused_and_do_not_grow_memory(server):
    with RawSession(server.url) as attacker:
        shown = attacker.run()
        assert shown.session_id and "Username" in shown.text  # a live, signed-out session
        # A warm-up request, so the measurement starts from a steady process.
        assert _put(server, shown.session_id, attacker.xsrf, 1024, file_id="warm") == 403
        before = rss_bytes(server.process.pid)
        statuses = [_put(server, shown.session_id, attacker.xsrf, UPLOAD_SIZE, file_id=f"f{i}")
                    for i in range(UPLOADS)]
        grown = rss_bytes(server.process.pid) - before
    assert statuses == [403] * UPLOADS
    assert grown < UPLOAD_RSS_BOUND, f"server grew by {grown / MB:.0f} MB"


@pytest.mark.parametrize("username, may", [("director", True), ("therapist", False)])
def test_only_a_signed_in_importer_with_its_own_cookie_may_upload(server, browser, username, may):
    assert ({"director": "medical_director", "therapist": "therapist"}[username]
            in UPLOAD_ROLES) == may
    victim = Victim(browser, server, username)
    try:
        xsrf = [c["value"] for c in victim.context.cookies() if c["name"] == "_streamlit_xsrf"][0]
        own = _put(server, victim.session_id, xsrf, 4096, cookies={COOKIE_NAME: victim.cookie})
        assert own == (204 if may else 403)
        # Someone who read the session id in a log, without the cookie: refused.
        assert _put(server, victim.session_id, xsrf, 4096) == 403
        # A forged or stale cookie: refused.
        assert _put(server, victim.session_id, xsrf, 4096, cookies={COOKIE_NAME: "x.y.z"}) == 403
    finally:
        victim.close()


# --- item 4: a session id alone ---------------------------------------------------------------

def test_a_session_id_alone_does_not_take_over_a_signed_in_session(server, browser):
    victim = Victim(browser, server, "director")
    surname = _full_name(server, "director").split()[-1]
    try:
        # The way in is real: with the director's cookie, the same session id resumes it.
        with RawSession(server.url, session_id=victim.session_id,
                        cookies={COOKIE_NAME: victim.cookie}) as holder:
            resumed = holder.run()
        assert resumed.session_id == victim.session_id
        assert surname in resumed.text and resumed.downloads  # the director's Compliance page

        denied_before = len(_events(server, "access.denied"))
        with RawSession(server.url, session_id=victim.session_id) as attacker:
            taken = attacker.run()
        assert taken.session_id == victim.session_id  # the same Streamlit session...
        assert surname not in taken.text and not taken.downloads  # ...without the sign-in
        assert "Username" in taken.text and "Compliance" not in taken.text
        denied = _events(server, "access.denied")[denied_before:]
        assert [(e.actor, json.loads(e.detail)["page"]) for e in denied] == [("director", "(session)")]

        # The director's own browser, reconnecting with its cookie, is still signed in.
        victim.page.reload()
        wait_settled(victim.page)
        assert victim.page.get_by_role("button", name="Sign out").count() == 1
    finally:
        victim.close()


# --- item 7: deferred exports -------------------------------------------------------------------

def test_a_deferred_export_is_audited_when_made_and_not_served_after_sign_out(server, browser):
    victim = Victim(browser, server, "director")
    try:
        csv_before = len(_events(server, "export.csv"))
        pdf_before = len(_events(server, "export.pdf"))
        # The director's own session over a raw socket (with the cookie, as the
        # attacker in the issue did with their own account): ask for the files
        # without clicking anything.
        with RawSession(server.url, session_id=victim.session_id,
                        cookies={COOKIE_NAME: victim.cookie}) as raw:
            shown = raw.run()
            assert {"Exceptions (CSV)", "All series (CSV)", "Report (PDF)"} <= set(shown.downloads)
            urls = {}
            for label in ("All series (CSV)", "Report (PDF)"):
                url, error = raw.deferred_file(shown.downloads[label])
                assert url and not error, error
                urls[label] = url
        series = [json.loads(e.detail) for e in _events(server, "export.csv")[csv_before:]]
        assert [d["what"] for d in series] == ["compliance series"]
        pdfs = [json.loads(e.detail) for e in _events(server, "export.pdf")[pdf_before:]]
        assert [d["what"] for d in pdfs] == ["compliance report"]

        victim.page.reload()  # the browser takes its session back
        wait_settled(victim.page)
        cookie = victim.cookie
        for url in urls.values():
            full = server.url + url if url.startswith("/") else url
            signed_in = requests.get(full, cookies={COOKIE_NAME: cookie}, timeout=30)
            assert signed_in.status_code == 200 and signed_in.content
            assert signed_in.headers["Cache-Control"] == "no-store"
            anonymous = requests.get(full, timeout=30)
            assert anonymous.status_code == 403
            assert anonymous.headers["Cache-Control"] == "no-store"
        sign_out(victim.page)
        for url in urls.values():
            full = server.url + url if url.startswith("/") else url
            after = requests.get(full, cookies={COOKIE_NAME: cookie}, timeout=30)
            assert after.status_code == 403, "served after sign-out"
    finally:
        victim.close()


# --- item 11: headers ---------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/", "/_stcore/health", "/media/nothing.csv",
                                  "/static/does-not-exist.js"])
def test_every_response_carries_the_security_headers(server, path):
    response = requests.get(server.url + path, timeout=30)
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, (path, name)
    assert "frame-ancestors 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN"


def test_the_app_renders_and_signs_in_under_the_policy(server, browser):
    victim = Victim(browser, server, "director")
    try:
        page = victim.page
        assert page.get_by_role("heading", name="Compliance").count()
        # The cookie component (a same-origin frame) ran: the cookie is set, and a reload keeps
        # the sign-in.
        page.reload()
        wait_settled(page)
        assert page.get_by_role("button", name="Sign out").count() == 1
        blocked = [m for m in victim.console if "Content Security Policy" in m]
        assert blocked == []
    finally:
        victim.close()
