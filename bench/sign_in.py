"""Benchmark: does a sign-in's time tell whether the username exists (issue 15, item 5)?

Not a test (no test asserts a timing; tests/test_auth.py asserts the same work):
run it by hand.

    .venv/bin/python -m bench.sign_in                      # a throw-away SQLite file
    .venv/bin/python -m bench.sign_in --url DATABASE_URL --rounds 31

It adds one account (``bench-sign-in``) if missing, then times
``db.auth.attempt_sign_in`` (the whole server-side check: lookups, the bcrypt
check, the failure counted) for a known and an unknown username, with a short
and a long (80-byte, past bcrypt's 72) wrong password. The four cases are
interleaved round by round, each attempt from a fresh source address and rolled
back, so no throttle builds up and machine noise falls on every case alike.
It prints each case's median and the ratios side by side; equal work shows as
ratios near 1.00 (before the fix, a known name with a long password answered in
a third of the time of an unknown one).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

from db import auth, staff
from db.engine import make_engine, session_factory
from db.migrate import upgrade

ACCOUNT = "bench-sign-in"
PASSWORD = "a long enough bench password"
CASES = {
    "known, short": (ACCOUNT, "wrong but short"),
    "unknown, short": ("no-such-user-here", "wrong but short"),
    "known, 80 bytes": (ACCOUNT, "w" * 80),
    "unknown, 80 bytes": ("no-such-user-here", "w" * 80),
}


def run(url: str, rounds: int) -> dict[str, float]:
    engine = make_engine(url)
    upgrade(engine)
    factory = session_factory(engine)
    with factory() as session:
        if staff.get_by_username(session, ACCOUNT) is None:
            staff.add_user(session, ACCOUNT, "Bench Sign-in", "therapist")
            staff.set_password(session, ACCOUNT, PASSWORD)
            session.commit()
    times: dict[str, list[float]] = {case: [] for case in CASES}
    attempt = 0
    with factory() as session:
        for _ in range(rounds):
            for case, (username, password) in CASES.items():
                attempt += 1
                address = f"10.{attempt // 65536 % 256}.{attempt // 256 % 256}.{attempt % 256}"
                start = time.perf_counter()
                result = auth.attempt_sign_in(session, username, password, address)
                times[case].append(time.perf_counter() - start)
                session.rollback()
                assert not result.ok
    engine.dispose()
    return {case: statistics.median(t) for case, t in times.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("BENCH_DATABASE_URL"),
                        help="a database to add the bench account to (default: a temporary SQLite file)")
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite:///{tmp}/sign_in.db"
        medians = run(url, args.rounds)
    width = max(map(len, medians))
    print(f"sign-in medians over {args.rounds} rounds ({make_engine(url).url.get_backend_name()}):")
    for case, median in medians.items():
        print(f"  {case:<{width}}  {median * 1000:8.1f} ms")
    short = medians["unknown, short"] / medians["known, short"]
    long = medians["unknown, 80 bytes"] / medians["known, 80 bytes"]
    length = medians["known, 80 bytes"] / medians["known, short"]
    print(f"  unknown / known:  short {short:.2f}   80 bytes {long:.2f}   "
          f"(80 bytes / short, known: {length:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
