"""Database fixtures: every test that takes ``session`` runs on SQLite, and on
PostgreSQL too when ``TEST_DATABASE_URL`` is set."""
from __future__ import annotations

import functools
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from db.engine import make_engine, session_factory
from db.migrate import upgrade
from db.models import Base, ProtocolSettings

BASE_PG_URL = os.environ.get("TEST_DATABASE_URL", "").strip()


def worker_database_url(base_url: str, worker: str | None) -> str:
    """The URL of this pytest-xdist worker's own database beside the one ``base_url``
    names (``.../test`` gives ``.../test_gw0``); ``base_url`` itself when not under xdist.
    The tests empty their database, so two workers must never share one."""
    if not base_url or not worker or worker == "master":
        return base_url
    base = make_url(base_url)
    return base.set(database=f"{base.database}_{worker}").render_as_string(hide_password=False)


# What every test reads instead of TEST_DATABASE_URL (empty: no PostgreSQL tests).
PG_URL = worker_database_url(BASE_PG_URL, os.environ.get("PYTEST_XDIST_WORKER"))


@functools.cache
def pg_url() -> str:
    """PG_URL, its database created (from the base database, with AUTOCOMMIT) if missing.
    Call this, not os.environ, wherever a test needs the PostgreSQL URL."""
    if not PG_URL or PG_URL == BASE_PG_URL:
        return PG_URL
    name = make_url(PG_URL).database
    admin = create_engine(BASE_PG_URL, isolation_level="AUTOCOMMIT")
    try:
        for attempt in range(5):
            with admin.connect() as conn:
                if conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}):
                    break
                try:
                    conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
                    break
                except DBAPIError:
                    # Another worker copying template1 at the same moment: try again.
                    if attempt == 4:
                        raise
            time.sleep(0.5 + attempt)
    finally:
        admin.dispose()
    return PG_URL


BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A migrated SQLite file, copied for each test: cheaper than migrating each time."""
    path = tmp_path_factory.mktemp("template") / "clinic.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def pg_engine() -> Iterator[Engine]:
    if not PG_URL:
        pytest.skip("TEST_DATABASE_URL is not set: PostgreSQL tests skipped")
    engine = make_engine(pg_url())
    with engine.begin() as conn:
        # Start from an empty schema so that the migrations run from the beginning.
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    upgrade(engine)
    yield engine
    engine.dispose()


def _reset_postgres(engine: Engine) -> None:
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        # TRUNCATE fires no row triggers, so the append-only audit guard stays in place.
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    with session_factory(engine)() as s, s.begin():
        s.add(ProtocolSettings(id=1))


@pytest.fixture(params=BACKENDS)
def engine(request, tmp_path, sqlite_template) -> Iterator[Engine]:
    if request.param == "sqlite":
        path = tmp_path / "clinic.db"
        shutil.copy(sqlite_template, path)
        eng = make_engine(f"sqlite:///{path}")
        yield eng
        eng.dispose()
    else:
        eng = request.getfixturevalue("pg_engine")
        _reset_postgres(eng)
        yield eng


@pytest.fixture
def session(engine) -> Iterator[Session]:
    with session_factory(engine)() as s:
        yield s


# --- parallel runs (pytest-xdist, `-n 2 --dist loadgroup` in pytest.ini) ----------

SERIAL_GROUP = "serial"
# Tests that cannot share 2 cores with other tests: real Chromium, app servers, a
# private PostgreSQL that is stopped and started, wall-clock and memory bounds.
SERIAL_MARKERS = ("browser", "load", "two_servers", "faults", "serial")
SERIAL_FIXTURES = ("browser", "app_server", "private_postgres")


def pytest_collection_modifyitems(config, items) -> None:
    """Send every serial test to one xdist group, so they run one after another on one
    worker while the other worker takes the db/ and AppTest layers. Every other test is
    grouped by its module, so a module's shared clinic or app is built on one worker only."""
    def module(item) -> str:
        return item.nodeid.split("::", 1)[0]

    # A module with one serial test is serial as a whole: its server starts once.
    serial = {module(item) for item in items
              if any(item.get_closest_marker(m) for m in SERIAL_MARKERS)
              or any(f in item.fixturenames for f in SERIAL_FIXTURES)}
    for item in items:
        group = SERIAL_GROUP if module(item) in serial else module(item)
        item.add_marker(pytest.mark.xdist_group(group))
