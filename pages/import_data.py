"""Import (admin, medical director): upload the clinic's CSV export, check it
with a dry run, then import it in one transaction. A broken upload changes nothing."""
import streamlit as st

from ui.access import audit_event, require_page_access
from ui.import_view import (
    fingerprint,
    known_files_caption,
    run_import,
    show_problems,
    show_summary,
)
from ui.pages import title_for

CHECKED = "import_checked"  # fingerprint of the upload whose dry run passed
OUTCOME = "import_outcome"  # (fingerprint, Outcome) of the last check or import

user = require_page_access(__file__)
st.title(title_for(__file__, user.role))
st.caption(known_files_caption() + ". The format is described in docs/csv-format.md.")

files = st.file_uploader("CSV files", type="csv", accept_multiple_files=True, key="im_files")
if not files:
    st.info("Choose one or more CSV files. They are checked first; nothing is written until "
            "you confirm.", icon=":material/upload_file:")
    st.stop()

current = fingerprint(files)
check_col, import_col = st.columns(2)
if check_col.button("1. Check the files (dry run)", type="primary", width="stretch"):
    with st.spinner("Checking every row…"):
        outcome = run_import(user, files, dry_run=True)
    audit_event("import.check", files=sorted(f.name for f in files),
                problems=outcome.total_problems, refused=bool(outcome.refusal))
    st.session_state[CHECKED] = current if outcome.summary else None
    st.session_state[OUTCOME] = (current, outcome)

ready = st.session_state.get(CHECKED) == current
if import_col.button("2. Import", disabled=not ready, width="stretch",
                     help=None if ready else "Check these exact files first (step 1)."):
    bar = st.progress(0.0, text="Starting…")
    result = run_import(user, files, dry_run=False, bar=bar)
    st.session_state[CHECKED] = None
    st.session_state[OUTCOME] = (current, result)
    if result.summary is not None:
        bar.progress(1.0, text="Done")

checked_files, outcome = st.session_state.get(OUTCOME, (None, None))
if outcome is not None and checked_files == current:
    if outcome.refusal:
        st.error(outcome.refusal, icon=":material/error:")
    elif outcome.problems:
        show_problems(outcome)
    elif outcome.summary is not None and outcome.summary.dry_run:
        st.success(f"No problems. Importing will add {outcome.summary.added:,} and change "
                   f"{outcome.summary.changed:,} records; {outcome.summary.unchanged:,} are "
                   "already as in the files. Press Import to write them.",
                   icon=":material/fact_check:")
        show_summary(outcome.summary)
    elif outcome.summary is not None:
        st.success(f"Imported: {outcome.summary.added:,} added, {outcome.summary.changed:,} "
                   f"changed, {outcome.summary.unchanged:,} unchanged.",
                   icon=":material/check_circle:")
        show_summary(outcome.summary)
