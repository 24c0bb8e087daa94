"""What an import added, changed and left as it was, per table."""
from __future__ import annotations

from dataclasses import dataclass, field

# Tables in load order; each is filled from the CSV file of the same stem.
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
    them without a row in ``series.csv``.
    """

    files: list[str] = field(default_factory=list)
    tables: dict[str, TableCounts] = field(
        default_factory=lambda: {t: TableCounts() for t in TABLES})
    dry_run: bool = False

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
        return "\n".join(lines)
