"""The medical director's way through, in a real browser: sign in, see last
month's compliance and its trend, download the CSV and the PDF (both audited),
open an exception's record; the settings and audit log pages. Screenshots go
to test-artifacts/."""
from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from db.engine import make_engine, session_factory
from db.models import AuditEvent
from db.protocol import compute_compliance
from db.queries import compliance as cq
from db.queries.periods import period_for
from tests.apptest_support import DEMO_AS_OF as TODAY
from tests.apptest_support import demo_clinic_template  # noqa: F401 (fixture)
from tests.browser_support import (  # noqa: F401 (fixtures)
    ARTIFACTS,
    app_server,
    browser,
    sign_in,
    wait_settled,
)

pytestmark = pytest.mark.browser

SIZES = [(1366, 768), (1920, 1080)]


@pytest.fixture(scope="module")
def server(app_server):
    engine = make_engine(app_server.database_url)
    yield app_server.url, engine
    engine.dispose()


def settle(page) -> None:
    wait_settled(page)


def signed_in(browser, base: str, size: tuple[int, int], username: str = "director"):
    context = browser.new_context(viewport={"width": size[0], "height": size[1]},
                                  accept_downloads=True)
    page = context.new_page()
    page.goto(base)
    for _ in range(3):  # the first sign-in after start can race the cookie component
        if sign_in(page, username):
            return context, page
        page.goto(base)
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
