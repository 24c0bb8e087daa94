"""``python -m bench``: every page beside its floor on clinics of growing size,
import speed, peak memory; one table printed and written to bench/results.md."""
from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import func, select
from streamlit.logger import set_log_level

from db.engine import make_engine, session_factory
from db.models import HabitLog, Patient

from . import clinics as clinic_mod
from . import importing, machine
from .apptest import PROJECT_ROOT, PairTiming, ScriptFailed, measure_pair
from .cases import SCOPED, Case, cases

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_PATH = BENCH_DIR / "results.md"
NOTES_PATH = BENCH_DIR / "notes.md"
DEFAULT_SIZES = (500, 5000, 50000)
PAGES = ("caseload", "patient", "compliance", "team_meeting")

# Targets (issue 9).
SCOPED_FLOOR_RATIO = 1.5
SCOPED_SIZE_RATIO = 1.3
WIDE_FLOOR_RATIO = 2.0
WARM_RATIO = 0.2
MAX_ROWS = 2000
IMPORT_RATIO = 3.0
FLAT_FROM, FLAT_TO = 500, 50000
BIG_CLINIC = 50000  # from this size on, --big-repeats rounds (a clinic-wide run takes minutes)


@dataclass
class Check:
    what: str
    figure: float
    limit: float

    @property
    def met(self) -> bool:
        return self.figure <= self.limit

    def text(self) -> str:
        return f"{'met' if self.met else 'MISSED'}: {self.what} {self.figure:.2f} (≤ {self.limit:g})"


@dataclass
class PageResult:
    clinic: clinic_mod.Clinic
    case: Case
    timing: PairTiming | None
    error: str | None = None
    base: PageResult | None = None  # the same case on the run's smallest clinic
    checks: list[Check] = field(default_factory=list)

    def cold(self, cpu: bool) -> float:
        return self.timing.cold.cpu_median if cpu else self.timing.cold.median

    def warm(self, cpu: bool) -> float:
        return self.timing.warm.cpu_median if cpu else self.timing.warm.median

    def floor(self, cpu: bool) -> float:
        return self.timing.floor.cpu_median if cpu else self.timing.floor.median

    def floor_ratio(self, cpu: bool) -> float:
        return self.cold(cpu) / max(self.floor(cpu), 1e-9)

    def warm_ratio(self, cpu: bool) -> float:
        return self.warm(cpu) / max(self.cold(cpu), 1e-9)

    def size_ratio(self, cpu: bool) -> float | None:
        if self.base is None or self.base is self or self.base.timing is None:
            return None
        return self.cold(cpu) / max(self.base.cold(cpu), 1e-9)


@dataclass
class ClinicInfo:
    clinic: clinic_mod.Clinic
    patients: int
    habit_logs: int
    peak_rss_mib: float


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


@contextmanager
def environment(**values: str) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _clinic_counts(url: str) -> tuple[int, int]:
    engine = make_engine(url)
    try:
        with session_factory(engine)() as session:
            return (session.scalar(select(func.count()).select_from(Patient)),
                    session.scalar(select(func.count()).select_from(HabitLog)))
    finally:
        engine.dispose()


def _cases_for(url: str, pages: set[str]) -> list[Case]:
    engine = make_engine(url)
    try:
        with session_factory(engine)() as session:
            return cases(session, pages)
    finally:
        engine.dispose()


def _dispose_engines() -> None:
    # Between clinics: give PostgreSQL its connections back.
    from bench.floors import _support
    from ui.database import _engine_for

    _support.dispose_all()
    _engine_for.clear()


