"""What every data-entry form shares: messages beside the fields, the version a
form was drawn from, a message that survives the rerun after a save, and
clearing cached views so every page shows the change at once.

And the record a form is for (:class:`RecordScope`, :func:`record_form`): every
form names its record in its own container, its widgets are keyed by the
record's id (so switching record starts every form afresh and nothing of the
previous record is shown under the new name), and the id bound when the form was
drawn is checked again at submit. Date fields take any date a person can type
(:func:`date_field`): the check is ``db.recording``'s, with a message beside the
field, never the widget's own bounds (out of them, Streamlit keeps sending the
last valid value while the field shows red)."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

import pandas as pd
import streamlit as st

from db.recording import AccessDenied, RecordChanged, ValidationError
from db.staff import StaffError

from . import compliance_data, team_meeting_data
from .database import db_session
from .text import md_escape

T = TypeVar("T")
FLASH_KEY = "kap_flash"
SEEN_KEY = "kap_seen_versions"
BOUND_KEY = "kap_form_bound"
# Wide enough for any four-digit year typed: what is typed reaches the server.
DATE_FIELD_MIN = date(1000, 1, 1)
DATE_FIELD_MAX = date(9999, 12, 31)
WRONG_RECORD = ("This form was drawn for {drawn}, not for {now} shown now: nothing was saved. "
                "Check the record named above the form and enter it again.")


class FieldSlots:
    """An empty slot under each field, filled with that field's message on a failed save."""

    def __init__(self) -> None:
        self.slots: dict[str, Any] = {}

    def slot(self, field: str) -> None:
        self.slots[field] = st.empty()

    def show(self, errors: dict[str, str]) -> None:
        leftover = []
        for field, message in errors.items():
            if field in self.slots:
                self.slots[field].error(md_escape(message), icon=":material/error:")
            else:
                leftover.append(message)
        for message in leftover:
            st.error(md_escape(message), icon=":material/error:")


def seen_version(kind: str, record_id: int, fresh: int) -> int:
    """The version this user's form showed (drawn on the previous run); remembers ``fresh``.

    A save passes what the user saw, not what is in the database now, so a
    change made by someone else in between is caught instead of overwritten.
    """
    store = st.session_state.setdefault(SEEN_KEY, {})
    seen = store.get((kind, record_id), fresh)
    store[(kind, record_id)] = fresh
    return seen


def forget_versions() -> None:
    st.session_state.pop(SEEN_KEY, None)


def flash(message: str, where: str = "top") -> None:
    """Say ``message`` on the next run (after st.rerun), where ``show_flash(where)`` is called.

    A form's confirmation goes right under that form: the page keeps its
    scroll position after a save, so a message at the top would go unseen.
    """
    st.session_state[FLASH_KEY] = (where, message)


def show_flash(where: str = "top") -> None:
    held = st.session_state.get(FLASH_KEY)
    if held and held[0] == where:
        del st.session_state[FLASH_KEY]
        st.success(md_escape(held[1]), icon=":material/check_circle:")


def fresh_choice(key: str, options: list, ids: list[int]) -> None:
    """Move a picker back to its first option when its options changed (e.g. after a
    save), instead of keeping an old choice. Setting the value (not just forgetting
    it) is what makes the browser show the new choice."""
    seen = f"{key}__options"
    if st.session_state.get(seen) != ids:
        st.session_state[key] = options[0]
        st.session_state[seen] = ids


def changed_views() -> None:
    """Every cached view may now be out of date: caseload, compliance, team meeting
    (after a save in the app, or a change of the protocol settings).

    Compliance rows and the team meeting are kept with st.cache_resource (they are
    immutable), which st.cache_data.clear() does not reach, so they are cleared by name.
    """
    st.cache_data.clear()
    compliance_data.clear()
    team_meeting_data.load_team_meeting.clear()


def save(slots: FieldSlots, write: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
    """Run one ``db.recording``/``db.staff`` write in its own session; show what went wrong.

    Returns the write's result, or None after showing the field messages, the
    refusal, or the record as someone else just saved it.
    """
    try:
        with db_session() as session:
            result = write(session, *args, **kwargs)
            # db.recording commits itself; db.staff leaves it to the caller.
            session.commit()
    except ValidationError as invalid:
        slots.show(invalid.errors)
        return None
    except StaffError as invalid:
        slots.show({invalid.field or "_": str(invalid)})
        return None
    except AccessDenied as denied:
        st.error(md_escape(str(denied)), icon=":material/block:")
        return None
    except RecordChanged as changed:
        st.warning(md_escape(str(changed)), icon=":material/sync_problem:")
        if changed.current:
            show_values(changed.current)
        return None
    changed_views()
    return result


def show_values(values: dict[str, Any]) -> None:
    rows = [{"Field": k.replace("_", " "), "Now saved as": "—" if v is None else str(v)}
            for k, v in values.items() if k != "version"]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")


def labelled(options: Iterable[T], label: Callable[[T], str]) -> dict[str, T]:
    """Options keyed by their display label, for a selectbox."""
    return {label(o): o for o in options}


def date_field(label: str, *, value: date | None, key: str, **kwargs: Any) -> date | None:
    """A date input that sends whatever date is typed (any four-digit year): bounds are
    checked by ``db.recording``, whose message goes beside the field."""
    return st.date_input(label, value=value, min_value=DATE_FIELD_MIN, max_value=DATE_FIELD_MAX,
                         format="YYYY-MM-DD", key=key, **kwargs)


@dataclass(frozen=True)
class RecordScope:
    """The record a page's forms are drawn for: ``kind`` ('patient'), its id and how a
    person names it ('Rosa Brown (KAP-000012)')."""

    kind: str
    id: int
    label: str

    def key(self, name: str) -> str:
        """A widget or form key of this record: another record's widgets are other widgets."""
        return f"{name}_{self.id}"

    def flash(self, where: str, message: str) -> None:
        flash(message, where=self.key(where))

    def show_flash(self, where: str) -> None:
        show_flash(self.key(where))

    def name_it(self) -> None:
        """The record's name, in the container where it is called."""
        st.caption(f"For {md_escape(self.label)}")


class RecordForm:
    """A form drawn for one record (see :func:`record_form`)."""

    def __init__(self, scope: RecordScope, key: str, drawn_for: Any) -> None:
        self.scope = scope
        self.key = key
        self.drawn_for = drawn_for

    def submitted(self, label: str, **kwargs: Any) -> bool:
        """The submit button; True only when it was pressed on the form drawn for this record.

        A press on a form last drawn for another record is refused with a message,
        and the caller saves nothing.
        """
        if not st.form_submit_button(label, **kwargs):
            return False
        if self.drawn_for is not None and self.drawn_for[:2] != (self.scope.kind, self.scope.id):
            st.error(md_escape(WRONG_RECORD.format(drawn=self.drawn_for[2], now=self.scope.label)),
                     icon=":material/block:")
            return False
        return True


@contextmanager
def record_form(scope: RecordScope, name: str, title: str | None = None,
                **form_kwargs: Any) -> Iterator[RecordForm]:
    """``st.form`` for ``scope``'s record: keyed by its id, titled, and naming the record.

    The record the form was drawn for is remembered under the form's key and
    checked by :meth:`RecordForm.submitted` on the next run.
    """
    key = scope.key(name)
    bound = st.session_state.setdefault(BOUND_KEY, {})
    drawn_for = bound.get(key)
    with st.form(key, **form_kwargs):
        if title:
            st.markdown(f"**{md_escape(title)}**")
        scope.name_it()
        yield RecordForm(scope, key, drawn_for)
    bound[key] = (scope.kind, scope.id, scope.label)
