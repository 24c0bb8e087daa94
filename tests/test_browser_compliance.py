"""The medical director's way through, in a real browser: sign in, see last
month's compliance and its trend, download the CSV and the PDF (both audited),
open an exception's record; the settings and audit log pages. Screenshots go
to test-artifacts/."""
from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from db.demo import DEMO_ACCOUNTS, ensure_demo_accounts, generate_demo
from db.engine import make_engine, session_factory
from db.migrate import upgrade
from db.models import AuditEvent
from db.protocol import compute_compliance
from db.queries import compliance as cq
from db.queries.periods import period_for

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
TODAY = date(2026, 11, 27)
PASSWORD = {a.username: a.password for a in DEMO_ACCOUNTS}
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
SIZES = [(1366, 768), (1920, 1080)]


def _need_browser() -> None:
    if not Path(CHROMIUM).exists():
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"REQUIRE_BROWSER=1 but {CHROMIUM} is missing")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A demo clinic (200 patients) served by `streamlit run dashboard.py`."""
    _need_browser()
    work = tmp_path_factory.mktemp("browser-compliance")
    url = f"sqlite:///{work / 'clinic.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with session_factory(engine)() as session:
        generate_demo(session, patients=200, seed=7, as_of=TODAY)
        ensure_demo_accounts(session)
    # A home of its own holds the cookie key: with DATABASE_URL set the app is
    # not in demo mode and refuses to start without one.
    home = work / "home"
    (home / ".streamlit").mkdir(parents=True)
    (home / ".streamlit" / "secrets.toml").write_text(
        '[auth]\ncookie_key = "browser-tests-only-5c1e9a7b3d2f4e6a8b0c1d3e5f7a9b2c"\n')
    port = _free_port()
    env = {**os.environ, "HOME": str(home), "DATABASE_URL": url, "KAP_TODAY": TODAY.isoformat()}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "dashboard.py", "--server.port", str(port),
         "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                if urllib.request.urlopen(f"{base}/_stcore/health", timeout=1).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("streamlit did not start")
        yield base, engine
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        engine.dispose()


@pytest.fixture(scope="module")
def browser(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def settle(page) -> None:
    ready = "[data-testid='stApp'][data-test-script-state='notRunning']"
    page.wait_for_selector(ready, timeout=60_000)
    page.wait_for_timeout(1_200)  # the state flips between reruns
    page.wait_for_selector(ready, timeout=60_000)


def signed_in(browser, base: str, size: tuple[int, int], username: str = "director"):
    context = browser.new_context(viewport={"width": size[0], "height": size[1]},
                                  accept_downloads=True)
    page = context.new_page()
    page.goto(base)
    settle(page)
    for _ in range(3):  # the first sign-in after start can race the cookie component
        page.get_by_role("textbox", name="Username").fill(username)
        page.get_by_role("textbox", name="Password").fill(PASSWORD[username])
        page.get_by_role("button", name="Sign in").click()
        settle(page)
        if page.get_by_role("button", name="Sign out").count():
            return context, page
    pytest.fail(f"could not sign in as {username}")


def _audit(engine, action: str) -> list[dict]:
    with session_factory(engine)() as s:
        return [json.loads(e.detail) for e in s.scalars(
            select(AuditEvent).where(AuditEvent.action == action, AuditEvent.actor == "director"))]


def _download(page, label: str):
    button = page.locator("[data-testid='stDownloadButton'] button").filter(has_text=label).first
    with page.expect_download() as info:
        button.click()
    settle(page)
    return info.value


def test_director_files_last_months_report(server, browser):
    from pypdf import PdfReader

    base, engine = server
    ARTIFACTS.mkdir(exist_ok=True)
    context, page = signed_in(browser, base, SIZES[0])
    # Compliance is the director's landing page; last month is the default period.
    assert page.get_by_role("heading", name="Compliance").count()
    period = period_for("Last month", TODAY)
    with session_factory(engine)() as s:
        rows = compute_compliance(s, period.evaluation_date(TODAY))
    expected = cq.figures(rows, period, period.evaluation_date(TODAY))
    tile = page.locator("[data-testid='stMetric']").filter(has_text="Compliance rate")
    assert f"{expected.compliance_rate:.1f}%" in tile.inner_text()
    assert page.get_by_text(f"{expected.compliant} of {expected.closed} closed series compliant"
                            ).count()
    page.screenshot(path=ARTIFACTS / "compliance-1366x768.png")

    csv_file = _download(page, "Exceptions")
    text = Path(csv_file.path()).read_text()
    assert text.startswith("patient_id,series,kind,why,status")
    pdf_file = _download(page, "Report (PDF)")
    reader = PdfReader(io.BytesIO(Path(pdf_file.path()).read_bytes()))
    assert len(reader.pages) == 1
    pdf_text = reader.pages[0].extract_text()
    assert f"Protocol compliance report: {period.label}" in pdf_text
    assert f"{expected.compliance_rate:.1f}%" in pdf_text
    assert any(d.get("what") == "compliance exceptions" for d in _audit(engine, "export.csv"))
    assert any(d.get("what") == "compliance report" for d in _audit(engine, "export.pdf"))

    # Open the first exception: its patient's record.
    grid = page.locator("[data-testid='stDataFrame']").first
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    page.mouse.click(box["x"] + 15, box["y"] + 52)  # the first row's selection box
    settle(page)
    assert "patient=" in page.url
    page.screenshot(path=ARTIFACTS / "compliance-opened-exception-1366x768.png")
    # Back on the compliance page, the old selection does not bounce us away again.
    page.get_by_role("link", name="Compliance").click()
    settle(page)
    assert "patient=" not in page.url
    context.close()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_screenshots(server, browser, size):
    base, _ = server
    ARTIFACTS.mkdir(exist_ok=True)
    context, page = signed_in(browser, base, size)
    w, h = size
    for name, link in (("compliance", "Compliance"), ("protocol-settings", "Protocol settings"),
                       ("audit-log", "Audit log")):
        page.get_by_role("link", name=link).click()
        settle(page)
        assert page.get_by_role("heading", name=link).count()
        page.screenshot(path=ARTIFACTS / f"{name}-{w}x{h}.png")
    # The whole compliance page in one picture, to check the layout below the fold.
    page.get_by_role("link", name="Compliance").click()
    page.set_viewport_size({"width": w, "height": 2600})
    settle(page)
    page.screenshot(path=ARTIFACTS / f"compliance-full-{w}.png")
    context.close()