def measure_clinic(clinic: clinic_mod.Clinic, pages: set[str], repeats: int, big_repeats: int,
                   warm_repeats: int, floor_runs: int, say) -> list[PageResult]:
    """Every case on one clinic. Clinic-wide pages on a big clinic take minutes a
    run and get ``big_repeats`` rounds; scoped pages are quick and always get
    ``repeats``, which their flatness check needs."""
    out = []
    with environment(DATABASE_URL=clinic.url, KAP_TODAY=clinic_mod.BENCH_AS_OF.isoformat()):
        for case in _cases_for(clinic.url, pages):
            if not (PROJECT_ROOT / case.script).exists():
                out.append(PageResult(clinic, case, None, "page not there yet"))
                continue
            say(f"  {clinic.label}: {case.name} ({case.subject})")
            try:
                rounds = (big_repeats if clinic.size >= BIG_CLINIC and case.group != SCOPED
                          else repeats)
                timing = measure_pair(case.script, case.floor, user=case.user, query=case.query,
                                      floor_query=case.floor_query, repeats=rounds,
                                      warm_repeats=warm_repeats, floor_runs=floor_runs)
                out.append(PageResult(clinic, case, timing))
            except ScriptFailed as exc:
                out.append(PageResult(clinic, case, None, f"script failed: {exc}"))
        _dispose_engines()
    return out


def judge(results: list[PageResult], cpu: bool) -> None:
    """Link each result to its smallest-clinic twin and fill in the target checks."""
    smallest = {b: min(r.clinic.size for r in results if r.clinic.backend == b)
                for b in {r.clinic.backend for r in results}}
    largest = {b: max(r.clinic.size for r in results if r.clinic.backend == b)
               for b in smallest}
    base = {(r.clinic.backend, r.case.name): r for r in results
            if r.timing and r.clinic.size == smallest[r.clinic.backend]}
    for r in results:
        if r.timing is None:
            continue
        r.base = base.get((r.clinic.backend, r.case.name))
        r.checks.append(Check("rows to the browser", r.timing.payload.rows, MAX_ROWS))
        if r.case.group == SCOPED:
            r.checks.append(Check("page ÷ floor", r.floor_ratio(cpu), SCOPED_FLOOR_RATIO))
            size_ratio = r.size_ratio(cpu)
            if size_ratio is not None and r.base.clinic.size == FLAT_FROM \
                    and r.clinic.size == FLAT_TO:
                r.checks.append(Check(f"{FLAT_TO:,} ÷ {FLAT_FROM}", size_ratio,
                                      SCOPED_SIZE_RATIO))
        else:
            if r.clinic.size == largest[r.clinic.backend]:
                r.checks.append(Check("page ÷ floor", r.floor_ratio(cpu), WIDE_FLOOR_RATIO))
            r.checks.append(Check("warm ÷ cold", r.warm_ratio(cpu), WARM_RATIO))


def _fmt(seconds: float) -> str:
    return f"{seconds * 1000:.0f}" if seconds < 10 else f"{seconds * 1000:,.0f}"


HEADER = ("Clinic", "Page / role", "Shows", "Cold ms", "Warm ms", "Floor ms", "Page÷floor",
          "Warm÷cold", "÷ smallest", "Rows", "KiB", "Targets")


def _pair(r: PageResult, fn, fmt) -> str:
    """'wall / CPU' of one figure."""
    wall, cpu = fn(r, False), fn(r, True)
    return "" if wall is None else f"{fmt(wall)} / {fmt(cpu)}"


def table_rows(results: list[PageResult]) -> list[tuple[str, ...]]:
    rows = []
    ms = lambda s: f"{s * 1000:,.0f}"  # noqa: E731
    x = lambda v: f"{v:.2f}"  # noqa: E731
    for r in results:
        if r.timing is None:
            rows.append((r.clinic.label, r.case.name, r.case.subject, *["–"] * 8, r.error or ""))
            continue
        missed = [c for c in r.checks if not c.met]
        verdict = "all met" if not missed else "; ".join(
            f"{c.what} {c.figure:.2f} > {c.limit:g}" if c.what != "rows to the browser"
            else f"{int(c.figure):,} rows > {int(c.limit):,}" for c in missed)
        rows.append((
            r.clinic.label, r.case.name, r.case.subject,
            _pair(r, PageResult.cold, ms), _pair(r, PageResult.warm, ms),
            _pair(r, PageResult.floor, ms), _pair(r, PageResult.floor_ratio, x),
            _pair(r, PageResult.warm_ratio, x), _pair(r, PageResult.size_ratio, x),
            f"{r.timing.payload.rows:,}", f"{r.timing.payload.bytes / 1024:,.0f}", verdict))
    return rows


