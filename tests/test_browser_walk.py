"""Real browser, issue 14: a seeded random walk over Record care (every tab, as the
medical director) and Users (as admin) at 1366x768, mixing "choose a record",
"switch tab", "save a valid entry", "try an invalid entry" and "go to another
page and back". After every step the database and the audit log are asked
whether the change hit the record named on screen at the click, whether an
invalid entry saved nothing, and whether the screen shows only the chosen
record (tests/walk_support.py).

200 steps on SQLite, 50 on PostgreSQL (only when TEST_DATABASE_URL is set).
``WALK_STEPS=<n>`` asks for a longer (or shorter) walk, ``WALK_SEED=<n>`` for
another seed; a failing walk prints both and its steps, to replay it.
"""
from __future__ import annotations

import os
import time

import pytest
from db.demo import ensure_demo_accounts, generate_demo
from db.engine import session_factory
from tests.apptest_support import (  # noqa: F401 (fixture)
    DEMO_AS_OF,
    DEMO_PATIENTS,
    DEMO_SEED,
    TEST_COOKIE_KEY,
    demo_clinic_template,
)
from tests.browser_support import ARTIFACTS as ROOT_ARTIFACTS
from tests.browser_support import (  # noqa: F401 (fixtures)
    app_server,
    browser,
    require_chromium,
    sign_in,
    start_server,
    stop_server,
)
from tests.conftest import PG_URL, _reset_postgres, pg_url
from tests.walk_support import PHASES, Oracle, Walk, WalkFailure

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DEFAULT_SEEDS = {"sqlite": 1401, "postgresql": 1402}
DEFAULT_STEPS = {"sqlite": 200, "postgresql": 50}
MIN_RECORDS = 10
VIEWPORT = {"width": 1366, "height": 768}
ARTIFACTS = ROOT_ARTIFACTS / "walk"


def walk_settings(backend: str) -> tuple[int, int]:
    seed = int(os.environ.get("WALK_SEED") or DEFAULT_SEEDS[backend])
    steps = int(os.environ.get("WALK_STEPS") or DEFAULT_STEPS[backend])
    return seed, steps


@pytest.fixture(scope="module")
def pg_app_server(request, tmp_path_factory):
    """The app server on TEST_DATABASE_URL, loaded with the same demo clinic as on SQLite.

    The database is emptied the way every PostgreSQL test empties it (tests/conftest.py),
    so the walk and the other PostgreSQL tests can share it in one run."""
    if not PG_URL:
        pytest.skip("TEST_DATABASE_URL is not set: the PostgreSQL walk is skipped")
    require_chromium()
    engine = request.getfixturevalue("pg_engine")
    _reset_postgres(engine)
    with session_factory(engine)() as s:
        generate_demo(s, patients=DEMO_PATIENTS, seed=DEMO_SEED, as_of=DEMO_AS_OF)
        ensure_demo_accounts(s)
    data_dir = tmp_path_factory.mktemp("walk-pg")
    (data_dir / "secrets.toml").write_text(f'[auth]\ncookie_key = "{TEST_COOKIE_KEY}"\n')
    server = start_server(data_dir, env={"DATABASE_URL": pg_url()})
    server.database_url = pg_url()
    try:
        yield server
    finally:
        stop_server(server.process)
        _reset_postgres(engine)  # the next PostgreSQL test starts from an empty clinic


def signed_in_page(browser, base: str, username: str):
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    for _ in range(3):  # the first sign-in after start can be lost (stack notes)
        page.goto(base)
        if sign_in(page, username):
            return context, page
    context.close()
    pytest.fail(f"could not sign in as {username}")


def run_walk(server, browser, backend: str) -> None:
    seed, steps = walk_settings(backend)
    oracle = Oracle(server.database_url)
    director, rc_page = signed_in_page(browser, server.url, "director")
    admin, users_page = signed_in_page(browser, server.url, "admin")
    walk = Walk(seed=seed, steps_wanted=steps, oracle=oracle, rc_page=rc_page,
                users_page=users_page, today=DEMO_AS_OF)
    PHASES.clear()
    started = time.monotonic()
    failure = None
    try:
        walk.run()
    except WalkFailure as exc:
        failure = str(exc)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for who, page in (("director", rc_page), ("admin", users_page)):
            try:
                page.screenshot(path=str(ARTIFACTS / f"walk-{backend}-failure-{who}.png"))
            except Exception:  # noqa: BLE001 - the report matters more than the picture
                pass
    finally:
        director.close()
        admin.close()
        oracle.close()
    if failure:
        pytest.fail(f"{failure}\n\nReplay with (on {backend}; screenshots in {ARTIFACTS}):\n"
                    f"  {walk.replay_text()}", pytrace=False)
    took = time.monotonic() - started
    timed = [s.seconds for s in walk.steps]
    kinds: dict[str, list[float]] = {}
    for s in walk.steps:
        kinds.setdefault(f"{s.area}:{s.kind}", []).append(s.seconds)
    print(f"\n{backend} walk, seed {seed}: {len(walk.steps)} steps in {took:.0f} s "
          f"({took / max(1, len(timed)):.2f} s a step); records chosen: "
          f"{len(walk.records_seen)}")
    for kind, secs in sorted(kinds.items()):
        print(f"  {kind:<14} {len(secs):>4} steps, {sum(secs) / len(secs):.2f} s each, "
              f"slowest {max(secs):.2f} s")
    for phase, secs in sorted(PHASES.items()):
        print(f"  {phase:<28} {secs:6.1f} s in all")
    assert len(walk.steps) == steps
    if steps >= DEFAULT_STEPS[backend]:
        assert len(walk.records_seen) >= MIN_RECORDS, walk.records_seen


def test_walk_sqlite(app_server, browser):
    run_walk(app_server, browser, "sqlite")


@pytest.mark.postgresql
def test_walk_postgresql(pg_app_server, browser):
    run_walk(pg_app_server, browser, "postgresql")
