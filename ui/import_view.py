"""Import page helpers: run the CSV import on uploaded files, dry run first,
and show problems, summaries and progress. The import itself (one transaction,
all or nothing, audited) is ``db.importer.import_files``."""
from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from db.importer import (
    FILE_NAMES,
    ImportFailed,
    ImportProblem,
    ImportSummary,
    NothingToImport,
    import_files,
)

from .access import CurrentUser
from .database import db_session
from .forms import changed_views

TABLE_WORDS = {"staff": "Staff", "patients": "Patients", "series": "Series",
               "infusions": "Infusions", "sessions": "Sessions", "habits": "Habits",
               "habit_logs": "Habit check-ins", "measures": "Scores"}


@dataclass(frozen=True)
class Outcome:
    summary: ImportSummary | None = None
    problems: tuple[ImportProblem, ...] = ()
    total_problems: int = 0
    refusal: str | None = None


def fingerprint(files: Sequence) -> str:
    """Identifies the exact upload a dry run checked, so the import runs on the same bytes."""
    digest = hashlib.sha256()
    for f in sorted(files, key=lambda f: f.name):
        digest.update(f.name.encode())
        digest.update(hashlib.sha256(f.getvalue()).digest())
    return digest.hexdigest()


def run_import(user: CurrentUser, files: Sequence, *, dry_run: bool, bar=None) -> Outcome:
    streams = {f.name: io.BytesIO(f.getvalue()) for f in files}
    # Rows per file, for the progress bar: a count of lines is enough to show movement.
    total = max(1, sum(f.getvalue().count(b"\n") for f in files))
    done: dict[str, int] = {}

    def progress(name: str, rows: int) -> None:
        done[name] = rows
        if bar is not None:
            seen = sum(done.values())
            bar.progress(min(1.0, seen / total), text=f"{name}: {rows:,} rows")

    try:
        with db_session() as session:
            summary = import_files(session, streams, dry_run=dry_run, progress=progress,
                                   actor=user.username)
    except ImportFailed as failure:
        return Outcome(problems=tuple(failure.problems), total_problems=failure.total)
    except NothingToImport as nothing:
        return Outcome(refusal=str(nothing))
    if not dry_run:
        changed_views()
    return Outcome(summary=summary)


def show_problems(outcome: Outcome) -> None:
    shown = len(outcome.problems)
    more = f" (the first {shown} are listed)" if outcome.total_problems > shown else ""
    st.error(f"{outcome.total_problems:,} problem(s) found{more}. Nothing was changed: fix the "
             "files and check them again.", icon=":material/error:")
    st.dataframe(pd.DataFrame([{"File": p.file, "Line": p.line, "Column": p.column,
                                "Problem": p.message} for p in outcome.problems]),
                 hide_index=True, width="stretch")


def show_summary(summary: ImportSummary) -> None:
    rows = [{"Table": TABLE_WORDS.get(t, t), "Added": c.added, "Changed": c.changed,
             "Unchanged": c.unchanged} for t, c in summary.tables.items() if c.rows]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")


def known_files_caption() -> str:
    return "Files this import reads (each optional): " + ", ".join(FILE_NAMES)
