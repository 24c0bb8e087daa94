"""Real-browser helpers: a throw-away app server and Playwright driving Debian's Chromium.

In a test module::

    import pytest
    from tests.apptest_support import demo_clinic_template  # noqa: F401 (fixture)
    from tests.browser_support import app_server, browser, sign_in, wait_settled  # noqa: F401

    pytestmark = pytest.mark.browser

    def test_something(app_server, browser):
        context = browser.new_context()
        page = context.new_page()
        page.goto(app_server.url)
        assert sign_in(page, "therapist")

``app_server`` runs ``streamlit run dashboard.py`` in demo mode on a free port
against a copy of the test demo clinic in a temporary data folder
(``KAP_DATA_DIR``), never the repository's ``data/``. The clinic's today is
pinned to ``DEMO_AS_OF``. Chromium missing: the tests skip, unless
``REQUIRE_BROWSER=1`` (CI), where they fail.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.apptest_support import DEMO_AS_OF, DEMO_PASSWORDS, PROJECT_ROOT

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
ACTION_TIMEOUT_MS = 90_000
SETTLED = "[data-testid='stApp'][data-test-script-state='notRunning']"


def require_chromium() -> None:
    """Skip with a reason when there is no Chromium; fail instead in CI."""
    reason = None
    if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)):
        reason = f"no Chromium at {CHROMIUM} (apt-get install chromium chromium-driver)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            reason = "playwright is not installed (pip install -r requirements-dev.txt)"
    if reason:
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(f"browser tests skipped: {reason}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class AppServer:
    url: str
    data_dir: Path
    database_url: str
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def start_server(data_dir: Path, *, env: dict[str, str] | None = None,
                 timeout: float = 60) -> AppServer:
    """``streamlit run dashboard.py`` on a free port; returns once /_stcore/health answers."""
    port = free_port()
    run_env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL",)}
    run_env.update({"KAP_DATA_DIR": str(data_dir), "KAP_TODAY": DEMO_AS_OF.isoformat(),
                    "PYTHONUNBUFFERED": "1"})
    run_env.update(env or {})
    log_path = data_dir / "server.log"
    log = log_path.open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "dashboard.py",
         "--server.headless", "true", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
         # Only the secrets the test gives: a developer's own secrets.toml must not
         # switch the test server out of demo mode.
         "--secrets.files", str(data_dir / "secrets.toml")],
        cwd=PROJECT_ROOT, env=run_env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited early:\n{log_path.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return AppServer(url, data_dir, f"sqlite:///{data_dir / 'clinic.db'}",
                                     process, log_path)
        except OSError:
            time.sleep(0.3)
    stop_server(process)
    raise RuntimeError(f"streamlit did not answer /_stcore/health in {timeout}s:\n{log_path.read_text()}")


def stop_server(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture(scope="module")
def app_server(demo_clinic_template, tmp_path_factory) -> Iterator[AppServer]:
    """A demo-mode app server on a copy of the test demo clinic (one per test module)."""
    require_chromium()
    data_dir = tmp_path_factory.mktemp("app-data")
    shutil.copy(demo_clinic_template, data_dir / "clinic.db")
    server = start_server(data_dir)
    try:
        yield server
    finally:
        stop_server(server.process)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        new_context = chromium.new_context

        def patient_context(*args, **kwargs):
            # Playwright's 30 s default is tight for a Streamlit rerun on two busy cores
            # (CI runs servers and browsers side by side); a real hang still fails.
            context = new_context(*args, **kwargs)
            context.set_default_timeout(ACTION_TIMEOUT_MS)
            return context

        chromium.new_context = patient_context
        try:
            yield chromium
        finally:
            chromium.close()


def wait_settled(page, timeout: float = ACTION_TIMEOUT_MS, pause: float = 0.6) -> None:
    """Wait until the script has stopped running and stays stopped for a moment.

    The state flips between back-to-back reruns (the cookie component causes
    one), so look twice.
    """
    for _ in range(2):
        page.wait_for_selector(SETTLED, timeout=timeout)
        page.wait_for_timeout(pause * 1000)
    page.wait_for_selector(SETTLED, timeout=timeout)


def is_signed_in(page) -> bool:
    return page.get_by_role("button", name="Sign out").count() > 0


def sign_in(page, username: str, password: str | None = None, *, hurry: bool = False) -> bool:
    """Sign in through the real form; True when the sidebar then shows 'Sign out'.

    ``hurry`` fills the form as soon as it appears instead of waiting for the
    app to settle, as an impatient person would (the race the stack notes saw).
    """
    password = DEMO_PASSWORDS[username] if password is None else password
    username_box = page.get_by_role("textbox", name="Username")
    if hurry:
        username_box.wait_for(timeout=30_000)
    else:
        wait_settled(page)
    username_box.fill(username)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    # Either the sidebar's sign-out button or the sign-in error appears.
    page.locator("[data-testid='stSidebar'] button:has-text('Sign out'), "
                 "[data-testid='stAlertContentError']").first.wait_for(timeout=30_000)
    wait_settled(page)
    if not is_signed_in(page):
        return False
    _wait_for_session_cookie(page)
    return True


def _wait_for_session_cookie(page, timeout_s: float = 30.0) -> None:
    """The sign-in cookie is written by a component a moment after sign-in (on busy
    cores, seconds later); until then the web server refuses this browser's uploads
    and /media files (ui/http_guard.py), so a test that goes on at once races it."""
    from ui.session import COOKIE_NAME

    deadline = time.monotonic() + timeout_s
    while not any(c["name"] == COOKIE_NAME for c in page.context.cookies()):
        if time.monotonic() > deadline:
            raise AssertionError(f"signed in, but no {COOKIE_NAME} cookie after {timeout_s:.0f}s")
        page.wait_for_timeout(250)


def sign_out(page) -> None:
    page.get_by_role("button", name="Sign out").click()
    wait_settled(page)


def nav_titles(page) -> list[str]:
    """The page titles in the sidebar menu, in order."""
    titles = []
    for text in page.locator("[data-testid='stSidebarNav'] a").all_inner_texts():
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        if lines:
            titles.append(lines[-1])  # the Material icon's ligature name comes first
    return titles


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
