"""Audit log: who did what, when, to whose record; filtered, paged, exportable."""
from __future__ import annotations

from datetime import timedelta

import pandas as pd
import streamlit as st

from db.audit import utcnow
from db.queries import audit_log
from ui import audit_log_data
from ui.access import require_page_access
from ui.downloads import AUDIT_LOG_DOWNLOAD_KEY, audit_list_view, audit_log_download
from ui.pages import title_for

ALL = "(everyone)"
ANY = "(any action)"
PAGE_SIZE = 50

user = require_page_access(__file__)
st.title(title_for(__file__, user.role))
st.caption("Every sign-in, refusal, record view, export and change. Times are UTC.")

actors, actions = audit_log_data.filter_options()

c1, c2, c3, c4 = st.columns([2, 2, 2, 3])
actor = c1.selectbox("User", [ALL, *actors], key="audit_actor")
action = c2.selectbox("Action", [ANY, *actions], key="audit_action")
patient = c3.text_input("Patient chart number", key="audit_patient",
                        placeholder="e.g. KAP-000123").strip()
# The trail is stamped with the real clock, so its calendar is the real one too.
now = utcnow().date()
dates = c4.date_input("Dates", value=(now - timedelta(days=30), now), key="audit_dates")
start, end = (dates + (None, None))[:2] if isinstance(dates, tuple) else (dates, dates)

flt = audit_log.AuditFilter(actor=None if actor == ALL else actor,
                            action=None if action == ANY else action,
                            patient_ref=patient or None, start=start, end=end)
# Details as this role may read them (db.queries.audit_log decides).
first = audit_log_data.search(flt, page=1, page_size=PAGE_SIZE, reader_role=user.role)
pages = first.pages
pager, summary = st.columns([1, 4], vertical_alignment="bottom")
# No min/max on the widget: out of them it keeps sending its last valid value, so
# the table showed another page than the one typed, with no word why. Page 1 is
# put in through the widget's state so that an emptied field arrives as None.
page_key = f"audit_page_{hash(flt)}"
if page_key not in st.session_state:
    st.session_state[page_key] = 1
typed = pager.number_input(f"Page (of {pages})", value=None, step=1, key=page_key)
page_no = min(max(1 if typed is None else int(typed), 1), pages)
if typed != page_no:
    pager.error(f"Page: from 1 to {pages}; showing page {page_no}.",
                icon=":material/error:")
result = first if page_no == 1 else audit_log_data.search(flt, page=int(page_no),
                                                          page_size=PAGE_SIZE,
                                                          reader_role=user.role)

if not result.rows:
    st.info("No events match these filters.", icon=":material/search_off:")
else:
    summary.caption(f"{result.total} events; showing {(result.page - 1) * PAGE_SIZE + 1}–"
               f"{(result.page - 1) * PAGE_SIZE + len(result.rows)}, newest first.")
    st.dataframe(
        pd.DataFrame([{"When (UTC)": r.at.replace(tzinfo=None), "User": r.actor,
                       "Action": r.action, "Patient": r.patient_ref or "",
                       "Detail": r.detail} for r in result.rows]),
        hide_index=True, width="stretch",
        column_config={
            "When (UTC)": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm:ss"),
            "Detail": st.column_config.TextColumn(width="large"),
        })

# Every run: audits a visit, a change of filters or of page (not a rerun), and the export.
audit_list_view("audit log", marker=AUDIT_LOG_DOWNLOAD_KEY, rows=len(result.rows),
                scope={**flt.describe(), "page": result.page}, counts={"matching": result.total})
audit_log_download(flt, user)
