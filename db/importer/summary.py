"""What an import added, changed and left as it was, per table."""
from __future__ import annotations

from dataclasses import dataclass, field

from .changes import AccountChange, Reassignment

# Tables in load order; each is filled from the CSV file of the same stem.
# A terminal lists this many reassignments, then counts the rest.
SHOWN_REASSIGNMENTS = 50
TABLES = ("staff", "patients", "series", "infusions", "sessions", "habits", "habit_logs",
          "measures")


@dataclass
class TableCounts:
    added: int = 0
    changed: int = 0
    unchanged: int = 0

    @property
    def rows(self) -> int:
        return self.added + self.changed + self.unchanged


@dataclass
class ImportSummary:
    """Counts per table, in load order. ``files`` are the files read.

    ``series`` also counts the series created because ``infusions.csv`` named
    them without a row in ``series.csv``. ``account_changes`` (accounts created,
    roles changed) and ``reassignments`` (patients given another therapist) are
    listed one by one: a dry run shows them before anyone confirms them.
    """

    files: list[str] = field(default_factory=list)
    tables: dict[str, TableCounts] = field(
        default_factory=lambda: {t: TableCounts() for t in TABLES})
    dry_run: bool = False
    account_changes: list[AccountChange] = field(default_factory=list)
    reassignments: list[Reassignment] = field(default_factory=list)

    def __getitem__(self, table: str) -> TableCounts:
        return self.tables[table]

    @property
    def added(self) -> int:
        return sum(c.added for c in self.tables.values())

    @property
    def changed(self) -> int:
        return sum(c.changed for c in self.tables.values())

    @property
    def unchanged(self) -> int:
        return sum(c.unchanged for c in self.tables.values())

    def as_dict(self) -> dict:
        return {
            "files": list(self.files),
            "dry_run": self.dry_run,
            "counts": {t: {"added": c.added, "changed": c.changed, "unchanged": c.unchanged}
                       for t, c in self.tables.items() if c.rows},
            "account_changes": [str(c) for c in self.account_changes],
            "reassigned": len(self.reassignments),
        }

    def __str__(self) -> str:
        if self.dry_run:
            head = (f"Dry run, nothing was written. Checked {len(self.files)} file(s): "
                    f"{self.added:,} to add, {self.changed:,} to change, "
                    f"{self.unchanged:,} unchanged.")
        else:
            head = (f"Imported {len(self.files)} file(s): {self.added:,} added, "
                    f"{self.changed:,} changed, {self.unchanged:,} unchanged.")
        lines = [head]
        for table, c in self.tables.items():
            if c.rows:
                lines.append(f"  {table:<11} {c.added:>9,} added {c.changed:>9,} changed "
                             f"{c.unchanged:>9,} unchanged")
        for change in self.account_changes:
            lines.append(f"  {change.file}:{change.line}: {change}")
        shown = self.reassignments[:SHOWN_REASSIGNMENTS]
        for move in shown:
            lines.append(f"  {move.file}:{move.line}: {move}")
        if len(self.reassignments) > len(shown):
            lines.append(f"  ... and {len(self.reassignments) - len(shown):,} more reassignments")
        return "\n".join(lines)
