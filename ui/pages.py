"""The one registry of pages: which roles see which page, under what title.

dashboard.py lists the current role's pages in ``st.navigation`` and registers
every other page too, hidden (``hidden_for``): a URL to a page the role may not
open then runs that page, which refuses and audits (``access.denied``) through
``require_page_access(__file__)`` reading this same registry. Unregistered,
Streamlit would silently fall back to the role's first page (issue 15).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from db.models import ROLES


@dataclass(frozen=True)
class PageSpec:
    path: str  # relative to the project root, e.g. "pages/caseload.py"
    title: str
    icon: str


CASELOAD = "pages/caseload.py"
PATIENT = "pages/patient.py"
RECORD_CARE = "pages/record_care.py"
TEAM_MEETING = "pages/team_meeting.py"
COMPLIANCE = "pages/compliance.py"
AUDIT_LOG = "pages/audit_log.py"
PROTOCOL_SETTINGS = "pages/protocol_settings.py"
USERS = "pages/users.py"
IMPORT_DATA = "pages/import_data.py"

_PATIENT = PageSpec(PATIENT, "Patient", ":material/person:")
_RECORD_CARE = PageSpec(RECORD_CARE, "Record care", ":material/edit_note:")
_TEAM_MEETING = PageSpec(TEAM_MEETING, "Team meeting", ":material/groups:")
_AUDIT_LOG = PageSpec(AUDIT_LOG, "Audit log", ":material/policy:")
# Issue 8: the CSV upload is for the admin and the medical director.
_IMPORT_DATA = PageSpec(IMPORT_DATA, "Import", ":material/upload_file:")

# The first page of each role is where that role lands after signing in.
REGISTRY: dict[str, tuple[PageSpec, ...]] = {
    "therapist": (
        PageSpec(CASELOAD, "My caseload", ":material/assignment_ind:"),
        _PATIENT,
        _RECORD_CARE,
        _TEAM_MEETING,
    ),
    "medical_director": (
        PageSpec(COMPLIANCE, "Compliance", ":material/fact_check:"),
        PageSpec(CASELOAD, "Caseloads", ":material/assignment_ind:"),
        _PATIENT,
        _RECORD_CARE,
        _TEAM_MEETING,
        _AUDIT_LOG,
        PageSpec(PROTOCOL_SETTINGS, "Protocol settings", ":material/tune:"),
        _IMPORT_DATA,
    ),
    "admin": (
        PageSpec(USERS, "Users", ":material/manage_accounts:"),
        _IMPORT_DATA,
        _AUDIT_LOG,
    ),
    "team_screen": (_TEAM_MEETING,),
}

ROLE_LABELS = {
    "therapist": "Therapist",
    "medical_director": "Medical director",
    "admin": "Administrator",
    "team_screen": "Team meeting screen",
}

assert set(REGISTRY) == set(ROLES) == set(ROLE_LABELS), "every role needs pages and a label"


def pages_for(role: str) -> tuple[PageSpec, ...]:
    """The pages ``role`` may open, in menu order; none for an unknown role."""
    return REGISTRY.get(role, ())


def page_key(path: str | Path) -> str:
    """'pages/<file>.py' for a page file given by any path (e.g. a page's ``__file__``)."""
    return f"pages/{Path(path).name}"


def roles_for(path: str | Path) -> tuple[str, ...]:
    """The roles allowed to open a page file."""
    key = page_key(path)
    return tuple(role for role, specs in REGISTRY.items() if any(s.path == key for s in specs))


def all_page_paths() -> tuple[str, ...]:
    return tuple(sorted({s.path for specs in REGISTRY.values() for s in specs}))


def hidden_for(role: str) -> tuple[str, ...]:
    """Every page file ``role`` may not open: registered hidden so that opening it refuses."""
    mine = {spec.path for spec in pages_for(role)}
    return tuple(path for path in all_page_paths() if path not in mine)


def title_for(path: str | Path, role: str) -> str:
    """The page's title as ``role`` sees it in the menu (e.g. 'My caseload' or 'Caseloads')."""
    key = page_key(path)
    for spec in pages_for(role):
        if spec.path == key:
            return spec.title
    return Path(key).stem.replace("_", " ").capitalize()
