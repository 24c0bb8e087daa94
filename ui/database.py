"""The app's one engine, a session helper, and the calm answer to a database outage."""
from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session

from db.config import database_url
from db.engine import make_engine, session_factory
from db.migrate import upgrade

log = logging.getLogger(__name__)


class DatabaseUnavailable(RuntimeError):
    """The database cannot be reached; carries no connection details."""


@st.cache_resource(show_spinner=False)
def _engine_for(url: str) -> Engine:
    # An exception here is not cached, so the next run tries again: the app
    # recovers by itself once the database is back.
    try:
        engine = make_engine(url)
    except OSError as exc:
        # The folder of a SQLite database cannot be made (a file in the way, no
        # permission): an outage to show calmly, retried on the next run.
        log.warning("database folder unusable: %s", exc.__class__.__name__)
        raise DatabaseUnavailable() from None
    try:
        upgrade(engine)
    except Exception:
        engine.dispose()
        raise
    return engine


def get_engine() -> Engine:
    """The engine for the configured database, migrated to the newest schema once per process.

    The URL comes from ``db.config.database_url`` given the secrets Streamlit
    loaded, so the app and its demo-mode decision read the same secrets.
    """
    from .settings import app_secrets

    return _engine_for(database_url(app_secrets()))


@contextmanager
def db_session() -> Iterator[Session]:
    """A Session on the app's engine; the caller commits. Outages become DatabaseUnavailable."""
    try:
        factory = session_factory(get_engine())
        with factory() as session:
            yield session
    except DBAPIError as exc:
        if not is_outage(exc):
            raise
        log.warning("database unreachable: %s", exc.__class__.__name__)
        raise DatabaseUnavailable() from None


def is_outage(exc: BaseException) -> bool:
    """A lost or refused connection, as opposed to a query the database rejected."""
    if isinstance(exc, (OperationalError, InterfaceError)):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


def show_outage() -> None:
    """A calm full-page message with a Retry button; no traceback, no connection string."""
    st.title(":material/cloud_off: The clinic database is not reachable")
    st.write(
        "The dashboard cannot reach its database right now, so it is showing nothing rather "
        "than something out of date. Nothing you saved earlier is lost."
    )
    st.write("This usually clears up by itself within a minute. Try again in a moment; if it "
             "keeps happening, tell whoever looks after the clinic's IT.")
    if st.button("Retry", icon=":material/refresh:", type="primary"):
        st.rerun()


@contextmanager
def guard_database() -> Iterator[None]:
    """Run a block; if the database is away, show the outage message and stop the run."""
    try:
        yield
    except DatabaseUnavailable:
        show_outage()
        st.stop()
    except DBAPIError as exc:
        if not is_outage(exc):
            raise
        log.warning("database unreachable: %s", exc.__class__.__name__)
        show_outage()
        st.stop()
