"""Load: 20 browser sessions at once on the caseload page (Debian Chromium on
loopback, bounded in count and time): every one loads fully, the server stays
up and within a memory bound. ``python -m bench.load`` runs the same and writes
its figures into bench/results.md; set KAP_WRITE_LOAD_RESULTS=1 to have this
test write them too."""
from __future__ import annotations

import os
from datetime import datetime, timezone

import pytest

from bench.load import run_load, section, write_section
from tests.apptest_support import demo_clinic_template  # noqa: F401 (fixture)
from tests.browser_support import require_chromium

pytestmark = [pytest.mark.browser, pytest.mark.load, pytest.mark.slow]
SESSIONS = 20
# The bound catches a hang, not slowness (bench/results.md reports the times):
# the same run took 160 s one day and 250 s the next on this shared 2-core machine.
WHOLE_RUN_SECONDS = 480
PEAK_RSS_MB = 1024          # far above the ~250 MB measured: a leak or a copy per session would cross it


def test_twenty_sessions_at_once_all_load_the_caseload(demo_clinic_template):
    require_chromium()
    result = run_load(sessions=SESSIONS, timeout_s=WHOLE_RUN_SECONDS, clinic=demo_clinic_template)
    text = section(result, datetime.now(timezone.utc))
    print("\n" + text)
    if os.environ.get("KAP_WRITE_LOAD_RESULTS") == "1":
        write_section(text)
    assert not result.failures, result.failures
    assert result.loaded == SESSIONS
    assert len(result.sign_in_seconds) == SESSIONS
    assert result.rss_peak_mb < PEAK_RSS_MB, f"server peak RSS {result.rss_peak_mb:.0f} MB"


def test_percentile_is_nearest_rank():
    from bench.load import percentile

    values = [float(v) for v in range(1, 21)]
    assert percentile(values, 95) == 19.0 and percentile(values, 50) == 10.0
    assert percentile([3.0], 95) == 3.0
