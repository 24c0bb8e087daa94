"""Profile one page run (cold or warm) on a benchmark clinic, with cProfile.

    .venv/bin/python -m bench.profile compliance --role medical_director --size 500 --warm

The page runs through AppTest exactly as the harness runs it; the profiler is
switched on inside the script thread, around the page file only.
"""
from __future__ import annotations

import argparse
import io
import os
import pstats
import tempfile
from pathlib import Path

from streamlit.logger import set_log_level

from db.engine import make_engine, session_factory

from . import clinics as clinic_mod
from .apptest import PROJECT_ROOT, clear_caches, new_test
from .cases import cases

WRAPPER = """
import cProfile, runpy
from streamlit.runtime.scriptrunner_utils.exceptions import StopException
_profiler = cProfile.Profile()
_profiler.enable()
try:
    runpy.run_path({page!r}, run_name="__main__")
except StopException:
    pass
finally:
    _profiler.disable()
    _profiler.dump_stats({out!r})
"""


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__.splitlines()[0])
    p.add_argument("page", choices=("caseload", "patient", "compliance", "team_meeting"))
    p.add_argument("--role", default=None, help="the case's role (default: the first)")
    p.add_argument("--size", type=int, default=500)
    p.add_argument("--postgres", default=None, help="PostgreSQL base URL (default SQLite)")
    p.add_argument("--floor", action="store_true", help="profile the floor script instead")
    p.add_argument("--warm", action="store_true", help="profile a warm rerun, not the cold run")
    p.add_argument("--top", type=int, default=35)
    p.add_argument("--sort", default="cumulative")
    args = p.parse_args(argv)
    set_log_level("error")
    url = (clinic_mod.postgres_url(args.postgres, args.size) if args.postgres
           else clinic_mod.sqlite_url(args.size))
    clinic_mod.ensure_clinic(url, args.size)
    engine = make_engine(url)
    with session_factory(engine)() as session:
        found = [c for c in cases(session, {args.page}) if args.role in (None, c.role)]
    engine.dispose()
    if not found:
        p.error(f"no case {args.page} / {args.role}")
    case = found[0]
    script = case.floor if args.floor else case.script
    os.environ.update(DATABASE_URL=url, KAP_TODAY=clinic_mod.BENCH_AS_OF.isoformat())
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "page.prof"
        wrapper = Path(tmp) / "wrapper.py"
        wrapper.write_text(WRAPPER.format(page=str(PROJECT_ROOT / script), out=str(out)))
        who = None if args.floor else case.user
        params = case.floor_query if args.floor else case.query
        # A first run imports what the script needs: start-up, not a page view.
        new_test(str(wrapper), user=who, query=params).run()
        clear_caches()
        at = new_test(str(wrapper), user=who, query=params)
        at.run()
        if args.warm:
            out.unlink(missing_ok=True)
            at.run()
        if at.exception:
            raise SystemExit("; ".join(str(e.message) for e in at.exception))
        text = io.StringIO()
        pstats.Stats(str(out), stream=text).sort_stats(args.sort).print_stats(args.top)
    print(f"{case.name} ({case.subject}) on {args.size:,} patients, "
          f"{'warm' if args.warm else 'cold'}{', floor' if args.floor else ''}")
    print(text.getvalue())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
