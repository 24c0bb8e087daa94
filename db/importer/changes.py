"""Who may make which sensitive change through an import, and how the changes are named.

Accounts: only an admin creates staff accounts or changes a role, and even an
admin's import applies such changes only once they were listed (by a dry run)
and confirmed: the Import page's confirmation names each one; on the command
line ``--allow-account-changes`` confirms them. Reassignments (a patients.csv
row naming another therapist for an existing patient) are the medical
director's decision, as in Record care; an admin's import that would reassign
is refused.

``SHELL`` is the role of the command line and of scripts: whoever can run them
on the server can reach the database directly, so they may do what an admin and
the medical director may, and still have to confirm account changes.
"""
from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

SHELL = "shell"
ACCOUNT_ROLES = ("admin", SHELL)
REASSIGN_ROLES = ("medical_director", SHELL)
CLI_CONFIRM_FLAG = "--allow-account-changes"

# What ``import_files(allow_account_changes=...)`` takes: False (none), True
# (every one, the command line's flag), or the exact changes a person confirmed.
Confirmed = bool | Collection["AccountChange"]


@dataclass(frozen=True)
class AccountChange:
    """A staff.csv row that creates an account (``before`` None) or changes its role.

    Equality ignores where the row is, so a confirmation given after a dry run
    matches the same change in the import that follows.
    """

    username: str
    before: str | None
    after: str
    file: str = field(default="staff.csv", compare=False)
    line: int = field(default=0, compare=False)

    @property
    def creates(self) -> bool:
        return self.before is None

    def __str__(self) -> str:
        if self.creates:
            return f"creates the account {self.username!r} with the role {self.after}"
        return f"changes the role of {self.username!r} from {self.before} to {self.after}"


@dataclass(frozen=True)
class Reassignment:
    """A patients.csv row that gives an existing patient another therapist."""

    patient_id: str
    before: str
    after: str
    file: str = field(default="patients.csv", compare=False)
    line: int = field(default=0, compare=False)

    def __str__(self) -> str:
        return f"reassigns patient {self.patient_id!r} from {self.before!r} to {self.after!r}"


def account_problem(change: AccountChange, role: str, *, dry_run: bool,
                    confirmed: Confirmed) -> str | None:
    """Why ``change`` may not be applied by this import, or None."""
    if role not in ACCOUNT_ROLES:
        return f"{change}; only an admin may create staff accounts or change a role"
    if dry_run or confirmed is True or (confirmed and change in confirmed):
        return None
    hint = (f"run the import again with {CLI_CONFIRM_FLAG} to confirm it" if role == SHELL
            else "check the files again and confirm the account changes listed")
    return f"{change}, which was not confirmed; {hint}"


def reassign_problem(move: Reassignment, role: str) -> str | None:
    if role in REASSIGN_ROLES:
        return None
    return (f"{move}; only the medical director reassigns patients (in Record care, or by "
            "importing this file themselves)")
