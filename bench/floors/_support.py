"""What every floor shares: a pooled engine per database, kept for the process.

A plain module-level dict rather than ``st.cache_resource``: the harness clears
every Streamlit cache before a cold run and then re-warms the app's engine, so
both sides start a cold run with a connected pool and nothing else.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from db.config import database_url
from db.engine import make_engine, session_factory

_ENGINES: dict[str, Engine] = {}


def engine() -> Engine:
    url = database_url()
    if url not in _ENGINES:
        _ENGINES[url] = make_engine(url)
    return _ENGINES[url]


@contextmanager
def session() -> Iterator[Session]:
    with session_factory(engine())() as s:
        yield s


def dispose_all() -> None:
    for e in _ENGINES.values():
        e.dispose()
    _ENGINES.clear()
