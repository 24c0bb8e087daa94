"""Run a page or floor script through AppTest and measure it.

A page runs on its own file, as dashboard.py would run it after validating
the session: ``st.session_state["current_user"]`` is seeded with a real staff
row, so the page's access check, audit writes and cached reads all happen.
The app-level sign-in check of dashboard.py (one indexed read) is not part of
the figure.

Cold run: every ``st.cache_data`` and ``st.cache_resource`` entry is cleared,
then the app's pooled engine is re-created (a running server keeps it for its
life, and the floor keeps its own), so a cold run pays for every query and
computation but not for connecting. Warm run: the same AppTest run again (a
rerun in the same session, as when a widget changes or the fragment ticks).
"""
from __future__ import annotations

import gc
import io
import json
import statistics
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import streamlit as st
from streamlit.testing.v1 import AppTest

from ui.access import CURRENT_USER_KEY, CurrentUser

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# A test-only cookie key: pages never sign anyone in, but the app's secrets
# check wants one when DATABASE_URL is set (not demo mode).
BENCH_COOKIE_KEY = "bench-only-7c1e4a9b3d5f2e8a6b0c4d9e1f7a3b5c8d2e6f0a"
RUN_TIMEOUT_SECONDS = 900
_WARMED: set[str] = set()


class ScriptFailed(RuntimeError):
    pass


@dataclass
class Payload:
    """What one run sends to the browser for tables and charts."""

    tables: int = 0
    charts: int = 0
    rows: int = 0
    bytes: int = 0
    largest: list[tuple[str, int]] = field(default_factory=list)  # (element, rows)


@dataclass
class Runs:
    """Wall-clock and process CPU seconds of a series of runs."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    def add(self, wall: float, cpu: float) -> None:
        self.wall.append(wall)
        self.cpu.append(cpu)

    @property
    def median(self) -> float:
        return statistics.median(self.wall)

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu)


@dataclass
class PairTiming:
    """A page's cold and warm runs and its floor's runs, taken turn about."""

    cold: Runs
    warm: Runs
    floor: Runs
    payload: Payload
    floor_payload: Payload


def _arrow_rows(data: bytes) -> int:
    if not data:
        return 0
    with pa.ipc.open_stream(io.BytesIO(data)) as reader:
        return reader.read_all().num_rows


def _inline_rows(spec: str) -> int:
    """Rows written into a Vega-Lite spec itself (``data.values``), if any."""
    try:
        parsed = json.loads(spec)
    except ValueError:
        return 0
    total = 0

    def walk(node):
        nonlocal total
        if isinstance(node, dict):
            data = node.get("data")
            if isinstance(data, dict) and isinstance(data.get("values"), list):
                total += len(data["values"])
            if isinstance(node.get("datasets"), dict):
                total += sum(len(v) for v in node["datasets"].values() if isinstance(v, list))
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(parsed)
    return total


def _nodes(node) -> Iterator:
    yield node
    children = getattr(node, "children", None)
    if isinstance(children, dict):
        for child in children.values():
            yield from _nodes(child)


def payload(at: AppTest) -> Payload:
    """Rows and serialized bytes of every dataframe, table and Vega-Lite chart."""
    out = Payload()
    for node in _nodes(at._tree):
        proto = getattr(node, "proto", None)
        kind = getattr(node, "type", None)
        if proto is None or kind not in ("dataframe", "table", "arrow_data_frame",
                                         "arrow_table", "vega_lite_chart",
                                         "arrow_vega_lite_chart"):
            continue
        if kind in ("vega_lite_chart", "arrow_vega_lite_chart"):
            out.charts += 1
            blobs = [proto.data.data] + [d.data.data for d in proto.datasets]
            rows = sum(_arrow_rows(b) for b in blobs) + _inline_rows(proto.spec)
            size = sum(len(b) for b in blobs) + len(proto.spec.encode())
        else:
            out.tables += 1
            data = proto.arrow_data.data
            if not data and proto.DESCRIPTOR.name == "Dataframe" and proto.HasField("lazy_data"):
                data = proto.lazy_data.initial_chunk.data
            rows, size = _arrow_rows(data), len(data)
        out.rows += rows
        out.bytes += size
        out.largest.append((kind, rows))
    out.largest.sort(key=lambda t: -t[1])
    del out.largest[3:]
    return out


def clear_caches(warm_engine: bool = True) -> None:
    """Forget every Streamlit cache; then re-create the app's pooled engine."""
    st.cache_data.clear()
    st.cache_resource.clear()
    if warm_engine:
        from ui.database import get_engine

        with get_engine().connect():
            pass


def new_test(script: str, *, user: CurrentUser | None, query: dict[str, str]) -> AppTest:
    at = AppTest.from_file(str(PROJECT_ROOT / script), default_timeout=RUN_TIMEOUT_SECONDS)
    at.secrets["auth"] = {"cookie_key": BENCH_COOKIE_KEY}
    if user is not None:
        at.session_state[CURRENT_USER_KEY] = user
    for key, value in query.items():
        at.query_params[key] = value
    return at


def _timed_run(at: AppTest, runs: Runs) -> None:
    gc.collect()
    cpu, start = time.process_time(), time.perf_counter()
    at.run()
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    if at.exception:
        raise ScriptFailed("; ".join(str(e.message) for e in at.exception))
    runs.add(wall, cpu)


def measure_pair(page: str, floor: str, *, user: CurrentUser, query: dict[str, str],
                 floor_query: dict[str, str], repeats: int, warm_repeats: int,
                 floor_runs: int = 1) -> PairTiming:
    """``repeats`` rounds of: page cold, page warm x ``warm_repeats``, floor x
    ``floor_runs``. Taking turns lets both see the same machine load; the floor has no cache,
    so its runs are all alike and pooled."""
    cold, warm, floors = Runs(), Runs(), Runs()
    # One untimed run of each script per process first: imports are the
    # server's start-up cost, not a page view's.
    for script, who, params in ((page, user, query), (floor, None, floor_query)):
        if script not in _WARMED:
            _timed_run(new_test(script, user=who, query=params), Runs())
            _WARMED.add(script)
    page_at = floor_at = None
    for _ in range(repeats):
        clear_caches()
        page_at = new_test(page, user=user, query=query)
        _timed_run(page_at, cold)
        for _ in range(warm_repeats):
            _timed_run(page_at, warm)
        clear_caches()
        floor_at = new_test(floor, user=None, query=floor_query)
        for _ in range(floor_runs):
            _timed_run(floor_at, floors)
    assert page_at is not None and floor_at is not None
    return PairTiming(cold, warm, floors, payload(page_at), payload(floor_at))
