"""The import's audit trail: one event per record added or changed, written in bulk.

Record care writes one event per change with the record's values before and
after (``db.audit.record``); an import does the same for every row it adds or
changes, but a million rows cannot afford one ORM object and one flush each.
The events are buffered and written with one ``executemany`` per batch, in the
import's own transaction, so the records and their events are saved together
or not at all. Their ``detail`` is the same JSON shape ``audit.record`` writes
(keys sorted), built from cached pieces because the hot path repeats the same
chart numbers, habit names and dates over and over.
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from ..audit import utcnow
from ..models import AuditEvent

# Flushed with the writers' batches; this bounds memory if rows arrive otherwise.
MAX_BUFFERED = 5000


@lru_cache(maxsize=1 << 16, typed=True)  # typed: True and 1 must not share "true"
def _scalar(value: Any) -> str:
    return json.dumps(value, default=str)


def encode(values: dict[str, Any]) -> str:
    """``json.dumps(values, sort_keys=True, default=str)``, for flat dicts of scalars."""
    return "{" + ", ".join(f'"{name}": {_scalar(values[name])}' for name in sorted(values)) + "}"


class Trail:
    """Buffered audit events of one import run (``run`` ties them to its ``import`` event)."""

    def __init__(self, session: Session, actor: str, run: str) -> None:
        self.session = session
        self.actor = actor
        self.run = run
        self.rows: list[dict[str, Any]] = []
        self.written = 0

    def record(self, action: str, patient_ref: str | None, **detail: Any) -> None:
        """One event with any detail (the few non-row events: reassignments, accounts)."""
        detail["run"] = self.run
        self._append(action, patient_ref, json.dumps(detail, default=str, sort_keys=True))

    def records(self, action: str, events: Iterable[tuple[str | None, dict, dict | None, dict]],
                columns: tuple[str, ...]) -> None:
        """Row events ``(patient_ref, key, before, after)``; ``before`` None for a new row.

        ``before`` and ``after`` hold ``columns`` (the compared values) only.
        """
        at, actor, run, rows = utcnow(), self.actor, self.run, self.rows
        names = sorted(columns)
        for patient_ref, key, before, after in events:
            old = "null" if before is None else _pairs(names, before)
            rows.append({"at": at, "actor": actor, "action": action, "patient_ref": patient_ref,
                         "detail": f'{{"after": {_pairs(names, after)}, "before": {old}, '
                                   f'"key": {encode(key)}, "run": "{run}"}}'})
        if len(rows) >= MAX_BUFFERED:
            self.flush()

    def _append(self, action: str, patient_ref: str | None, detail: str) -> None:
        self.rows.append({"at": utcnow(), "actor": self.actor, "action": action,
                          "patient_ref": patient_ref, "detail": detail})
        if len(self.rows) >= MAX_BUFFERED:
            self.flush()

    def flush(self) -> None:
        rows, self.rows = self.rows, []
        if rows:
            self.session.execute(insert(AuditEvent.__table__), rows)
            self.written += len(rows)


def _pairs(names: list[str], values: dict[str, Any]) -> str:
    return "{" + ", ".join(f'"{n}": {_scalar(values[n])}' for n in names) + "}"
