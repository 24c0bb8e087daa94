"""Import page helpers: run the CSV import on uploaded files, dry run first,
and show problems, summaries, account changes, reassignments and progress. The
import itself (one transaction, all or nothing, audited, who may change what)
is ``db.importer.import_files``.

Uploads are read in place: the importer reads each ``UploadedFile`` as the
binary stream it is, and the fingerprint hashes it in chunks, so a large
upload is held once (by Streamlit), not copied again here.
"""
from __future__ import annotations

import hashlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from db.importer import (
    FILE_NAMES,
    AccountChange,
    ImportFailed,
    ImportProblem,
    ImportSummary,
    NothingToImport,
    import_files,
)

from .access import CurrentUser
from .database import db_session
from .forms import changed_views
from .text import md_escape

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
        # getvalue() hands back the bytes the UploadedFile shares with Streamlit's
        # own copy (CPython's BytesIO is copy-on-write); getbuffer(), and
        # hashlib.file_digest which uses it, would copy the whole upload.
        digest.update(hashlib.sha256(f.getvalue()).digest())
    return digest.hexdigest()


def run_import(user: CurrentUser, files: Sequence, *, dry_run: bool, bar=None,
               confirmed: Collection[AccountChange] = ()) -> Outcome:
    """``confirmed``: the account changes the admin confirmed after the dry run."""
    for f in files:
        f.seek(0)
    streams = {f.name: f for f in files}
    # The progress bar follows the bytes read, so no file is scanned to count its rows.
    total = max(1, sum(f.size for f in files))

    def progress(name: str, rows: int) -> None:
        if bar is not None:
            seen = sum(f.tell() for f in files)
            bar.progress(min(1.0, seen / total), text=f"{name}: {rows:,} rows")

    try:
        with db_session() as session:
            summary = import_files(session, streams, dry_run=dry_run, progress=progress,
                                   actor=user.username, role=user.role,
                                   allow_account_changes=frozenset(confirmed))
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


def show_account_changes(summary: ImportSummary) -> None:
    st.dataframe(pd.DataFrame([{"File": c.file, "Line": c.line, "Username": c.username,
                                "Role now": c.before or "(new account)", "Role after": c.after}
                               for c in summary.account_changes]),
                 hide_index=True, width="stretch")


def confirmation_label(changes: Sequence[AccountChange]) -> str:
    """The confirmation names every change it confirms."""
    named = "; ".join(f"{c.username}: {c.before or 'new account'} → {c.after}" for c in changes)
    return f"I confirm these {len(changes)} account change(s): {md_escape(named)}"


def confirmation_key(checked: str, changes: Sequence[AccountChange]) -> str:
    """The checkbox's key: bound to the exact upload and the exact changes it names, so
    a tick never carries over to other files or to changes the label did not show."""
    named = hashlib.sha256("\n".join(str(c) for c in changes).encode()).hexdigest()[:16]
    return f"im_confirm_{checked[:16]}_{named}"


def show_reassignments(summary: ImportSummary) -> None:
    st.dataframe(pd.DataFrame([{"File": m.file, "Line": m.line, "Patient": m.patient_id,
                                "Therapist now": m.before, "Therapist after": m.after}
                               for m in summary.reassignments]),
                 hide_index=True, width="stretch")


def known_files_caption() -> str:
    return "Files this import reads (each optional): " + ", ".join(FILE_NAMES)
