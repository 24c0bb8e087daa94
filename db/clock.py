"""The clinic's "today".

Everything that asks "as of when?" calls ``today()``, so that tests, the
benchmark and screenshots can pin the date with ``KAP_TODAY=YYYY-MM-DD``
and see the same clinic every time.
"""
from __future__ import annotations

import os
from datetime import date


def today() -> date:
    pinned = os.environ.get("KAP_TODAY", "").strip()
    return date.fromisoformat(pinned) if pinned else date.today()
