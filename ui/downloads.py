"""The app's own table downloads, and the audit of list views.

Streamlit's table toolbar export is off (``[client] disableDataExport`` in
``.streamlit/config.toml``): it wrote cells raw, formulas included, and left no
trace. Every table of patient or account data that someone may want as a file
gets :func:`csv_download` beside it instead.

**Deferred, and audited when generated.** The button is given a callable, so
the file is built only when a browser asks for it (Streamlit runs the callable
on a server thread, outside the page's run). The audit event is written inside
that callable, in the same call that builds the file: a file never leaves the
server without its ``export.csv`` event, whether the request came from the
click or straight over the websocket. The other way, bytes built while the
page is drawn, would build the file on every rerun, so the audit could only be
written on every rerun (an export that never happened) or on the click (which
a client can skip); that is why it is not used here. The callable cannot read
Streamlit state, so the signed-in user and the scope are captured when the
button is drawn (after the page's own access check), with the sign-in of the
browser session that drew it: once that sign-in has ended the file is not
built, and the request is audited as refused (as for the compliance files).

**List views.** :func:`audit_list_view` writes one ``list.view`` event per
visit to a list page and per change of what it lists (the scope, the filters,
the page of results), with the number of rows; a rerun that lists the same
thing again (a click elsewhere on the page, a selection) writes nothing.
"""
from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

import streamlit as st

from db import audit
from db.csv_safety import write_csv
from db.engine import session_factory
from db.exports.compliance_csv import AUDIT_COLUMNS
from db.queries import audit_log

from . import http_guard, session_socket
from .access import CurrentUser, audit_event
from .database import get_engine

CSV = "text/csv"
EXPORT_ACTION = "export.csv"
LIST_VIEW_ACTION = "list.view"
# session_state: what each list page last listed, for audit_list_view.
_LISTED_KEY = "kap_listed"


def csv_text(rows: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> str:
    """Rows as formula-safe CSV (``db.csv_safety``), header included."""
    out = io.StringIO()
    write_csv(rows, out, columns)
    return out.getvalue()


class ExportRefused(PermissionError):
    """The browser session that drew the button is no longer signed in as its user."""


T = TypeVar("T")


def audited_file(build: Callable[[], tuple[T, Mapping[str, Any]]], user: CurrentUser,
                 action: str, detail: Mapping[str, Any], *, patient_ref: str | None = None,
                 engine=None) -> Callable[[], T]:
    """A callable for ``st.download_button(data=...)``, for every deferred file the app
    serves (these tables' CSVs, the compliance CSVs and PDF): builds the file, then
    writes its ``action`` event (``detail`` and what ``build`` adds, such as the row
    count) in its own transaction before handing the file over. ``build`` returns
    (the file, detail to add).

    Call it in the page's run: it captures this browser session's sign-in (through
    ui.http_guard). Asked for after that sign-in ended, or under another sign-in,
    no file is built; the request is refused and audited as ``access.denied``.
    """
    engine = engine if engine is not None else get_engine()
    session_id = session_socket.session_id()
    drawn_for = http_guard.grant_of(session_id)
    detail = dict(detail)

    def generate() -> T:
        if drawn_for is None or http_guard.grant_of(session_id) != drawn_for:
            with session_factory(engine)() as session:
                audit.record(session, user.username, "access.denied", None, page="(export)",
                             role=user.role, export=action,
                             reason="the file was asked for after the sign-in ended", **detail)
                session.commit()
            raise ExportRefused(f"{action}: not signed in any more")
        data, added = build()
        with session_factory(engine)() as session:
            audit.record(session, user.username, action, patient_ref, **{**detail, **added})
            session.commit()
        return data

    return generate


def csv_download(label: str, *, key: str, file_name: str, user: CurrentUser, what: str,
                 build: Callable[[], tuple[str, int]], detail: Mapping[str, Any] | None = None,
                 disabled: bool = False, help: str | None = None) -> None:
    """A download button for a formula-safe CSV that is audited when it is generated.

    ``build`` runs on a server thread when the file is requested: it must not
    touch Streamlit; give it the values it needs (its closure) and open its own
    database session.
    """
    def counted() -> tuple[str, dict[str, int]]:
        text, rows = build()
        return text, {"rows": rows}

    st.download_button(
        label, audited_file(counted, user, EXPORT_ACTION, {"what": what, **(detail or {})}),
        file_name, CSV,
        key=key, icon=":material/download:", on_click="ignore", disabled=disabled,
        help=help or "A CSV file that is safe to open in a spreadsheet; the download is "
                     "recorded in the audit log.")


def audit_list_view(view: str, *, marker: str, rows: int, scope: Mapping[str, Any],
                    counts: Mapping[str, int] | None = None) -> bool:
    """Audit that ``view`` lists ``rows`` rows for ``scope``, once per visit or change.

    ``marker`` is the key of a widget this page draws on every run *after* this
    call (its download button). Streamlit drops a widget's state at the end of
    any run that does not draw it, so the key is missing exactly when the
    previous run was another page (or none): a new visit. Within a visit, an
    event is written only when ``scope`` differs from what was last listed
    (``rows`` and ``counts``, how many were listed, are recorded, not compared).
    True when an event was written.
    """
    scope = {k: v for k, v in scope.items() if v not in (None, "", [], ())}
    fresh = marker not in st.session_state
    listed = st.session_state.setdefault(_LISTED_KEY, {})
    if not fresh and listed.get(view) == scope:
        return False
    listed[view] = scope
    audit_event(LIST_VIEW_ACTION, list=view, rows=rows, **dict(counts or {}), **scope)
    return True


AUDIT_LOG_DOWNLOAD_KEY = "dl_audit_log"


def audit_log_download(f: audit_log.AuditFilter, user: CurrentUser) -> None:
    """The events matching ``f`` as CSV, with details as ``user``'s role may read them
    (``db.queries.audit_log``'s rule, the same as on the page)."""
    engine = get_engine()
    role = user.role

    def build() -> tuple[str, int]:
        with session_factory(engine)() as session:
            rows = list(audit_log.export_rows(audit_log.iter_events(session, f,
                                                                    reader_role=role)))
        return csv_text(rows, AUDIT_COLUMNS), len(rows)

    csv_download("Export these events (CSV)", key=AUDIT_LOG_DOWNLOAD_KEY,
                 file_name="audit-log.csv", user=user, what="audit log", build=build,
                 detail=f.describe())


USERS_DOWNLOAD_KEY = "dl_users"
USER_COLUMNS = ("username", "full_name", "role", "email", "active", "password")


def users_download(rows: Sequence[Any], user: CurrentUser) -> None:
    """The staff accounts listed on the Users page (``db.staff.StaffRow``) as CSV:
    no password hash, only whether a password is set."""
    snapshot = tuple(rows)

    def build() -> tuple[str, int]:
        return csv_text(({
            "username": r.username, "full_name": r.full_name, "role": r.role,
            "email": r.email, "active": r.active,
            "password": ("must change at next sign-in" if r.must_change_password
                         else "set" if r.has_password else "not set"),
        } for r in snapshot), USER_COLUMNS), len(snapshot)

    csv_download("Download the staff list (CSV)", key=USERS_DOWNLOAD_KEY,
                 file_name="staff.csv", user=user, what="staff accounts", build=build,
                 disabled=not snapshot)
