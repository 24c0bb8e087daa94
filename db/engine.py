"""The one engine and session factory of the project."""
from __future__ import annotations

import os
import sqlite3
from datetime import date
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from .config import DATA_DIR, database_url

# A column labelled "<name> [iso_date]" comes back from SQLite as a date,
# converted by the sqlite3 driver as it builds the row (PARSE_COLNAMES), not
# by SQLAlchemy afterwards: clinic-wide reads (the compliance report) take
# hundreds of thousands of dates, and rebuilding every row to convert them
# cost more than reading them. PostgreSQL ignores the tag in a label.
SQLITE_DATE_TAG = "iso_date"


class _IsoDates(dict):
    """ISO date text (bytes, as sqlite3 gives it) -> date, each parsed once."""

    def __missing__(self, text: bytes):
        if len(self) > 100_000:  # a clinic's dates are far fewer; never grow unbounded
            self.clear()
        self[text] = day = date.fromisoformat(text.decode())
        return day


sqlite3.register_converter(SQLITE_DATE_TAG, _IsoDates().__getitem__)

SQLITE_BUSY_TIMEOUT_MS = 15_000


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # WAL lets readers proceed while one writer writes; foreign keys are off in
    # SQLite unless asked for on every connection.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _file_id(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _missing(path: Path) -> OperationalError:
    return OperationalError("(connect)", None, sqlite3.OperationalError(
        f"the database file {path.name} is no longer where it was opened"))


def _watch_sqlite_file(engine: Engine, path: Path) -> None:
    """Refuse to carry on when the database file is removed or replaced.

    SQLite keeps writing to a file that was deleted or moved while connections
    hold it open (those writes are lost), and a new connection would silently
    create an empty clinic in its place. Once this engine has opened the file,
    a missing or different file is an outage: pooled connections to the old
    file are dropped and no new file is created; when the file is back, the
    next connection works again.
    """
    opened: dict[str, tuple[int, int] | None] = {"id": None}

    @event.listens_for(engine, "do_connect")
    def _refuse_to_create(dialect, conn_rec, cargs, cparams):
        if opened["id"] is not None and _file_id(path) is None:
            raise _missing(path)

    @event.listens_for(engine, "connect")
    def _remember(dbapi_connection, record):
        record.info["kap_file"] = _file_id(path)
        if opened["id"] is None:
            opened["id"] = record.info["kap_file"]

    @event.listens_for(engine, "checkout")
    def _same_file(dbapi_connection, record, proxy):
        now = _file_id(path)
        if now != record.info.get("kap_file"):
            # Invalidate this pooled connection; the error reaches the caller as an outage.
            record.invalidate()
            raise _missing(path)


def make_engine(url: str | None = None, **kwargs) -> Engine:
    """An engine for ``url`` (default: the configured database).

    SQLite files get their folder created, WAL, foreign keys and a busy timeout;
    PostgreSQL connections are checked before use so that the app recovers by
    itself after the server restarts.
    """
    url = url or database_url()
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            path = Path(parsed.database)
            if path.parent == DATA_DIR:
                DATA_DIR.mkdir(mode=0o700, exist_ok=True)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
        connect_args = kwargs.setdefault("connect_args", {})
        connect_args.setdefault("timeout", SQLITE_BUSY_TIMEOUT_MS / 1000)
        connect_args.setdefault("detect_types", sqlite3.PARSE_COLNAMES)  # SQLITE_DATE_TAG
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        if parsed.database and parsed.database != ":memory:" and not parsed.query.get("uri"):
            _watch_sqlite_file(engine, Path(parsed.database).resolve())
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    if parsed.get_backend_name() == "postgresql":
        # A calm failure beats a page that hangs while the server is away.
        kwargs.setdefault("connect_args", {}).setdefault("connect_timeout", 5)
    return create_engine(url, **kwargs)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    # expire_on_commit=False: callers get plain values back after commit.
    return sessionmaker(bind=engine, expire_on_commit=False)


def is_sqlite(engine_or_session) -> bool:
    bind = getattr(engine_or_session, "bind", None) or engine_or_session
    return bind.dialect.name == "sqlite"
