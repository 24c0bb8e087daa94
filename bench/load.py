"""``python -m bench.load``: N browser sessions at once on the caseload page.

One app server (``streamlit run dashboard.py``, demo mode, a copy of the test
demo clinic, today pinned) on loopback; one Debian Chromium with N contexts,
each its own signed-in browser. All N sign in at once, then all N reload the
caseload at once; the time to a fully rendered page is from the reload to the
caseload table drawn and the script finished. The server's peak memory is the
kernel's high-water mark of its resident set (``VmHWM``).

Writes (or replaces) only its own section of ``bench/results.md``, between the
``<!-- load:begin -->`` and ``<!-- load:end -->`` markers, so the benchmark
harness's tables stay as they are.
"""
from __future__ import annotations

import argparse
import asyncio
import math
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_PATH = BENCH_DIR / "results.md"
BEGIN, END = "<!-- load:begin -->", "<!-- load:end -->"
RENDERED = ("[data-testid='stApp'][data-test-script-state='notRunning'] "
            "[data-testid='stMain'] [data-testid='stDataFrame']")
SETTLED = "[data-testid='stApp'][data-test-script-state='notRunning']"
COOKIE = "kap_session"


@dataclass
class LoadResult:
    sessions: int
    patients: int
    sign_in_seconds: list[float] = field(default_factory=list)
    cookie_seconds: list[float] = field(default_factory=list)
    render_seconds: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    rss_start_mb: float = 0.0
    rss_peak_mb: float = 0.0
    wall_seconds: float = 0.0
    server_cpu_seconds: float = 0.0
    load_before: str = ""
    artifacts: Path | None = None
    load_after: str = ""

    @property
    def loaded(self) -> int:
        return len(self.render_seconds)

    def p95(self, values: list[float]) -> float:
        return percentile(values, 95)


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (no interpolation: it is a time someone waited)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far."""
    import os

    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _proc_kb(pid: int, key: str) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return float(line.split()[1])
    return math.nan


async def _one(browser, url: str, username: str, password: str, result: LoadResult, i: int,
               timeout_ms: float) -> None:
    context = await browser.new_context(viewport={"width": 1366, "height": 768})
    page = await context.new_page()
    phase = "opening the app"
    try:
        began = time.monotonic()
        await page.goto(url, timeout=timeout_ms)
        phase = "waiting for the sign-in form"
        user_box = page.get_by_role("textbox", name="Username")
        await user_box.wait_for(timeout=timeout_ms)
        await page.wait_for_selector(SETTLED, timeout=timeout_ms)
        phase = "signing in"
        await user_box.fill(username)
        await page.get_by_role("textbox", name="Password").fill(password)
        await page.get_by_role("button", name="Sign in").click()
        await page.wait_for_selector(RENDERED, timeout=timeout_ms)
        signed_in = time.monotonic()
        result.sign_in_seconds.append(signed_in - began)
        # The sign-in cookie is written by a JavaScript component once the page is up;
        # a reload before it arrives is signed out (docs/security.md). Wait for it.
        phase = "waiting for the sign-in cookie"
        while not any(c["name"] == COOKIE for c in await context.cookies()):
            if time.monotonic() - signed_in > timeout_ms / 1000:
                raise TimeoutError("the sign-in cookie never arrived")
            await asyncio.sleep(0.1)
        result.cookie_seconds.append(time.monotonic() - signed_in)
        phase = "reloading the caseload"
        result.render_seconds.append(await _reload(page, timeout_ms))
    except Exception as exc:  # noqa: BLE001 - counted and reported, not raised
        result.failures.append(f"session {i} {phase}: {exc.__class__.__name__}: "
                               f"{str(exc).splitlines()[0]}")
        if result.artifacts is not None:
            result.artifacts.mkdir(parents=True, exist_ok=True)
            try:
                await page.screenshot(path=str(result.artifacts / f"load-stuck-{i}.png"), timeout=10_000)
            except Exception:  # noqa: BLE001 - the picture is a bonus
                pass
    finally:
        await context.close()


async def _reload(page, timeout_ms: float) -> float:
    began = time.monotonic()
    await page.reload(timeout=timeout_ms)
    await page.wait_for_selector(RENDERED, timeout=timeout_ms)
    # Rendered means the table has its rows, not just its frame.
    await page.locator("[data-testid='stMain'] [data-testid='stDataFrame'] canvas").first.wait_for(
        timeout=timeout_ms)
    return time.monotonic() - began


async def _drive(url: str, sessions: int, username: str, password: str, result: LoadResult,
                 pid: int, timeout_s: float) -> None:
    from playwright.async_api import async_playwright

    from tests.browser_support import CHROMIUM, LAUNCH_ARGS

    peak = [0.0]
    stop = asyncio.Event()

    async def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], _proc_kb(pid, "VmRSS"))
            await asyncio.sleep(0.1)

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        sampler = asyncio.create_task(sample())
        try:
            await asyncio.wait_for(asyncio.gather(*(
                _one(browser, url, username, password, result, i, timeout_s * 1000 * 0.4)
                for i in range(sessions))), timeout=timeout_s)
        except asyncio.TimeoutError:
            result.failures.append(f"not all sessions finished within {timeout_s:.0f} s")
        finally:
            stop.set()
            await sampler
            await browser.close()
    # VmHWM is the kernel's own peak; the sampled VmRSS is a cross-check.
    result.rss_peak_mb = max(_proc_kb(pid, "VmHWM"), peak[0]) / 1024


def run_load(*, sessions: int = 20, username: str = "therapist", timeout_s: float = 150,
             clinic: Path | None = None, artifacts: Path | None = None) -> LoadResult:
    """Start a server on a copy of ``clinic`` (default: a fresh test demo clinic) and load it."""
    from tests.apptest_support import DEMO_PASSWORDS, DEMO_PATIENTS, build_demo_clinic
    from tests.browser_support import start_server, stop_server

    work = Path(tempfile.mkdtemp(prefix="kap-load-"))
    try:
        if clinic is None:
            build_demo_clinic(work / "clinic.db")
        else:
            shutil.copy(clinic, work / "clinic.db")
        server = start_server(work)
        result = LoadResult(sessions, DEMO_PATIENTS, artifacts=artifacts)
        try:
            result.rss_start_mb = _proc_kb(server.process.pid, "VmRSS") / 1024
            from bench.machine import load_average

            result.load_before = load_average()
            began, cpu_before = time.monotonic(), _cpu_seconds(server.process.pid)
            asyncio.run(_drive(server.url, sessions, username, DEMO_PASSWORDS[username], result,
                               server.process.pid, timeout_s))
            result.wall_seconds = time.monotonic() - began
            result.server_cpu_seconds = _cpu_seconds(server.process.pid) - cpu_before
            result.load_after = load_average()
            if server.process.poll() is not None:
                result.failures.append("the server exited")
        finally:
            stop_server(server.process)
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)


def section(result: LoadResult, when: datetime) -> str:
    ok = result.loaded == result.sessions and not result.failures
    lines = [
        BEGIN,
        "## Load: browser sessions at once on the caseload page",
        "",
        f"Measured {when:%Y-%m-%d %H:%M} UTC by `python -m bench.load --sessions {result.sessions}` "
        f"(and the `load` test in `tests/reliability/test_load.py`): one app server on loopback, "
        f"the {result.patients}-patient test demo clinic on SQLite, {result.sessions} Chromium "
        "contexts signing in at the same moment and then, once each has its sign-in cookie, "
        "reloading the caseload, on this shared 2-core machine.",
        "",
        "| Measure | Value |",
        "|---|---|",
        f"| Sessions fully loaded | {result.loaded} of {result.sessions}"
        f"{'' if ok else ' (' + '; '.join(result.failures[:3]) + ')'} |",
        f"| Caseload reload to fully rendered, 95th percentile | {result.p95(result.render_seconds):.2f} s |",
        f"| Caseload reload to fully rendered, median | {percentile(result.render_seconds, 50):.2f} s |",
        f"| Sign-in to caseload rendered, 95th percentile | {result.p95(result.sign_in_seconds):.2f} s |",
        f"| Caseload on screen to sign-in cookie stored, 95th percentile | "
        f"{result.p95(result.cookie_seconds):.2f} s |",
        f"| Server memory (RSS) before / peak | {result.rss_start_mb:.0f} MB / {result.rss_peak_mb:.0f} MB |",
        f"| Wall time for the whole run / server CPU time in it | {result.wall_seconds:.1f} s / "
        f"{result.server_cpu_seconds:.1f} s |",
        f"| Machine load average (1/5/15 min) | before {result.load_before}, after {result.load_after} |",
        "",
        "Fully rendered: the script has finished and the caseload table is drawn. Peak memory "
        "is the kernel's high-water mark (`VmHWM`) of the streamlit process. The browsers run on "
        "the same two cores as the server, so the times include rendering 20 pages in Chromium; "
        "the server's CPU time shows its own share.",
        END,
    ]
    return "\n".join(lines)


def write_section(text: str, path: Path = RESULTS_PATH) -> None:
    """Replace our section of ``path`` (or append it); nothing else in the file changes."""
    current = path.read_text() if path.exists() else ""
    if BEGIN in current and END in current:
        head, rest = current.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        path.write_text(head + text + tail)
    else:
        path.write_text(current.rstrip("\n") + ("\n\n" if current.strip() else "") + text + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--timeout", type=float, default=150, help="seconds for the whole run")
    parser.add_argument("--no-write", action="store_true", help="print only, leave results.md alone")
    args = parser.parse_args(argv)
    result = run_load(sessions=args.sessions, timeout_s=args.timeout)
    text = section(result, datetime.utcnow())
    print(text)
    if not args.no_write:
        write_section(text)
    return 0 if result.loaded == result.sessions and not result.failures else 1


if __name__ == "__main__":
    raise SystemExit(main())
