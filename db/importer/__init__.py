"""Validated CSV import of a clinic's export (the format: docs/csv-format.md).

``import_files`` is the one entry point (the upload page calls it with the
uploaded streams); ``import_directory`` opens the files of a folder and calls it.

Transactions: the import is one transaction that this module commits itself
(so the CLI and the upload page cannot forget to). In it, every record added or
changed gets its own audit event (``import.<table>.add`` / ``.change``, with its
key and its values before and after), a reassigned patient a ``patient.reassign``
event, an account created or a role changed ``user.add`` / ``user.change_role``,
and the whole import one ``import`` event with the counts. Any problem rolls
everything back; a refused import is then audited on its own
(``import.refused``). A dry run only reads: it writes nothing, not even
temporarily, so it holds no write lock. The session passed in should hold no
unsaved work of the caller's: it is committed or rolled back along with the import.

Who may change what (``changes``): only an admin (or the command line) creates
accounts or changes roles, and only the changes confirmed; only the medical
director (or the command line) reassigns patients.
"""
from __future__ import annotations

import secrets
import sys
from collections.abc import Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import BinaryIO

from sqlalchemy.orm import Session

from .. import audit
from .changes import CLI_CONFIRM_FLAG, SHELL, AccountChange, Confirmed, Reassignment
from .loader import SPECS, Progress, _Run
from .problems import MAX_PROBLEMS, ImportFailed, ImportProblem, NothingToImport, Problems
from .summary import TABLES, ImportSummary, TableCounts
from .trail import Trail

FILE_NAMES: tuple[str, ...] = tuple(SPECS[t].name for t in TABLES)
# Where a refused import's audit event says what went wrong, without the
# messages themselves (they may quote patient data).
_AUDITED_LOCATIONS = 20

__all__ = [
    "CLI_CONFIRM_FLAG", "FILE_NAMES", "MAX_PROBLEMS", "SHELL", "AccountChange", "ImportFailed",
    "ImportProblem", "ImportSummary", "NothingToImport", "Reassignment", "TableCounts",
    "import_directory", "import_files",
]


def import_directory(session: Session, directory: str | Path, *, dry_run: bool = False,
                     progress: bool | Progress | None = False, actor: str = "cli",
                     role: str = SHELL, allow_account_changes: Confirmed = False) -> ImportSummary:
    """Import the known CSV files found in ``directory`` (each is optional).

    Raises ``NothingToImport`` when the folder is missing or holds none of
    them, ``ImportFailed`` when any row is bad (nothing is written then).
    """
    folder = Path(directory)
    if not folder.is_dir():
        raise NothingToImport(f"{folder}: no such folder")
    present = [name for name in FILE_NAMES if (folder / name).is_file()]
    if not present:
        raise NothingToImport(f"{folder}: none of the import files is there; expected one or "
                              f"more of: {', '.join(FILE_NAMES)}")
    with ExitStack() as stack:
        files = {name: stack.enter_context((folder / name).open("rb")) for name in present}
        return import_files(session, files, dry_run=dry_run, progress=progress, actor=actor,
                            role=role, allow_account_changes=allow_account_changes)


def import_files(session: Session, files: Mapping[str, BinaryIO], *, dry_run: bool = False,
                 progress: bool | Progress | None = None, actor: str = "cli", role: str = SHELL,
                 allow_account_changes: Confirmed = False) -> ImportSummary:
    """Validate and import open binary streams keyed by file name.

    ``actor`` and ``role`` are who runs it (``SHELL``: the command line or a script
    on the server). ``allow_account_changes``: False, True (all of them: the command
    line's ``--allow-account-changes``) or the exact ``AccountChange``s a dry run
    listed and the admin confirmed. Commits on success (unless ``dry_run``); see the
    module docstring.
    """
    problems = Problems()
    for name in files:
        if name not in FILE_NAMES:
            problems.add(name, 1, "file", "not a file this import knows; expected one of: "
                         + ", ".join(FILE_NAMES))
    present = [n for n in FILE_NAMES if n in files]
    if not present and not problems:
        raise NothingToImport("no files to import; expected one or more of: "
                              + ", ".join(FILE_NAMES))
    summary = ImportSummary(files=present, dry_run=dry_run)
    try:
        # Known files are checked even beside an unknown one, so that every
        # problem is reported at once.
        run_id = secrets.token_hex(4)
        trail = None if dry_run else Trail(session, actor, run_id)
        run = _Run(session, summary, problems, _progress_callback(progress, files),
                   write=not dry_run, actor=actor, role=role, confirmed=allow_account_changes,
                   trail=trail)
        for table in TABLES:
            name = SPECS[table].name
            if name in files:
                run.load(table, files[name])
        if progress is True:
            sys.stderr.write("\n")
        if problems:
            raise problems.failure()
        if dry_run:
            session.rollback()
        else:
            trail.flush()
            audit.record(session, actor, "import", run=run_id, events=trail.written,
                         **summary.as_dict())
            session.commit()
        return summary
    except ImportFailed as failure:
        session.rollback()
        if not dry_run:
            audit.record(session, actor, "import.refused", files=present, problems=failure.total,
                         where=[f"{p.file}:{p.line}: {p.column}"
                                for p in failure.problems[:_AUDITED_LOCATIONS]])
            session.commit()
        raise
    except BaseException:
        session.rollback()
        raise


def _progress_callback(progress: bool | Progress | None,
                       files: Mapping[str, BinaryIO]) -> Progress | None:
    if callable(progress):
        return progress
    if not progress:
        return None
    sizes = {name: _size(stream) for name, stream in files.items()}
    last: list[str] = [""]

    def show(name: str, rows: int) -> None:
        # One bar per file, redrawn in place; the share read comes from the
        # stream position, so no file is read twice to count its rows.
        if last[0] and last[0] != name:
            sys.stderr.write("\n")
        last[0] = name
        size = sizes.get(name)
        share = min(files[name].tell() / size, 1.0) if size else 1.0
        bar = "#" * int(share * 30)
        sys.stderr.write(f"\r{name:<15} [{bar:<30}] {share:4.0%} {rows:>10,} rows")
        sys.stderr.flush()

    return show


def _size(stream: BinaryIO) -> int | None:
    try:
        here = stream.tell()
        end = stream.seek(0, 2)
        stream.seek(here)
        return end
    except (OSError, ValueError, AttributeError):
        return None
