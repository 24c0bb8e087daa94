"""The compliance page's CSV files, all written through ``db.csv_safety`` so a
spreadsheet never runs a cell as a formula."""
from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from datetime import date

from sqlalchemy.orm import Session

from ..csv_safety import write_csv
from ..protocol import ProtocolConfig
from ..queries import audit_log
from ..queries.compliance import ExceptionRow
from ..reports import COMPLIANCE_COLUMNS, compliance_rows

EXCEPTION_COLUMNS = (
    "patient_id", "series", "kind", "why", "status", "flags", "therapist", "first_infusion",
    "last_infusion", "next_infusion", "window_end", "preparation", "integration_attended",
    "integration_required", "reason",
)
AUDIT_COLUMNS = ("at_utc", "user", "action", "patient", "detail")


def _csv(rows: Iterable[dict], columns: Sequence[str]) -> str:
    out = io.StringIO()
    write_csv(rows, out, columns)
    return out.getvalue()


def exceptions_csv(rows: Sequence[ExceptionRow]) -> str:
    return _csv(({
        "patient_id": r.patient_id, "series": r.series_number, "kind": r.kind, "why": r.why,
        "status": r.status, "flags": list(r.flags), "therapist": r.therapist_username,
        "first_infusion": r.first_infusion, "last_infusion": r.last_infusion,
        "next_infusion": r.next_infusion, "window_end": r.window_end,
        "preparation": r.preparation, "integration_attended": r.integration_attended,
        "integration_required": r.integration_required, "reason": r.reason,
    } for r in rows), EXCEPTION_COLUMNS)


def series_csv(session: Session, as_of: date, *, therapist_id: int | None = None,
               settings: ProtocolConfig | None = None) -> str:
    """The rows of ``python -m db report compliance --as-of AS_OF``, scoped to a therapist."""
    return _csv(compliance_rows(session, as_of, therapist_id=therapist_id, settings=settings),
                COMPLIANCE_COLUMNS)


def audit_csv(session: Session, f: audit_log.AuditFilter) -> str:
    """Every audit event matching the filter, newest first."""
    return _csv(audit_log.export_rows(audit_log.iter_events(session, f)), AUDIT_COLUMNS)
