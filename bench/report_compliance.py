"""Benchmark: the compliance report over a whole clinic against bare SQL.

Not a test: run it by hand on a database of the size you care about.

    .venv/bin/python -m bench.report_compliance --url sqlite:////tmp/bench.db \\
        --patients 5000 --as-of 2026-06-01

With an empty database it first builds a demo clinic (``db.demo.generate_demo``).
It then times, best of ``--repeat`` runs each:

* bare: the three SELECTs that read the rows the rules need (series with
  patient and therapist, completed/scheduled infusions, attended/scheduled
  therapy sessions), executed on the raw DBAPI cursor and fetched;
* engine: ``compute_compliance`` over the whole clinic (series joined to a
  GROUP BY summary of their infusions, and the sessions, built with SQLAlchemy
  and fetched on the driver's cursor; then every rule in Python);
* report: ``reports.run("compliance", fmt="csv")`` into memory, i.e. the whole
  ``python -m db report compliance`` minus process start.

and prints the ratios to bare. The issue's target is report <= 3 x bare.
"""
from __future__ import annotations

import argparse
import io
import os
import sys
import time
from datetime import date

from sqlalchemy import func, select

from db import reports
from db.engine import make_engine, session_factory
from db.migrate import upgrade
from db.models import Patient
from db.protocol import compute_compliance, load_settings

BARE_SQL = (
    "SELECT s.id, s.patient_id, p.patient_id, p.therapist_id, st.username, s.number, s.kind, "
    "s.status, s.planned_infusions FROM treatment_series s "
    "JOIN patient p ON p.id = s.patient_id JOIN staff st ON st.id = p.therapist_id",
    "SELECT series_id, date, status FROM infusion WHERE status IN ('completed', 'scheduled')",
    "SELECT patient_id, date, kind, status, series_id FROM therapy_session "
    "WHERE status IN ('attended', 'scheduled')",
)


def _best(fn, repeat: int) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("BENCH_DATABASE_URL")
                        or os.environ.get("DATABASE_URL"),
                        help="database URL (default: $BENCH_DATABASE_URL, then $DATABASE_URL)")
    parser.add_argument("--patients", type=int, default=5000,
                        help="demo clinic size when the database is empty")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--as-of", type=date.fromisoformat, default=date(2026, 6, 1))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    if not args.url:
        parser.error("give --url or set BENCH_DATABASE_URL")

    engine = make_engine(args.url)
    upgrade(engine)
    factory = session_factory(engine)
    with factory() as session:
        patients = session.scalar(select(func.count()).select_from(Patient))
        if not patients:
            from db.demo import generate_demo

            start = time.perf_counter()
            print(f"building a demo clinic of {args.patients} patients...", file=sys.stderr)
            print(generate_demo(session, patients=args.patients, seed=args.seed,
                                as_of=args.as_of, progress=sys.stderr.isatty()), file=sys.stderr)
            print(f"built in {time.perf_counter() - start:.1f} s", file=sys.stderr)
            patients = session.scalar(select(func.count()).select_from(Patient))

    def bare() -> int:
        raw = engine.raw_connection()
        try:
            cur = raw.cursor()
            n = 0
            for sql in BARE_SQL:
                cur.execute(sql)
                n += len(cur.fetchall())
            cur.close()
            return n
        finally:
            raw.close()

    def engine_run() -> int:
        with factory() as session:
            return len(compute_compliance(session, args.as_of, settings=load_settings(session)))

    def report_run() -> int:
        with factory() as session:
            return reports.run(session, "compliance", as_of=args.as_of, fmt="csv",
                               out=io.StringIO())

    bare()  # warm the caches for everyone alike
    # Interleaved rounds, best of each: on a shared machine the three then see
    # the same background load.
    t_bare = t_engine = t_report = float("inf")
    for _ in range(args.repeat):
        t, rows = _best(bare, 1)
        t_bare = min(t_bare, t)
        t, series = _best(engine_run, 1)
        t_engine = min(t_engine, t)
        t, _ = _best(report_run, 1)
        t_report = min(t_report, t)
    print(f"database: {engine.url.render_as_string(hide_password=True)}")
    print(f"clinic: {patients} patients, {series} series; bare SQL reads {rows} rows")
    print(f"bare SQL            {t_bare:7.3f} s")
    print(f"compute_compliance  {t_engine:7.3f} s   ratio {t_engine / t_bare:4.2f}")
    print(f"report (CSV)        {t_report:7.3f} s   ratio {t_report / t_bare:4.2f}   target <= 3")
    engine.dispose()
    return 0 if t_report / t_bare <= 3 else 1


if __name__ == "__main__":
    raise SystemExit(main())
