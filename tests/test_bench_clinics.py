"""The benchmark's clinics: built once, reused while their marker matches, rebuilt
when the demo generator (or any setting of the marker) changes; refused when the
database holds someone else's patients. SQLite only: the PostgreSQL path differs
only in how the database is emptied."""
from __future__ import annotations

from sqlalchemy import func, select

from bench import clinics
from db import audit
from db.demo import generate_demo
from db.engine import make_engine, session_factory
from db.migrate import upgrade
from db.models import Patient

SIZE = 30


def _patients(url: str) -> int:
    engine = make_engine(url)
    try:
        with session_factory(engine)() as session:
            return session.scalar(select(func.count()).select_from(Patient))
    finally:
        engine.dispose()


def test_built_once_then_reused_then_rebuilt_when_stale(tmp_path):
    url = clinics.sqlite_url(SIZE, tmp_path)
    assert clinics.ensure_clinic(url, SIZE) is not None  # built
    assert _patients(url) == SIZE
    assert clinics.ensure_clinic(url, SIZE) is None  # reused
    engine = make_engine(url)
    with session_factory(engine)() as session:
        marker = clinics._wanted(SIZE, clinics.BENCH_SEED, clinics.BENCH_AS_OF)
        audit.record(session, "bench", clinics.MARKER_ACTION, **{**marker, "generator": "older"})
        session.commit()
    engine.dispose()
    assert clinics.ensure_clinic(url, SIZE) is not None  # stale: emptied and built again
    assert _patients(url) == SIZE
    assert clinics.ensure_clinic(url, SIZE) is None


def test_someone_elses_database_is_refused(tmp_path):
    url = clinics.sqlite_url(SIZE, tmp_path)
    engine = make_engine(url)
    upgrade(engine)
    with session_factory(engine)() as session:
        generate_demo(session, patients=SIZE, seed=1, as_of=clinics.BENCH_AS_OF)
    engine.dispose()
    try:
        clinics.ensure_clinic(url, SIZE)
    except clinics.ClinicError as exc:
        assert "holds patients but not the benchmark clinic" in str(exc)
    else:
        raise AssertionError("a database with patients and no marker was measured")
    assert _patients(url) == SIZE  # and left as it was
