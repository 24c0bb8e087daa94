"""What went wrong in an import, located as ``FILE:LINE: column: message``."""
from __future__ import annotations

from dataclasses import dataclass

# Enough to fix a whole export in one go without flooding a terminal.
MAX_PROBLEMS = 1000


@dataclass(frozen=True)
class ImportProblem:
    file: str
    line: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.column}: {self.message}"


class ImportFailed(Exception):
    """The import was refused and nothing was written.

    ``problems`` holds the first ``MAX_PROBLEMS`` problems in file order;
    ``total`` counts all of them.
    """

    def __init__(self, problems: list[ImportProblem], total: int | None = None) -> None:
        self.problems = problems
        self.total = len(problems) if total is None else total
        more = f" (showing the first {len(problems)})" if self.total > len(problems) else ""
        super().__init__(f"import refused: {self.total} problem(s){more}")


class NothingToImport(ValueError):
    """The source holds none of the known files (or does not exist)."""


class Problems:
    """Collects problems up to the cap and keeps counting past it."""

    def __init__(self, limit: int = MAX_PROBLEMS) -> None:
        self.limit = limit
        self.items: list[ImportProblem] = []
        self.total = 0

    def add(self, file: str, line: int, column: str, message: str) -> None:
        self.total += 1
        if len(self.items) < self.limit:
            self.items.append(ImportProblem(file, line, column, message))

    def __bool__(self) -> bool:
        return self.total > 0

    def failure(self) -> ImportFailed:
        return ImportFailed(list(self.items), self.total)
