"""Batched upsert by natural key with Core statements.

Rows are buffered and written a few thousand at a time: one query finds
which keys already exist, then one executemany inserts the new rows, one
updates the changed ones, and one writes their audit events (one per row added
or changed, with its key and its values before and after). Nothing here holds
more than one batch. A writer that does not ``write`` (a dry run) still looks
the keys up and counts, but changes nothing, so it never takes a write lock.
"""
from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from typing import Any

from sqlalchemy import Table, bindparam, insert, select, tuple_, update
from sqlalchemy.orm import Session

from .summary import TableCounts
from .trail import Trail

BATCH_ROWS = 1000
# How many more rows than asked for a range lookup may return before the
# exact-key lookup is used instead.
RANGE_SLACK = 4

Existing = dict[Hashable, tuple[int, dict[str, Any]]]
Lookup = Callable[[list[Hashable]], Existing]
# Who a row's audit event names: (patient chart number or None, the values of the
# natural key as in the CSV, in the order of the writer's ``key_names``).
Ref = tuple[str | None, tuple]


class Writer:
    """Upsert rows of one table.

    ``lookup(keys)`` returns, for the keys that exist, ``(id, {column: value})``
    of the ``compare`` columns; a row whose compare values differ is updated
    (and its optimistic-lock ``version`` bumped), else counted unchanged.
    ``on_insert(key, id)`` receives the ids of new rows when dependents need them.
    With a ``trail``, every row added or changed gets its event, named
    ``<action>.add`` or ``<action>.change``, keyed by the ``ref`` given to ``add``.
    """

    def __init__(self, session: Session, table: Table, compare: Iterable[str],
                 counts: TableCounts, lookup: Lookup, *, enabled: Callable[[], bool],
                 on_insert: Callable[[Hashable, int], None] | None = None,
                 write: bool = True, trail: Trail | None = None, action: str = "",
                 key_names: tuple[str, ...] = ()) -> None:
        self.session = session
        self.table = table
        self.compare = tuple(compare)
        self.counts = counts
        self.lookup = lookup
        self.enabled = enabled
        self.on_insert = on_insert
        self.write = write
        self.trail = trail
        self.action = action
        self.key_names = key_names
        self.pending: list[tuple[Hashable, dict[str, Any], Ref | None]] = []
        values = {c: bindparam(f"v_{c}") for c in self.compare}
        if "version" in table.c:
            values["version"] = table.c.version + 1
        self._update = update(table).where(table.c.id == bindparam("row_id")).values(values)

    def add(self, key: Hashable, values: dict[str, Any], ref: Ref | None = None) -> None:
        self.pending.append((key, values, ref))
        if len(self.pending) >= BATCH_ROWS:
            self.flush()

    def flush(self) -> None:
        pending, self.pending = self.pending, []
        # Once the import is known to fail, writing more would be wasted work.
        if not pending or not self.enabled():
            return
        existing = self.lookup([key for key, _, _ in pending])
        inserts: list[dict[str, Any]] = []
        insert_keys: list[Hashable] = []
        updates: list[dict[str, Any]] = []
        added: list[tuple] = []
        changed: list[tuple] = []
        compare = self.compare
        for key, values, ref in pending:
            hit = existing.get(key)
            if hit is None:
                inserts.append(values)
                insert_keys.append(key)
                if ref is not None:
                    added.append((ref[0], ref[1], None, values))
                continue
            row_id, old = hit
            if any(old[c] != values[c] for c in compare):
                params = {f"v_{c}": values[c] for c in compare}
                params["row_id"] = row_id
                updates.append(params)
                if ref is not None:
                    changed.append((ref[0], ref[1], old, values))
            else:
                self.counts.unchanged += 1
        self.counts.added += len(inserts)
        self.counts.changed += len(updates)
        if not self.write:
            return
        if inserts:
            if self.on_insert is None:
                self.session.execute(insert(self.table), inserts)
            else:
                stmt = insert(self.table).returning(self.table.c.id, sort_by_parameter_order=True)
                for key, (row_id,) in zip(insert_keys, self.session.execute(stmt, inserts)):
                    self.on_insert(key, row_id)
        if updates:
            self.session.execute(self._update, updates)
        if self.trail is not None:
            if added:
                self.trail.records(f"{self.action}.add", added, compare, self.key_names)
            if changed:
                self.trail.records(f"{self.action}.change", changed, compare, self.key_names)
            self.trail.flush()


def from_dict(existing: Existing) -> Lookup:
    """A lookup over rows loaded up front (small tables the import needs anyway)."""
    return lambda keys: {k: existing[k] for k in keys if k in existing}


def by_key_columns(session: Session, table: Table, key_columns: tuple[str, ...],
                   compare: tuple[str, ...], parents_with_rows: set[int]) -> Lookup:
    """A lookup that asks the database for the batch's keys only.

    The first key column is the parent (patient, series or habit) and one is
    ``date``. Keys whose parent had no rows before the import cannot exist,
    so a fresh import costs no lookups at all.
    """
    cols = [table.c[c] for c in key_columns]
    wanted = [table.c.id, *cols, *(table.c[c] for c in compare)]
    width = len(key_columns)
    day_at = key_columns.index("date")

    def lookup(keys: list[Hashable]) -> Existing:
        candidates = [k for k in keys if k[0] in parents_with_rows]  # type: ignore[index]
        if not candidates:
            return {}
        parents = {k[0] for k in candidates}  # type: ignore[index]
        days = [k[day_at] for k in candidates]  # type: ignore[index]
        lo, hi = min(days), max(days)
        query = select(*wanted).where(cols[0].in_(parents), cols[day_at].between(lo, hi))
        # A sorted export (the usual case) asks for a few parents over a short
        # span: the range alone is exact enough and cheap. A shuffled one would
        # drag in whole histories, so it names the exact keys instead.
        if len(parents) * ((hi - lo).days + 1) > RANGE_SLACK * len(candidates):
            query = query.where(tuple_(*cols).in_(candidates))
        rows = session.execute(query)
        return {tuple(r[1:1 + width]): (r[0], dict(zip(compare, r[1 + width:]))) for r in rows}

    return lookup
