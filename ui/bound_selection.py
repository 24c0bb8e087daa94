"""A table whose row selection opens a record, bound to the rows the person saw.

``st.dataframe`` reports a selection as row positions. The server maps them
onto the rows it computes on the click's run; when those changed since the
table was drawn (someone saved, a cache expired, today turned into tomorrow),
position 3 is another patient than the one clicked. So the table's key is
derived from the records it lists, in order: a selection made on another list
arrives for a widget that is no longer drawn and is dropped, and
:func:`selection_outdated` says so instead of opening anything.
"""
from __future__ import annotations

import hashlib
from collections.abc import Sequence

import streamlit as st

OUTDATED_MESSAGE = ("The list changed just before your click (someone saved a change, or it "
                    "was refreshed), so nothing was opened. Select the patient again.")


def table_key(prefix: str, ids: Sequence[object]) -> str:
    """``prefix`` plus a digest of the listed records' ids in their order."""
    digest = hashlib.sha256("\x1f".join(map(str, ids)).encode()).hexdigest()[:16]
    return f"{prefix}_{digest}"


def selection_outdated(prefix: str, key: str) -> bool:
    """True when the table ``prefix`` was drawn last with other rows than ``key`` lists
    and the browser has just sent a selection made on those rows. Call it on every
    run that draws the table, before drawing it."""
    drawn_key = f"{prefix}__drawn"
    before = st.session_state.get(drawn_key)
    st.session_state[drawn_key] = key
    if before is None or before == key:
        return False
    try:  # the old table's state lives until the end of this run
        state = st.session_state[before]
    except KeyError:
        return False
    selection = state.get("selection", {}) if hasattr(state, "get") else {}
    return bool(selection.get("rows") or selection.get("cells"))


def say_outdated() -> None:
    st.warning(OUTDATED_MESSAGE, icon=":material/sync_problem:")
