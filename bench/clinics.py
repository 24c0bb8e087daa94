"""Demo clinics for the benchmark: built once per size and database, then reused.

A clinic is recognised by its marker, an audit event ``bench.clinic`` written
once the demo generator and the demo accounts have committed, so a build cut
short carries none. A clinic whose marker differs (seed,
as-of date, size, or the demo generator's source changed since) is emptied and
built again; a database holding patients but no marker at all is not the
harness's own, and is refused rather than measured.
"""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import Engine, func, select, text
from sqlalchemy.engine import make_url

from db import audit
from db import demo as demo_module
from db.demo import ensure_demo_accounts, generate_demo
from db.engine import make_engine, session_factory
from db.migrate import upgrade
from db.models import AuditEvent, Patient

CLINICS_DIR = Path(__file__).resolve().parent / "clinics"
BENCH_SEED = 7
BENCH_AS_OF = date(2026, 11, 27)
MARKER_ACTION = "bench.clinic"


def history_patients(size: int) -> int:
    """How many patients get five years of history: a few, whatever the size."""
    return min(5, max(1, size // 100))


@dataclass(frozen=True)
class Clinic:
    backend: str  # "sqlite" | "postgresql"
    size: int
    url: str
    build_seconds: float | None  # None when reused

    @property
    def label(self) -> str:
        return f"{'SQLite' if self.backend == 'sqlite' else 'PostgreSQL'} {self.size:,}"


class ClinicError(RuntimeError):
    pass


def sqlite_url(size: int, directory: Path = CLINICS_DIR) -> str:
    return f"sqlite:///{directory / f'clinic_{size}.db'}"


def postgres_url(base_url: str, size: int) -> str:
    """The URL of the size's own database beside the one ``base_url`` names
    (``.../h_bench`` gives ``.../h_bench_500``), created when missing."""
    base = make_url(base_url)
    name = f"{base.database}_{size}"
    admin = make_engine(base.render_as_string(hide_password=False),
                        isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
            if not exists:
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def _marker(engine: Engine) -> dict | None:
    with session_factory(engine)() as session:
        detail = session.scalar(select(AuditEvent.detail).where(
            AuditEvent.action == MARKER_ACTION).order_by(AuditEvent.id.desc()).limit(1))
    if detail is None:
        return None
    return json.loads(detail) if isinstance(detail, str) else dict(detail)


def generator_fingerprint() -> str:
    """Changes whenever the demo generator does: its clinics are then rebuilt."""
    return hashlib.sha256(Path(demo_module.__file__).read_bytes()).hexdigest()[:12]


def _wanted(size: int, seed: int, as_of: date) -> dict:
    return {"seed": seed, "as_of": as_of.isoformat(), "patients": size,
            "history_years_patients": history_patients(size),
            "generator": generator_fingerprint()}


def _reset(engine: Engine) -> None:
    """Empty a stale benchmark clinic (one that carries the marker): the file or the
    database is the harness's own."""
    url = engine.url
    engine.dispose()
    if url.get_backend_name() == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{url.database}{suffix}").unlink(missing_ok=True)
        return
    admin = make_engine(url.set(database="postgres").render_as_string(hide_password=False),
                        isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')
            conn.exec_driver_sql(f'CREATE DATABASE "{url.database}"')
    finally:
        admin.dispose()


def ensure_clinic(url: str, size: int, *, seed: int = BENCH_SEED, as_of: date = BENCH_AS_OF,
                  progress: bool = False) -> float | None:
    """Make ``url`` hold the benchmark clinic of ``size`` patients.

    Returns the build time in seconds, or None when a matching clinic was there.
    """
    engine = make_engine(url)
    try:
        upgrade(engine)
        wanted = _wanted(size, seed, as_of)
        marker = _marker(engine)
        if marker is not None and all(marker.get(k) == v for k, v in wanted.items()):
            return None
        if marker is not None:  # ours, built with other settings or an older generator
            _reset(engine)
            engine = make_engine(url)
            upgrade(engine)
        with session_factory(engine)() as session:
            if session.scalar(select(func.count()).select_from(Patient)):
                raise ClinicError(
                    f"{make_url(url).render_as_string(hide_password=True)} holds patients but "
                    f"not the benchmark clinic {wanted}; remove it and run again")
            start = time.perf_counter()
            summary = generate_demo(session, patients=size, seed=seed, as_of=as_of,
                                    progress=progress,
                                    history_years_patients=wanted["history_years_patients"])
            ensure_demo_accounts(session)
            audit.record(session, "bench", MARKER_ACTION, **wanted,
                         habit_logs=summary.habit_logs)
            session.commit()
            seconds = time.perf_counter() - start
        if engine.dialect.name == "sqlite":
            with engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
                conn.exec_driver_sql("ANALYZE")
        else:
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM ANALYZE")
        return seconds
    finally:
        engine.dispose()