def plain_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(header)]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths))  # noqa: E731
    return "\n".join([line(header), line(tuple("-" * w for w in widths)),
                      *(line(r) for r in rows)])


def markdown_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    esc = lambda s: s.replace("|", "\\|")  # noqa: E731
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(esc(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


IMPORT_HEADER = ("Database", "Rows", "Importer s", "Bare executemany s", "Ratio",
                 "Rows/s", "Target")


def import_rows(results: list[importing.ImportResult]) -> list[tuple[str, ...]]:
    return [("SQLite" if r.backend == "sqlite" else "PostgreSQL", f"{r.rows:,}",
             f"{r.importer_seconds:.1f}", f"{r.bare_seconds:.1f}", f"{r.ratio:.2f}",
             f"{r.rows_per_second:,.0f}",
             f"{'met' if r.ratio <= IMPORT_RATIO else 'MISSED'} (≤ {IMPORT_RATIO:g}×)")
            for r in results]


CLINIC_HEADER = ("Clinic", "Patients", "Habit logs", "Built in", "Peak RSS after, MiB")


def clinic_rows(infos: list[ClinicInfo]) -> list[tuple[str, ...]]:
    return [(i.clinic.label, f"{i.patients:,}", f"{i.habit_logs:,}",
             "reused" if i.clinic.build_seconds is None else f"{i.clinic.build_seconds:.0f} s",
             f"{i.peak_rss_mib:,.0f}") for i in infos]


METHOD = """\
## How these figures are taken

- Each page runs through `streamlit.testing.v1.AppTest` on its own file with a
  real staff row seeded as the signed-in user (the access check, audit writes
  and cached reads all run; dashboard.py's session check does not). Today is
  pinned with `KAP_TODAY` to the clinic's as-of date.
- **Cold**: every `st.cache_data` and `st.cache_resource` entry cleared, then
  the app's pooled engine re-created, so a cold run pays for every query and
  computation but not for connecting. **Warm**: the same session run again
  (a rerun, as after a widget change or a fragment tick). Medians of the runs.
- **Floor**: `bench/floors/<page>.py`, the smallest script that calls the
  same `db.queries`/`db.protocol` functions and renders the same tables and
  charts through the pages' own pure frame and chart builders, with no
  sign-in, access check, audit, cache, widgets or layout. It runs turn about
  with the page (cold page, warm page, floor, floor) so both see the same load.
  Every time cell is **wall-clock / process CPU**, medians in milliseconds.
  CPU time is what other processes on a shared machine disturb least (the
  database server's own CPU is not in it: PostgreSQL's part shows only in the
  wall-clock figure). **Page÷floor** is the cold page over the floor;
  **÷ smallest** the cold page over the same case on the run's smallest clinic
  on the same database. Targets are judged on the times named below the table.
- **Rows/KiB**: what the page's dataframes, tables and Vega-Lite charts carry
  to the browser (Arrow rows and bytes, plus the chart spec), from the AppTest
  element tree of the last run.
- **Import**: a generated `habit_logs.csv` through `db.importer.import_files`
  beside one `executemany` of the same, already parsed rows on the same
  driver's raw connection, each into an identical fresh database.
- **Peak RSS**: `getrusage(RUSAGE_SELF).ru_maxrss` of the harness process,
  which holds every clinic's caches in turn.
"""


def write_markdown(path: Path, *, started: datetime, load_before: str, load_after: str,
                   describe: list[tuple[str, str]], args: argparse.Namespace,
                   infos: list[ClinicInfo], results: list[PageResult],
                   imports: list[importing.ImportResult], peak: float, seconds: float) -> None:
    checks = [c for r in results for c in r.checks]
    checks += [Check(f"import {r.backend}", r.ratio, IMPORT_RATIO) for r in imports]
    missed = [c for c in checks if not c.met]
    parts = [
        "# Benchmark results",
        "",
        f"Generated by `python -m bench {' '.join(args.argv)}`".rstrip() + f" on "
        f"{started:%Y-%m-%d %H:%M} UTC in {seconds / 60:.1f} min. "
        f"Clinics: demo seed {clinic_mod.BENCH_SEED}, as of {clinic_mod.BENCH_AS_OF}; "
        f"per page and clinic: {args.repeats} rounds ({args.big_repeats} for the clinic-wide "
        f"pages from {BIG_CLINIC:,} patients) of one cold run, {args.warm_repeats} warm rerun(s) and "
        f"{args.floor_runs} floor run(s).",
        "",
        "| Machine | |",
        "|---|---|",
        *(f"| {k} | {v} |" for k, v in describe),
        f"| Load average (1/5/15 min) | before {load_before}, after {load_after} |",
        "",
        f"**Targets: {len(checks) - len(missed)} of {len(checks)} met.**"
        + ("" if not missed else " Missed: " + "; ".join(
            f"{r.clinic.label} {r.case.name}: {c.what} {c.figure:,.{0 if c.limit >= 100 else 2}f}"
            f" > {c.limit:,g}"
            for r in results for c in r.checks if not c.met)
           + "".join(f"; import {r.backend} {r.ratio:.2f} > {IMPORT_RATIO:g}"
                     for r in imports if r.ratio > IMPORT_RATIO)),
        "",
        "## Pages",
        "",
        markdown_table(HEADER, table_rows(results)),
        "",
        "Targets: caseload and patient record ≤ 1.5 × floor and the 50,000-patient time ≤ "
        "1.3 × the 500-patient time; compliance, team meeting and the director's all-therapist "
        "caseload ≤ 2 × floor at the largest clinic and a warm rerun ≤ 0.2 × cold; ≤ 2,000 "
        "rows to the browser per page. Judged on "
        + ("process CPU time." if args.judge == "cpu" else "wall-clock time."),
        "",
        "## Import",
        "",
        markdown_table(IMPORT_HEADER, import_rows(imports)) if imports else "Not run.",
        "",
        "## Clinics and memory",
        "",
        markdown_table(CLINIC_HEADER, clinic_rows(infos)),
        "",
        f"Peak resident memory of the harness process: {peak:,.0f} MiB.",
        "",
        METHOD,
    ]
    if NOTES_PATH.exists():
        parts += [NOTES_PATH.read_text().rstrip(), ""]
    kept = kept_sections(path)
    if kept:
        parts += [kept, ""]
    path.write_text("\n".join(parts))


# Sections other tools write into the same file (bench/load.py's browser load
# test), each between its own markers: a rerun of this harness keeps them.
KEPT_SECTIONS = (("<!-- load:begin -->", "<!-- load:end -->"),)


def kept_sections(path: Path) -> str:
    if not path.exists():
        return ""
    text = path.read_text()
    out = []
    for begin, end in KEPT_SECTIONS:
        if begin in text and end in text.split(begin, 1)[1]:
            out.append(begin + text.split(begin, 1)[1].split(end, 1)[0] + end)
    return "\n\n".join(out)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench",
        description="Time every page beside its floor script on demo clinics of growing size "
                    "(SQLite, and PostgreSQL when given), measure what each page sends to the "
                    "browser, the import against a bare executemany and peak memory; print one "
                    "table and write it to bench/results.md.")
    p.add_argument("--sizes", default=None,
                   help="clinic sizes, comma-separated (default 500,5000,50000; --quick: 500)")
    p.add_argument("--postgres", default=os.environ.get("TEST_DATABASE_URL") or None,
                   help="PostgreSQL URL; one database per size is made beside it "
                        "(default: $TEST_DATABASE_URL; none: SQLite only)")
    p.add_argument("--no-postgres", action="store_true", help="SQLite only")
    p.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    p.add_argument("--pages", default=",".join(PAGES), help="pages to measure")
    p.add_argument("--quick", action="store_true",
                   help="smoke test: 500 patients, one round, a small import")
    p.add_argument("--repeats", type=int, default=None, help="cold runs per page (default 5)")
    p.add_argument("--big-repeats", type=int, default=None,
                   help=f"cold runs per clinic-wide page on clinics of {BIG_CLINIC:,} or more "
                        "(default 2)")
    p.add_argument("--floor-runs", type=int, default=1, help="floor runs per round (default 1)")
    p.add_argument("--warm-repeats", type=int, default=None,
                   help="warm reruns after each cold run (default 2)")
    p.add_argument("--import-rows", type=int, default=None,
                   help="habit-log rows to import (default 1,000,000; --quick 20,000; 0: skip)")
    p.add_argument("--judge", choices=("cpu", "wall"), default="cpu",
                   help="which times the targets are judged on (default: process CPU time, "
                        "which other load on a shared machine disturbs least)")
    p.add_argument("--clinics-dir", type=Path, default=clinic_mod.CLINICS_DIR,
                   help="where the SQLite clinics live")
    p.add_argument("--output", type=Path, default=RESULTS_PATH, help="the Markdown file")
    args = p.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    sizes = args.sizes or ("500" if args.quick else ",".join(map(str, DEFAULT_SIZES)))
    args.size_list = sorted({int(s) for s in sizes.split(",") if s.strip()})
    args.repeats = args.repeats or (1 if args.quick else 5)
    args.warm_repeats = args.warm_repeats or (1 if args.quick else 2)
    args.big_repeats = args.big_repeats or min(args.repeats, 2)
    if args.import_rows is None:
        args.import_rows = 20_000 if args.quick else 1_000_000
    args.page_set = {s.strip() for s in args.pages.split(",") if s.strip()}
    unknown = args.page_set - set(PAGES)
    if unknown:
        p.error(f"unknown pages: {', '.join(sorted(unknown))}; known: {', '.join(PAGES)}")
    if args.no_postgres:
        args.postgres = None
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # AppTest outside a server: Streamlit warns about its missing runtime on every run.
    set_log_level("error")
    say = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    started, t0 = datetime.now(timezone.utc), time.perf_counter()
    load_before = machine.load_average()
    backends = ([] if args.no_sqlite else ["sqlite"]) + (["postgresql"] if args.postgres else [])
    infos: list[ClinicInfo] = []
    results: list[PageResult] = []
    def write(imports: list[importing.ImportResult]) -> None:
        for r in results:
            r.checks.clear()
        judge(results, cpu=args.judge == "cpu")
        write_markdown(args.output, started=started, load_before=load_before,
                       load_after=machine.load_average(), describe=describe, args=args,
                       infos=infos, results=results, imports=imports, peak=peak_rss_mib(),
                       seconds=time.perf_counter() - t0)

    describe = machine.describe(args.postgres)
    for size in args.size_list:
        for backend in backends:
            if backend == "sqlite":
                url = clinic_mod.sqlite_url(size, args.clinics_dir)
            else:
                url = clinic_mod.postgres_url(args.postgres, size)
            say(f"clinic {backend} {size:,}: building or reusing...")
            built = clinic_mod.ensure_clinic(url, size, progress=sys.stderr.isatty())
            clinic = clinic_mod.Clinic(backend, size, url, built)
            results += measure_clinic(clinic, args.page_set, args.repeats, args.big_repeats,
                                      args.warm_repeats,
                                      args.floor_runs, say)
            infos.append(ClinicInfo(clinic, *_clinic_counts(url), peak_rss_mib()))
            write([])  # partial results, in case a long run is cut short
    imports: list[importing.ImportResult] = []
    if args.import_rows:
        for backend in backends:
            say(f"import: {args.import_rows:,} habit-log rows on {backend}...")
            imports.append(importing.run(backend, args.import_rows, args.postgres))
    write(imports)
    peak = peak_rss_mib()
    print(plain_table(HEADER, table_rows(results)))
    if imports:
        print()
        print(plain_table(IMPORT_HEADER, import_rows(imports)))
    print(f"\npeak RSS {peak:,.0f} MiB; written to {args.output}")
    return 0
