"""Import (admin, medical director): upload the clinic's CSV export, check it
with a dry run, then import it in one transaction. A broken upload changes nothing.

Account changes (accounts created, roles changed) are refused for the medical
director; an admin sees them listed after the check and must tick a
confirmation that names them before Import is enabled. Patients given another
therapist are listed too (only the medical director's import may do that)."""
import streamlit as st

from ui.access import audit_event, require_page_access
from ui.import_view import (
    confirmation_key,
    confirmation_label,
    fingerprint,
    known_files_caption,
    run_import,
    show_account_changes,
    show_problems,
    show_reassignments,
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
checked_files, outcome = st.session_state.get(OUTCOME, (None, None))
ready = st.session_state.get(CHECKED) == current
# The account changes the last check of these files listed, and whether the
# confirmation naming them (drawn below, read here from its last run) is ticked.
changes = outcome.summary.account_changes if ready and outcome and outcome.summary else []
confirmed = bool(changes) and bool(st.session_state.get(confirmation_key(current, changes)))
can_import = ready and (not changes or confirmed)

check_col, import_col = st.columns(2)
if check_col.button("1. Check the files (dry run)", type="primary", width="stretch"):
    with st.spinner("Checking every row…"):
        outcome = run_import(user, files, dry_run=True)
    summary = outcome.summary
    audit_event("import.check", files=sorted(f.name for f in files),
                problems=outcome.total_problems, refused=bool(outcome.refusal),
                account_changes=len(summary.account_changes) if summary else 0,
                reassignments=len(summary.reassignments) if summary else 0)
    st.session_state[CHECKED] = current if summary else None
    st.session_state[OUTCOME] = (current, outcome)
    changes = summary.account_changes if summary else []
    confirmed = bool(changes) and bool(st.session_state.get(confirmation_key(current, changes)))
    can_import = summary is not None and (not changes or confirmed)

help_text = None
if not can_import:
    help_text = ("Confirm the account changes listed below first." if changes
                 else "Check these exact files first (step 1).")
if import_col.button("2. Import", disabled=not can_import, width="stretch", help=help_text):
    bar = st.progress(0.0, text="Starting…")
    result = run_import(user, files, dry_run=False, bar=bar,
                        confirmed=changes if confirmed else ())
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
        summary = outcome.summary
        st.success(f"No problems. Importing will add {summary.added:,} and change "
                   f"{summary.changed:,} records; {summary.unchanged:,} are "
                   "already as in the files. Press Import to write them.",
                   icon=":material/fact_check:")
        show_summary(summary)
        if summary.reassignments:
            st.warning(f"This import gives {len(summary.reassignments):,} patient(s) another "
                       "therapist:", icon=":material/swap_horiz:")
            show_reassignments(summary)
        if summary.account_changes:
            st.warning(f"This import changes {len(summary.account_changes):,} staff "
                       "account(s). Each change ends that person's sign-in sessions.",
                       icon=":material/manage_accounts:")
            show_account_changes(summary)
            st.checkbox(confirmation_label(summary.account_changes),
                        key=confirmation_key(current, summary.account_changes))
    elif outcome.summary is not None:
        summary = outcome.summary
        st.success(f"Imported: {summary.added:,} added, {summary.changed:,} "
                   f"changed, {summary.unchanged:,} unchanged.",
                   icon=":material/check_circle:")
        show_summary(summary)
        if summary.account_changes or summary.reassignments:
            st.caption(f"{len(summary.account_changes):,} account change(s) and "
                       f"{len(summary.reassignments):,} reassignment(s) applied; each is in "
                       "the audit log.")
