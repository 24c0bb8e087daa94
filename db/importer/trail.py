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
from datetime import date
from functools import lru_cache
from typing import Any

from sqlalchemy.orm import Session

from ..audit import utcnow
from ..models import AuditEvent

# Flushed with the writers' batches; this bounds memory if rows arrive otherwise.
MAX_BUFFERED = 5000
_TABLE = AuditEvent.__table__
_COLUMNS = ("at", "actor", "action", "patient_ref", "detail")
# The driver's own placeholders: the events go to one executemany on the driver
# itself, as bench/importing.py's bare insert does; SQLAlchemy's per-row parameter
# processing cost as much as writing the rows.
_PLACEHOLDER = {"qmark": "?", "format": "%s", "pyformat": "%s"}


def _scalar(value: Any) -> str:
    """One value as JSON; the common types without json.dumps, text through a small cache."""
    kind = type(value)
    if kind is str:
        return _text(value)
    if kind is bool:
        return "true" if value else "false"
    if value is None:
        return "null"
    if kind is int:
        return str(value)
    if kind is date:
        return f'"{value.isoformat()}"'
    return json.dumps(value, default=str)


# Chart numbers and habit names repeat row after row; a small cache is enough.
@lru_cache(maxsize=1024)
def _text(value: str) -> str:
    return json.dumps(value)


def encode(values: dict[str, Any]) -> str:
    """``json.dumps(values, sort_keys=True, default=str)``, for flat dicts of scalars."""
    return "{" + ", ".join(f'"{name}": {_scalar(values[name])}' for name in sorted(values)) + "}"


class Trail:
    """Buffered audit events of one import run (``run`` ties them to its ``import`` event)."""

    def __init__(self, session: Session, actor: str, run: str) -> None:
        self.session = session
        self.actor = actor
        self.run = run
        self.rows: list[tuple] = []
        self.written = 0
        dialect = session.get_bind().dialect
        mark = _PLACEHOLDER[dialect.paramstyle]
        self._sql = (f"INSERT INTO {_TABLE.name} ({', '.join(_COLUMNS)}) "
                     f"VALUES ({', '.join([mark] * len(_COLUMNS))})")
        # The time as this dialect stores it (SQLite: text), converted once per import.
        at_type = _TABLE.c.at.type.dialect_impl(dialect)
        self._to_db = at_type.bind_processor(dialect) or (lambda value: value)

    def _now(self) -> Any:
        return self._to_db(utcnow())

    def record(self, action: str, patient_ref: str | None, **detail: Any) -> None:
        """One event with any detail (the few non-row events: reassignments, accounts)."""
        detail["run"] = self.run
        self._append(action, patient_ref, json.dumps(detail, default=str, sort_keys=True))

    def records(self, action: str, events: Iterable[tuple[str | None, tuple, dict | None, dict]],
                columns: tuple[str, ...], key_names: tuple[str, ...]) -> None:
        """Row events ``(patient_ref, key, before, after)``; ``before`` None for a new row.

        ``key`` holds the values of ``key_names`` (a tuple: a batch of dicts costs
        more memory than the batch of rows); ``before`` and ``after`` hold
        ``columns`` (the compared values) only.
        """
        at, actor, run, rows = self._now(), self.actor, self.run, self.rows
        names = sorted(columns)
        order = sorted(range(len(key_names)), key=key_names.__getitem__)
        labels = [f'"{key_names[i]}": ' for i in order]
        scalar = _scalar
        for patient_ref, key, before, after in events:
            old = "null" if before is None else _pairs(names, before)
            new = "{" + ", ".join(f'"{n}": {scalar(after[n])}' for n in names) + "}"
            keyed = "{" + ", ".join(label + scalar(key[i]) for label, i in zip(labels, order)) + "}"
            rows.append((at, actor, action, patient_ref,
                         f'{{"after": {new}, "before": {old}, "key": {keyed}, "run": "{run}"}}'))
        if len(rows) >= MAX_BUFFERED:
            self.flush()

    def _append(self, action: str, patient_ref: str | None, detail: str) -> None:
        self.rows.append((self._now(), self.actor, action, patient_ref, detail))
        if len(self.rows) >= MAX_BUFFERED:
            self.flush()

    def flush(self) -> None:
        rows, self.rows = self.rows, []
        if rows:
            self.session.connection().exec_driver_sql(self._sql, rows)
            self.written += len(rows)


def _pairs(names: list[str], values: dict[str, Any]) -> str:
    return "{" + ", ".join(f'"{n}": {_scalar(values[n])}' for n in names) + "}"
