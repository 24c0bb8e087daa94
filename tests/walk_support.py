"""The seeded random walk of tests/test_browser_walk.py: a person clicking through
Record care (medical director, every tab) and Users (admin) in one real Chromium,
and after every step the database and the audit trail asked what really happened.

The oracle is the database, read directly with SQLAlchemy:

* a **fingerprint** of every record (each patient with their sessions, series,
  infusions, scores, habits and check-ins; each staff account with its sessions)
  taken before and after the step; the records whose fingerprint changed are the
  records the step wrote to;
* the **audit events** written during the step.

A save must change exactly the record named on screen when the button was
pressed (and its audit events name that record); an invalid entry, a tab, a
pick or a trip to another page must change nothing; after every step what is on
screen (header, tables, form values) must be the chosen record's, as
``db.queries.record_care`` reads it.
"""
from __future__ import annotations

import json
import logging
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from random import Random

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.engine import make_engine, session_factory
from db.models import (
    INSTRUMENT_MAX,
    AuditEvent,
    AuthSession,
    Habit,
    HabitLog,
    Infusion,
    OutcomeMeasure,
    Patient,
    Staff,
    TherapySession,
    TreatmentSeries,
)
from db.queries import record_care as q
from db.recording import fmt_day
from tests.browser_support import SETTLED
from ui.pages import ROLE_LABELS

# The form modules cache with st.cache_data at import, which warns without a
# running app: the labels below are all the walk takes from them.
logging.getLogger("streamlit.runtime.caching.cache_data_api").setLevel(logging.ERROR)
from ui.record_care_treatment import OUTCOMES as INFUSION_OUTCOMES  # noqa: E402
from ui.record_care_view import BOOKING_CHOICES, OUTCOME_CHOICES  # noqa: E402

# Audit actions that change a record (db.recording and db.staff); any other
# action (a view, a download) is only allowed, never expected.
PATIENT_CHANGES = {"measure.add", "session.book", "session.status", "patient.add",
                   "patient.update", "patient.reassign", "series.start", "infusion.schedule",
                   "infusion.book", "infusion.status", "series.discontinue", "habit.add",
                   "habit.end", "habit.week"}
USER_CHANGES = {"user.add", "user.set_password", "user.deactivate", "user.change_role",
                "user.reactivate"}
REFUSALS = ("record.refused", "view_denied")
TABS = ("Sessions", "Infusions", "Habits", "Scores", "Patient")
AWAY_PAGES = ("Caseloads", "Team meeting", "Audit log")
USERS_AWAY_PAGES = ("Audit log", "Import")
# The walk's own accounts: acting on them would sign the walk out.
OWN_ACCOUNTS = ("director", "admin")
FIRST_NAMES = ("Ana", "Ben", "Chloe", "Dev", "Eli", "Farah", "Gus", "Hana", "Ivo", "June")
NOT_RUNNING_MS = 120
PROFILE = bool(os.environ.get("WALK_PROFILE"))
# A step's own element waits; a rerun on two busy cores takes seconds, not tens.
STEP_TIMEOUT_MS = 30_000
STARTED = "[data-testid='stApp']:not([data-test-script-state='notRunning'])"


class WalkFailure(AssertionError):
    pass


# Seconds spent per phase (waiting for reruns, reading the screen, asking the
# database), to tell where a slow walk spends its time.
PHASES: dict[str, float] = {}


def timed(phase: str):
    def wrap(fn):
        def run(*args, **kwargs):
            started = time.monotonic()
            try:
                return fn(*args, **kwargs)
            finally:
                PHASES[phase] = PHASES.get(phase, 0.0) + time.monotonic() - started
        return run
    return wrap


# --------------------------------------------------------------------------- the database

class Oracle:
    """Direct reads of the app server's database."""

    def __init__(self, database_url: str) -> None:
        self.engine = make_engine(database_url)
        self.factory = session_factory(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    def session(self) -> Session:
        return self.factory()

    def fingerprint(self) -> dict[tuple, tuple]:
        """(owner kind, owner, what) -> a summary that changes whenever a row of it changes."""
        fp: dict[tuple, tuple] = {}
        with self.session() as s:
            charts = dict(s.execute(select(Patient.id, Patient.patient_id)).all())
            for row in s.execute(select(Patient.patient_id, Patient.version, Patient.first_name,
                                        Patient.last_name, Patient.date_of_birth,
                                        Patient.intake_date, Patient.intentions,
                                        Patient.therapist_id)):
                fp[("p", row[0], "patient")] = tuple(row[1:])

            def per_patient(what: str, stmt) -> None:
                for pk, *rest in s.execute(stmt):
                    fp[("p", charts[pk], what)] = tuple(rest)

            per_patient("sessions", select(TherapySession.patient_id, func.count(),
                                           func.sum(TherapySession.version),
                                           func.max(TherapySession.id))
                        .group_by(TherapySession.patient_id))
            per_patient("series", select(TreatmentSeries.patient_id, func.count(),
                                         func.sum(TreatmentSeries.version),
                                         func.max(TreatmentSeries.id))
                        .group_by(TreatmentSeries.patient_id))
            per_patient("infusions", select(TreatmentSeries.patient_id, func.count(),
                                            func.sum(Infusion.version), func.max(Infusion.id))
                        .join(TreatmentSeries, TreatmentSeries.id == Infusion.series_id)
                        .group_by(TreatmentSeries.patient_id))
            per_patient("scores", select(OutcomeMeasure.patient_id, func.count(),
                                         func.max(OutcomeMeasure.id), func.sum(OutcomeMeasure.score))
                        .group_by(OutcomeMeasure.patient_id))
            per_patient("habits", select(Habit.patient_id, func.count(), func.sum(Habit.version),
                                         func.max(Habit.id))
                        .group_by(Habit.patient_id))
            per_patient("checkins", select(Habit.patient_id, func.count(), func.max(HabitLog.id))
                        .join(Habit, Habit.id == HabitLog.habit_id)
                        .where(HabitLog.completed.is_(True))
                        .group_by(Habit.patient_id))
            names = {}
            for row in s.execute(select(Staff.username, Staff.id, Staff.version, Staff.active,
                                        Staff.role, Staff.password_hash,
                                        Staff.must_change_password, Staff.full_name)):
                names[row[1]] = row[0]
                fp[("u", row[0], "staff")] = tuple(row[2:])
            for staff_id, ended in s.execute(
                    select(AuthSession.staff_id, func.count()).where(AuthSession.ended_at.is_not(None))
                    .group_by(AuthSession.staff_id)):
                fp[("u", names[staff_id], "ended_sessions")] = (ended,)
        return fp

    def last_audit_id(self) -> int:
        with self.session() as s:
            return s.scalar(select(func.max(AuditEvent.id))) or 0

    def audit_after(self, last_id: int) -> list[AuditEvent]:
        with self.session() as s:
            rows = s.scalars(select(AuditEvent).where(AuditEvent.id > last_id)
                             .order_by(AuditEvent.id)).all()
            s.expunge_all()
            return list(rows)

    def patient_pk(self, chart: str) -> int:
        with self.session() as s:
            return s.scalar(select(Patient.id).where(Patient.patient_id == chart))

    def users(self) -> dict[str, Staff]:
        with self.session() as s:
            rows = s.scalars(select(Staff)).all()
            s.expunge_all()
            return {r.username: r for r in rows}


def changed_owners(before: dict, after: dict) -> set[tuple[str, str]]:
    return {(k[0], k[1]) for k in set(before) | set(after) if before.get(k) != after.get(k)}


# --------------------------------------------------------------------------- the browser

@timed("waiting for reruns")
def settle(page, started_ms: int = 1500) -> None:
    """Wait for the rerun an action caused: until it started (if it was not over
    already), then until the script stays stopped for a moment."""
    try:
        page.wait_for_selector(STARTED, timeout=started_ms)
    except Exception:  # noqa: BLE001 - the rerun was quicker than the look
        pass
    for _ in range(3):
        page.wait_for_selector(SETTLED)
        page.wait_for_timeout(NOT_RUNNING_MS)
        if page.locator(SETTLED).count():
            return


def type_date(container, label: str, day: date) -> None:
    field_ = container.get_by_test_id("stDateInput").filter(
        has=container.page.get_by_text(label, exact=True)).first
    field_.locator("[data-type='year']").click()
    container.page.keyboard.type(day.strftime("%Y%m%d"))


def fill_number(container, label: str, value) -> None:
    box = container.get_by_role("spinbutton", name=label, exact=True)
    box.fill("" if value is None else str(value))


def choose(page, container, label: str, option: str | re.Pattern) -> None:
    """A selectbox: open it and pick the option (a name or a pattern). A click on a
    box that already has the focus can close the list again: then try once more."""
    box = container.get_by_role("combobox", name=label, exact=True).last
    current = box.input_value()
    if (option == current if isinstance(option, str) else option.search(current)):
        return
    wanted = page.get_by_role("option", name=option, exact=isinstance(option, str)).first
    for attempt in range(3):
        box.click()
        try:
            wanted.wait_for(timeout=3000)
            break
        except Exception:  # noqa: BLE001 - the list did not open: close, try again
            page.keyboard.press("Escape")
            if attempt == 2:
                raise
    wanted.click()


def select_value(container, label: str) -> str:
    box = container.get_by_role("combobox", name=label, exact=True)
    return box.first.input_value() if box.count() else ""


GRID_ROWS_JS = """grid => Array.from(grid.querySelectorAll("[role='row']"))
    .map(row => Array.from(row.querySelectorAll("[role='gridcell']"))
        .map(cell => cell.innerText.split(/\\s+/).filter(Boolean).join(" ")))
    .filter(cells => cells.length)"""


def grid_rows(container, expected: int = 0) -> list[list[str]]:
    """The rows of the first data grid drawn in ``container`` (its accessible mirror).

    The grid fills its mirror once it is in view and drawn: scroll to it, and give
    it a moment when rows are expected but none are mirrored yet."""
    grid = container.locator("[data-testid='stDataFrame']")
    if not grid.count():
        return []
    grid = grid.first
    out: list[list[str]] = []
    for attempt in range(12):
        if attempt == 1:
            grid.scroll_into_view_if_needed()
        out = grid.evaluate(GRID_ROWS_JS)
        if out or not expected:
            return out
        container.page.wait_for_timeout(250)
    return out


def has_error(container, timeout_ms: int = 6000) -> bool:
    """A message says what is wrong (the rerun that draws it may still be on its way)."""
    message = container.locator(
        "[data-testid='stAlertContentError'], [data-testid='stAlertContainer']").or_(
        container.get_by_text(re.compile("outside allowed range|Error:")))
    try:
        message.first.wait_for(timeout=timeout_ms)
        return True
    except Exception:  # noqa: BLE001 - no message came
        return False


def confirm_dialog(page) -> bool:
    """Press the confirming button of a confirmation dialog, when one opened."""
    dialog = page.get_by_role("dialog")
    try:
        dialog.wait_for(timeout=1000)
    except Exception:  # noqa: BLE001 - no confirmation asked
        return False
    buttons = dialog.locator("button[kind='primary'], [data-testid='stBaseButton-primary']")
    buttons.first.click()
    settle(page)
    return True


# --------------------------------------------------------------------------- the walk

@dataclass
class Step:
    number: int
    area: str
    kind: str
    detail: str = ""
    seconds: float = 0.0

    def __str__(self) -> str:
        return f"{self.number:>3} {self.area}:{self.kind} {self.detail}".rstrip()


@dataclass
class Walk:
    seed: int
    steps_wanted: int
    oracle: Oracle
    rc_page: object           # signed in as the medical director, on Record care
    users_page: object        # signed in as admin, on Users
    today: date
    rng: Random = field(init=False)
    steps: list[Step] = field(default_factory=list)
    charts: list[str] = field(default_factory=list)
    chart: str | None = None
    user: str | None = None
    counter: int = 0
    records_seen: set = field(default_factory=set)
    # Patients whose details form holds a refused entry: it keeps what was typed.
    typed_details: set = field(default_factory=set)

    def __post_init__(self) -> None:
        self.rng = Random(self.seed)

    # ------------------------------------------------------------------ running
    def run(self) -> None:
        for page in (self.rc_page, self.users_page):
            page.set_default_timeout(STEP_TIMEOUT_MS)
        with self.oracle.session() as s:
            every = s.scalars(select(Patient.patient_id).order_by(Patient.patient_id)).all()
        self.charts = self.rng.sample(list(every), min(12, len(every)))
        self.fp = self.oracle.fingerprint()
        self.audit_id = self.oracle.last_audit_id()
        self.open_record_care()
        self.open_users()
        for number in range(1, self.steps_wanted + 1):
            area = "rc" if self.rng.random() < 0.72 else "users"
            kinds = (("pick", 20), ("tab", 20), ("save", 28), ("invalid", 22), ("away", 10))
            if area == "users":
                kinds = (("pick", 30), ("save", 35), ("invalid", 25), ("away", 10))
            kind = self.rng.choices([k for k, _ in kinds], [w for _, w in kinds])[0]
            step = Step(number, area, kind)
            self.steps.append(step)
            started = time.monotonic()
            try:
                getattr(self, f"{area}_{kind}")(step)
            except WalkFailure:
                raise
            except Exception as exc:  # a locator that timed out: the screen was not as expected
                raise WalkFailure(f"step {step} could not be done: {type(exc).__name__}: "
                                  f"{str(exc).splitlines()[0] if str(exc) else ''}") from exc
            step.seconds = time.monotonic() - started
            if PROFILE:
                print(f"{step.seconds:6.2f} s  {step}", flush=True)

    def replay_text(self) -> str:
        return (f"WALK_SEED={self.seed} WALK_STEPS={self.steps_wanted}\n"
                + "\n".join(str(s) for s in self.steps))

    def fail(self, step: Step, message: str) -> None:
        raise WalkFailure(f"step {step}: {message}")

    # ------------------------------------------------------------------ the oracle's verdict
    @timed("database and audit checks")
    def verdict(self, step: Step, *, owner: tuple[str, str] | None, actions: set[str] | None = None,
                must_change: bool = False) -> None:
        """After a step: only ``owner`` (the record named on screen at the click) may
        have changed, and only if the step saved; its audit events name it."""
        after = self.oracle.fingerprint()
        changed = changed_owners(self.fp, after)
        for _ in range(10):  # a save still on its way (a rerun that started late)
            if not must_change or owner in changed:
                break
            time.sleep(0.5)
            after = self.oracle.fingerprint()
            changed = changed_owners(self.fp, after)
        events = self.oracle.audit_after(self.audit_id)
        self.fp = after
        if events:
            self.audit_id = events[-1].id
        allowed = {owner} if owner else set()
        if changed - allowed:
            self.fail(step, f"records changed that were not the one named on screen "
                            f"({owner[1] if owner else 'none: nothing should be saved'}): "
                            f"{sorted(changed - allowed)}")
        if must_change and owner not in changed:
            self.fail(step, f"a valid entry for {owner[1]} saved nothing")
        for e in events:
            if any(r in e.action for r in REFUSALS):
                self.fail(step, f"refused on the server: {e.action} {e.patient_ref} {e.detail}")
            if e.action in PATIENT_CHANGES | USER_CHANGES:
                if not owner or (actions is not None and e.action not in actions):
                    self.fail(step, f"unexpected change in the audit log: {e.action} "
                                    f"{e.patient_ref} {e.detail}")
                named = (e.patient_ref if owner[0] == "p"
                         else json.loads(e.detail or "{}").get("username"))
                if named != owner[1]:
                    self.fail(step, f"audit event {e.action} names {named!r}, the screen named "
                                    f"{owner[1]!r} at the click")
        if must_change and not any(e.action in (actions or set()) for e in events):
            self.fail(step, f"the save of {owner[1]} left no {sorted(actions or [])} audit event")

    # ------------------------------------------------------------------ Record care: screen
    def open_record_care(self) -> None:
        page = self.rc_page
        page.get_by_role("link", name="Record care").first.click()
        settle(page)
        self.rc_choose(self.charts[0])

    def rc_shown_chart(self) -> str | None:
        caption = self.rc_page.get_by_test_id("stMain").get_by_text(re.compile(r"^Chart \S+ ·"))
        if not caption.count():
            return None
        return caption.first.inner_text().split()[1]

    def rc_active_tab(self) -> str:
        tab = self.rc_page.locator("[role='tab'][aria-selected='true']")
        return tab.first.inner_text().strip() if tab.count() else "Sessions"

    def rc_panel(self):
        return self.rc_page.get_by_role("tabpanel")

    @timed("reading the screen")
    def rc_check_screen(self, step: Step | None) -> None:
        self.eventually(self._rc_check_screen, step, self.rc_page)

    @timed("reading the screen")
    def users_check_screen(self, step: Step | None) -> None:
        self.eventually(self._users_check_screen, step, self.users_page)

    def eventually(self, check, step, page) -> None:
        """A screen is judged once it has settled: a rerun can follow another (a dialog
        closing, a flash message) a moment after the first one ended. A wrong record
        that stays on screen fails; one glimpsed between two reruns is looked at again."""
        for attempt in range(4):
            try:
                check(step)
                return
            except Exception:  # noqa: BLE001 - a wrong screen, or an element gone in mid-read
                if attempt == 3:
                    raise
            settle(page, started_ms=300)
            page.wait_for_timeout(600 * 2 ** attempt)  # 0.6, 1.2, 2.4 s: two busy cores

    def _rc_check_screen(self, step: Step | None) -> None:
        """Everything on screen belongs to the chosen patient, as the database has it."""
        step = step or Step(0, "rc", "open")
        page = self.rc_page
        shown = self.rc_shown_chart()
        if shown != self.chart:
            self.fail(step, f"the header names {shown!r}, the patient chosen was {self.chart!r}")
        pk = self.oracle.patient_pk(self.chart)
        with self.oracle.session() as s:
            form = q.patient_form(s, pk)
            sessions = q.patient_sessions(s, pk, self.today)
            series = q.patient_series(s, pk)
            scores = q.recent_scores(s, pk)
        main = page.get_by_test_id("stMain")
        name = f"{form.first_name} {form.last_name}"
        headings = [" ".join(h.split()) for h in main.locator("[data-testid='stHeading']").all_inner_texts()]
        if name not in headings:
            self.fail(step, f"no heading names {name} ({self.chart}); headings: {headings}")
        picker = select_value(main, "Patient")
        if self.chart not in picker:
            self.fail(step, f"the Patient picker shows {picker!r} under {self.chart}")
        tab = self.rc_active_tab()
        panel = self.rc_panel()
        if tab == "Sessions":
            want = [[fmt_day(i.date), i.kind.title()] for i in sessions]
            def got():
                return [r[:2] for r in grid_rows(panel, len(want))]
            self.same_rows(step, "sessions", want, got(), got)
        elif tab == "Infusions":
            if series:
                label = select_value(panel, "Series")
                match = [x for x in series if x.label == label]
                if not match:
                    self.fail(step, f"Series picker shows {label!r}; {self.chart} has "
                                    f"{[x.label for x in series]}")
                cur = match[0]
                done = sum(1 for i in cur.infusions if i.status == "completed")
                booked = sum(1 for i in cur.infusions if i.status == "scheduled")
                text = f"{done} of {cur.planned_infusions} infusions completed, {booked} booked."
                if not panel.get_by_text(text).count():
                    captions = panel.locator("[data-testid='stCaptionContainer']").all_inner_texts()
                    self.fail(step, f"Infusions shows {captions}, {self.chart}'s {cur.label} "
                                    f"has {text!r}")
                want = [[fmt_day(i.date), i.status] for i in cur.infusions]
                def got():
                    return [r[:1] for r in grid_rows(panel, len(want))]
                self.same_rows(step, "infusions", [w[:1] for w in want], got(), got)
                if cur.status == "active" and booked and not panel.get_by_role(
                        "button", name="Save infusion").count():
                    self.fail(step, f"{self.chart} has {booked} booked infusion(s) but the "
                                    "'Record an infusion' form is not shown")
            elif not panel.get_by_role("button", name="Start series").count():
                self.fail(step, f"{self.chart} has no series but no 'Start series' form is shown")
        elif tab == "Scores":
            want = [[fmt_day(x.date), x.instrument, str(x.score)] for x in scores]
            def got():
                return grid_rows(panel, len(want))
            self.same_rows(step, "scores", want, got(), got)
        elif tab == "Patient" and self.chart not in self.typed_details:
            for label, value in (("First name", form.first_name), ("Last name", form.last_name)):
                box = panel.get_by_role("textbox", name=label, exact=True)
                if box.count() and box.first.input_value() != value:
                    self.fail(step, f"Patient tab: {label} shows {box.first.input_value()!r}, "
                                    f"{self.chart} has {value!r}")
        elif tab == "Habits":
            week = self.habit_week_shown(panel)
            with self.oracle.session() as s:
                grid = q.habit_week(s, pk, week or self.today)
            for row in grid.rows:
                if not panel.get_by_text(f"{row.name} ({row.target_per_week}×)").count():
                    self.fail(step, f"Habits: {row.name} of {self.chart} is not in the week grid")
            boxes = panel.locator("[data-testid='stCheckbox']").count()
            if boxes != 7 * len(grid.rows):
                self.fail(step, f"Habits: {boxes} check boxes drawn, {self.chart} has "
                                f"{len(grid.rows)} habit(s) that week")

    def habit_week_shown(self, panel) -> date | None:
        caption = panel.get_by_text(re.compile(r"^Week of .*tick the days"))
        if not caption.count():
            return None
        words = caption.first.inner_text().split(":")[0].split()[3:6]
        try:
            return date(int(words[2]), time.strptime(words[1], "%b").tm_mon, int(words[0]))
        except (ValueError, IndexError):
            return None

    def same_rows(self, step: Step, what: str, want: list, got: list,
                  again: Callable[[], list] | None = None) -> None:
        """The table lists the chosen patient's rows and no others. The grid mirrors the
        rows it has drawn, a moment after it resized: wait for all of them a little,
        then insist on no foreign row and at least the first ones."""
        for _ in range(8):
            if got == want or again is None:
                break
            self.rc_page.wait_for_timeout(250)
            got = again()
        foreign = [g for g in got if g not in want]
        if foreign:
            self.fail(step, f"{what} table shows rows {self.chart} does not have: {foreign}; "
                            f"{self.chart} has {want}")
        if len(got) < min(len(want), 4):
            self.fail(step, f"{what} table shows {got}, {self.chart} has {want}")

    def rc_choose(self, chart: str, step: Step | None = None) -> None:
        page = self.rc_page
        main = page.get_by_test_id("stMain")
        search = main.get_by_role("textbox", name="Find a patient")
        with self.oracle.session() as s:
            last = s.scalar(select(Patient.last_name).where(Patient.patient_id == chart))
        # Sometimes by chart number, sometimes by surname (several matches).
        text = chart if self.rng.random() < 0.5 else last
        if search.count():
            search.fill(text)
            search.press("Enter")
            settle(page)
        if chart not in select_value(main, "Patient"):
            choose(page, main, "Patient", re.compile(re.escape(chart)))
            settle(page)
        self.chart = chart
        self.records_seen.add(("p", chart))
        self.rc_check_screen(step)

    def fresh_first(self, candidates: list[str], kind: str) -> list[str]:
        """Mostly a record not chosen yet, so that a short walk still covers many
        records; sometimes one seen before (coming back is where stale state shows)."""
        unseen = [c for c in candidates if (kind, c) not in self.records_seen]
        return unseen if unseen and self.rng.random() < 0.8 else candidates

    # ------------------------------------------------------------------ Record care: steps
    def rc_pick(self, step: Step) -> None:
        chart = self.rng.choice(self.fresh_first([c for c in self.charts if c != self.chart], "p"))
        if self.rng.random() < 0.2:
            step.detail = f"{chart} from the patient page's Record care button"
            self.rc_from_patient_page(chart, step)
        else:
            step.detail = chart
            self.rc_choose(chart, step)
        self.verdict(step, owner=None)

    def rc_from_patient_page(self, chart: str, step: Step) -> None:
        """Open the patient's record, then Record care from it: it must open on them."""
        page = self.rc_page
        page.get_by_role("link", name="Patient", exact=True).first.click()
        settle(page)
        search = page.get_by_test_id("stSidebar").get_by_role("textbox", name="Find a patient")
        search.fill(chart)
        search.press("Enter")  # a chart number in full opens that record at once
        settle(page)
        button = page.get_by_test_id("stMain").get_by_role("button", name="Record care")
        if not button.count():
            self.fail(step, f"the patient page of {chart} has no Record care button")
        button.first.click()
        settle(page)
        self.chart = chart
        self.records_seen.add(("p", chart))
        self.rc_check_screen(step)

    def rc_tab(self, step: Step) -> None:
        tab = self.rng.choice([t for t in TABS if t != self.rc_active_tab()])
        step.detail = tab
        self.rc_page.get_by_role("tab", name=tab, exact=True).click()
        self.rc_page.wait_for_timeout(150)
        self.rc_check_screen(step)
        self.verdict(step, owner=None)

    def rc_away(self, step: Step) -> None:
        page = self.rc_page
        title = self.rng.choice(AWAY_PAGES)
        step.detail = f"{title} and back"
        page.get_by_role("link", name=title).first.click()
        settle(page)
        page.get_by_role("link", name="Record care").first.click()
        settle(page)
        self.rc_check_screen(step)
        self.verdict(step, owner=None)

    def rc_save(self, step: Step) -> None:
        self._rc_entry(step, valid=True)

    def rc_invalid(self, step: Step) -> None:
        self._rc_entry(step, valid=False)

    def _rc_entry(self, step: Step, *, valid: bool) -> None:
        tab = self.rc_active_tab()
        panel = self.rc_panel()
        pk = self.oracle.patient_pk(self.chart)
        with self.oracle.session() as s:
            form = q.patient_form(s, pk)
            ctx = {"form": form, "sessions": q.patient_sessions(s, pk, self.today),
                   "all_sessions": {(d, k) for d, k in s.execute(
                       select(TherapySession.date, TherapySession.kind)
                       .where(TherapySession.patient_id == pk))},
                   "series": q.patient_series(s, pk),
                   "habits": {h for (h,) in s.execute(select(Habit.name).where(Habit.patient_id == pk))},
                   "scores": {(i, d) for i, d in s.execute(
                       select(OutcomeMeasure.instrument, OutcomeMeasure.date)
                       .where(OutcomeMeasure.patient_id == pk))}}
        act = getattr(self, f"_{tab.lower()}_{'valid' if valid else 'invalid'}")
        shown_at_click = self.rc_shown_chart()
        result = act(step, panel, ctx)
        if result is None:  # nothing sensible to enter on this record: a no-op step
            step.detail += " (nothing to enter)"
            self.verdict(step, owner=None)
            return
        actions = result
        settle(self.rc_page)
        if valid:
            self.verdict(step, owner=("p", shown_at_click), actions=actions, must_change=True)
            if tab == "Patient":
                self.typed_details.discard(shown_at_click)
        else:
            if tab == "Patient":
                self.typed_details.add(shown_at_click)
            self.verdict(step, owner=None)
            if not has_error(self.rc_panel()):
                self.fail(step, "an invalid entry was not saved, but no message says what is wrong")
        self.rc_check_screen(step)

    def _free_day(self, taken: Callable[[date], bool], lo: date, hi: date) -> date | None:
        days = [lo + timedelta(days=i) for i in range((hi - lo).days + 1)]
        self.rng.shuffle(days)
        return next((d for d in days if not taken(d)), None)

    def _sessions_valid(self, step, panel, ctx):
        form = ctx["form"]
        booked = [i for i in ctx["sessions"] if i.status == "scheduled"]
        if booked and self.rng.random() < 0.4:
            cancel = panel.get_by_role("button", name="Cancel booking…")
            if cancel.count() and self.rng.random() < 0.4:
                step.detail = f"cancel booking {select_value(panel, 'Booking to cancel')}"
                cancel.first.click()
                settle(self.rc_page)
                if not confirm_dialog(self.rc_page):
                    self.fail(step, "Cancel booking asked for no confirmation")
                return {"session.status"}
            box = panel.get_by_test_id("stForm").filter(has_text="Record how a booked session went")
            picked = select_value(box, "Booked session")
            day = next((i.date for i in booked if picked.startswith(fmt_day(i.date))), None)
            outcomes = [w for s_, w in OUTCOME_CHOICES.items()
                        if day and (day <= self.today or s_ == "cancelled")]
            if outcomes:
                outcome = self.rng.choice(outcomes)
                step.detail = f"record {picked} as {outcome}"
                box.get_by_text(outcome, exact=True).click()
                fill_number(box, "Duration (minutes, optional)", self.rng.choice([None, 50]))
                box.get_by_role("button", name="Save outcome").click()
                return {"session.status"}
        kind = self.rng.choice(["preparation", "integration"])
        lo = max(form.intake_date, self.today - timedelta(days=40))
        day = self._free_day(lambda d: (d, kind) in ctx["all_sessions"], lo,
                             self.today + timedelta(days=60))
        if day is None:
            return None
        allowed = [s_ for s_ in BOOKING_CHOICES
                   if (s_ == "scheduled" and day >= self.today)
                   or (s_ in ("attended", "no_show") and day <= self.today)
                   or s_ == "cancelled"]
        status = BOOKING_CHOICES[self.rng.choice(allowed)]
        step.detail = f"book {kind} {day} {status}"
        box = panel.get_by_test_id("stForm").filter(has_text="Book a session")
        box.get_by_text(kind.title(), exact=True).click()
        type_date(box, "Date", day)
        choose(self.rc_page, box, "Status", status)
        # Every field, also those left alone: a rejected entry before keeps what was typed.
        fill_number(box, "Duration (minutes, optional)", self.rng.choice([None, 45, 60]))
        box.get_by_role("button", name="Book session").click()
        return {"session.book"}

    # An invalid entry has one bad field and every other field valid, so that it
    # is that field's check (and not a leftover) that must keep it from saving.
    def _sessions_invalid(self, step, panel, ctx):
        box = panel.get_by_test_id("stForm").filter(has_text="Book a session")
        kind = self.rng.choice(["preparation", "integration"])
        box.get_by_text(kind.title(), exact=True).click()
        if self.rng.random() < 0.6:
            step.detail = f"book {kind} on 2099-01-01"
            type_date(box, "Date", date(2099, 1, 1))
            choose(self.rc_page, box, "Status", BOOKING_CHOICES["scheduled"])
            fill_number(box, "Duration (minutes, optional)", None)
        else:
            day = self._free_day(lambda d: (d, kind) in ctx["all_sessions"], self.today,
                                 self.today + timedelta(days=60))
            if day is None:
                return None
            minutes = self.rng.choice([0, 601, 5000])
            step.detail = f"book {kind} {day} for {minutes} minutes"
            type_date(box, "Date", day)
            choose(self.rc_page, box, "Status", BOOKING_CHOICES["scheduled"])
            fill_number(box, "Duration (minutes, optional)", minutes)
        box.get_by_role("button", name="Book session").click()
        return set()

    def _infusions_current(self, ctx):
        return ctx["series"][0] if ctx["series"] else None

    def _infusions_valid(self, step, panel, ctx):
        cur = self._infusions_current(ctx)
        if cur is None or cur.status != "active":
            kind = self.rng.choice(["Induction", "Booster"])
            step.detail = f"start a {kind} series"
            box = panel.get_by_test_id("stForm").filter(has_text="Start a new series").last
            if not box.get_by_role("button", name="Start series").is_visible():
                panel.get_by_text("Start a new series").first.click()
            box.get_by_text(kind, exact=True).click()
            fill_number(box, "Planned infusions (empty: the clinic's default)", None)
            box.get_by_role("button", name="Start series").click()
            return {"series.start"}
        booked = [i for i in cur.infusions if i.status == "scheduled"]
        if booked:
            box = panel.get_by_test_id("stForm").filter(has_text="Record an infusion")
            picked = select_value(box, "Booked infusion")
            day = next((i.date for i in booked if fmt_day(i.date) == picked), None)
            cancel = panel.get_by_role("button", name="Cancel infusion…")
            if cancel.count() and (day is None or day > self.today or self.rng.random() < 0.2):
                step.detail = f"cancel infusion {select_value(panel, 'Infusion to cancel')}"
                cancel.first.click()
                settle(self.rc_page)
                if not confirm_dialog(self.rc_page):
                    self.fail(step, "Cancel infusion asked for no confirmation")
                return {"infusion.status"}
            outcome = (INFUSION_OUTCOMES["completed"] if day and day <= self.today
                       else INFUSION_OUTCOMES.get("cancelled"))
            if outcome is None:
                return None
            step.detail = f"record infusion {picked} {outcome}"
            box.get_by_text(outcome, exact=True).click()
            if outcome == "Completed":
                fill_number(box, "Dose (mg/kg), when completed", self.rng.choice([0.5, 0.6, 0.75]))
                choose(self.rc_page, box, "Route, when completed", re.compile("^IV"))
            box.get_by_role("button", name="Save infusion").click()
            return {"infusion.status"}
        done = sum(1 for i in cur.infusions if i.status == "completed")
        if done >= cur.planned_infusions:
            return None
        step.detail = "book the series' infusions"
        box = panel.get_by_test_id("stForm").filter(has_text="Book the series' infusions")
        fill_number(box, "How many (empty: what the series still lacks)", None)
        box.get_by_role("button", name="Book infusions").click()
        return {"infusion.schedule", "infusion.book"}

    def _infusions_invalid(self, step, panel, ctx):
        cur = self._infusions_current(ctx)
        if cur is None:
            planned = self.rng.choice([0, 31, 99])
            step.detail = f"start a series of {planned}"
            box = panel.get_by_test_id("stForm").filter(has_text="Start a new series").last
            box.get_by_text("Induction", exact=True).click()
            fill_number(box, "Planned infusions (empty: the clinic's default)", planned)
            box.get_by_role("button", name="Start series").click()
            return set()
        if cur.status != "active":
            return None
        box = panel.get_by_test_id("stForm").filter(has_text="Record an infusion")
        picked = select_value(box, "Booked infusion") if box.count() else ""
        past = [i for i in cur.infusions if i.status == "scheduled"
                and fmt_day(i.date) == picked and i.date <= self.today]
        if past:  # a dose on a booked infusion that has happened: only the dose is wrong
            box.get_by_text(INFUSION_OUTCOMES["completed"], exact=True).click()
            dose = self.rng.choice([0, 9, 50])
            step.detail = f"record an infusion with dose {dose}"
            fill_number(box, "Dose (mg/kg), when completed", dose)
            choose(self.rc_page, box, "Route, when completed", re.compile("^IV"))
            box.get_by_role("button", name="Save infusion").click()
            return set()
        count = self.rng.choice([0, 31, 99])
        step.detail = f"book {count} infusions"
        box = panel.get_by_test_id("stForm").filter(has_text="Book the series' infusions")
        fill_number(box, "How many (empty: what the series still lacks)", count)
        box.get_by_role("button", name="Book infusions").click()
        return set()

    def _habits_valid(self, step, panel, ctx):
        grid_form = panel.get_by_test_id("stForm").filter(has_text="tick the days")
        free = grid_form.locator("[data-testid='stCheckbox'] input:not([disabled])")
        if grid_form.count() and free.count() and self.rng.random() < 0.5:
            i = self.rng.randrange(free.count())
            step.detail = f"tick day box {i} and save the week"
            free.nth(i).click(force=True)
            grid_form.get_by_role("button", name="Save the week").click()
            return {"habit.week"}
        self.counter += 1
        name = f"Walk habit {self.seed}-{self.counter}"
        target = self.rng.randint(1, 7)
        start = max(ctx["form"].intake_date, self.today - timedelta(days=self.rng.randint(0, 20)))
        step.detail = f"add habit {name!r} {target}x from {start}"
        box = panel.get_by_test_id("stForm").filter(has_text="Add a habit")
        box.get_by_role("textbox", name="Habit").fill(name)
        fill_number(box, "Target days a week (1–7)", target)
        type_date(box, "Starting", start)
        box.get_by_role("button", name="Add habit").click()
        return {"habit.add"}

    def _habits_invalid(self, step, panel, ctx):
        box = panel.get_by_test_id("stForm").filter(has_text="Add a habit")
        type_date(box, "Starting", max(ctx["form"].intake_date, self.today))
        if self.rng.random() < 0.3:
            step.detail = "add a habit without a name"
            box.get_by_role("textbox", name="Habit").fill("")
            fill_number(box, "Target days a week (1–7)", 3)
        else:
            target = self.rng.choice([0, 8, 70])
            self.counter += 1
            step.detail = f"add a habit of {target} days a week"
            box.get_by_role("textbox", name="Habit").fill(f"Bad target {self.seed}-{self.counter}")
            fill_number(box, "Target days a week (1–7)", target)
        box.get_by_role("button", name="Add habit").click()
        return set()

    def _scores_valid(self, step, panel, ctx):
        instrument = self.rng.choice(list(INSTRUMENT_MAX))
        lo = max(ctx["form"].intake_date, self.today - timedelta(days=90))
        day = self._free_day(lambda d: (instrument, d) in ctx["scores"], lo, self.today)
        if day is None:
            return None
        score = self.rng.randint(0, INSTRUMENT_MAX[instrument])
        step.detail = f"{instrument} {score} on {day}"
        box = panel.get_by_test_id("stForm").filter(has_text="Total score")
        choose(self.rc_page, box, "Instrument", re.compile(re.escape(instrument)))
        type_date(box, "Date", day)
        fill_number(box, "Total score", score)
        box.get_by_role("button", name="Save score").click()
        return {"measure.add"}

    def _scores_invalid(self, step, panel, ctx):
        instrument = self.rng.choice(list(INSTRUMENT_MAX))
        box = panel.get_by_test_id("stForm").filter(has_text="Total score")
        choose(self.rc_page, box, "Instrument", re.compile(re.escape(instrument)))
        lo = max(ctx["form"].intake_date, self.today - timedelta(days=90))
        day = self._free_day(lambda d: (instrument, d) in ctx["scores"], lo, self.today)
        if self.rng.random() < 0.7 and day is not None:
            score = INSTRUMENT_MAX[instrument] + self.rng.choice([1, 10, 100])
            step.detail = f"{instrument} {score} on {day}"
            type_date(box, "Date", day)
        else:
            score = 3
            step.detail = f"{instrument} on 2099-01-01"
            type_date(box, "Date", date(2099, 1, 1))
        fill_number(box, "Total score", score)
        box.get_by_role("button", name="Save score").click()
        return set()

    def _patient_valid(self, step, panel, ctx):
        form = ctx["form"]
        box = panel.get_by_test_id("stForm").filter(has_text="Details and intentions")
        first, intentions = form.first_name, form.intentions
        if self.rng.random() < 0.5:
            first = self.rng.choice([n for n in FIRST_NAMES if n != form.first_name])
            step.detail = f"first name {form.first_name} -> {first}"
        else:
            self.counter += 1
            step.detail = "new intentions"
            intentions = f"Walk {self.seed}, entry {self.counter}: sleep, family, work."
        # Every field: a rejected entry before keeps what was typed.
        box.get_by_role("textbox", name="First name", exact=True).fill(first)
        box.get_by_role("textbox", name="Last name", exact=True).fill(form.last_name)
        type_date(box, "Date of birth", form.date_of_birth)
        type_date(box, "Intake date", form.intake_date)
        box.get_by_role("textbox", name="Intentions").fill(intentions)
        box.get_by_role("button", name="Save details").click()
        return {"patient.update"}

    def _patient_invalid(self, step, panel, ctx):
        form = ctx["form"]
        box = panel.get_by_test_id("stForm").filter(has_text="Details and intentions")
        box.get_by_role("textbox", name="First name", exact=True).fill(form.first_name)
        box.get_by_role("textbox", name="Intentions").fill(form.intentions)
        type_date(box, "Intake date", form.intake_date)
        if self.rng.random() < 0.5:
            step.detail = "empty last name"
            box.get_by_role("textbox", name="Last name", exact=True).fill("")
            type_date(box, "Date of birth", form.date_of_birth)
        else:
            step.detail = "born 2099-01-01"
            box.get_by_role("textbox", name="Last name", exact=True).fill(form.last_name)
            type_date(box, "Date of birth", date(2099, 1, 1))
        box.get_by_role("button", name="Save details").click()
        return set()

    # ------------------------------------------------------------------ Users
    def open_users(self) -> None:
        page = self.users_page
        page.get_by_role("link", name="Users").first.click()
        settle(page)
        self.user = self.users_shown()
        self.users_check_screen(None)

    def users_shown(self) -> str | None:
        value = select_value(self.users_page.get_by_test_id("stMain"), "Manage a user")
        return value.split(" · ")[0].strip() if value else None

    def _users_check_screen(self, step: Step | None) -> None:
        step = step or Step(0, "users", "open")
        main = self.users_page.get_by_test_id("stMain")
        shown = self.users_shown()
        if self.user is not None and shown != self.user:
            self.fail(step, f"Manage a user shows {shown!r}, the user chosen was {self.user!r}")
        if shown is None:
            return
        users = self.oracle.users()
        if shown not in users:
            self.fail(step, f"Manage a user shows {shown!r}, who is not in the database")
        target = users[shown]
        value = select_value(main, "Manage a user")
        if target.full_name not in value:
            self.fail(step, f"Manage a user shows {value!r}; {shown} is {target.full_name!r}")
        roles = main.get_by_role("combobox", name="Role", exact=True)
        # The Add staff form has a Role too; the manage box's is the last one drawn.
        if roles.count() >= 2 and roles.last.input_value() != ROLE_LABELS[target.role]:
            self.fail(step, f"the Role field shows {roles.last.input_value()!r}; {shown} is "
                            f"{ROLE_LABELS[target.role]!r}")
        has_deactivate = main.get_by_role("button", name="Deactivate").count() > 0
        has_reactivate = main.get_by_role("button", name="Reactivate").count() > 0
        if not has_deactivate and not has_reactivate:
            self.fail(step, f"Manage a user shows {value!r}, but no box to manage them is drawn "
                            "(the page acts on nobody while the picker names someone)")
        if has_deactivate != target.active or has_reactivate == target.active:
            self.fail(step, f"the Access part offers "
                            f"{'Deactivate' if has_deactivate else 'Reactivate'} for {shown}, "
                            f"who is {'active' if target.active else 'deactivated'}")

    def users_pick(self, step: Step) -> None:
        page = self.users_page
        names = [n for n in self.oracle.users() if n not in OWN_ACCOUNTS and n != self.user]
        name = self.rng.choice(self.fresh_first(sorted(names), "u"))
        step.detail = name
        choose(page, page.get_by_test_id("stMain"), "Manage a user",
               re.compile("^" + re.escape(name) + " · "))
        settle(page)
        self.user = name
        self.records_seen.add(("u", name))
        self.users_check_screen(step)
        self.verdict(step, owner=None)

    def users_away(self, step: Step) -> None:
        page = self.users_page
        title = self.rng.choice(USERS_AWAY_PAGES)
        step.detail = f"{title} and back"
        page.get_by_role("link", name=title).first.click()
        settle(page)
        page.get_by_role("link", name="Users").first.click()
        settle(page)
        # Users may come back on another user; whoever it names is the one acted on next.
        self.user = self.users_shown()
        self.users_check_screen(step)
        self.verdict(step, owner=None)

    def users_save(self, step: Step) -> None:
        page = self.users_page
        main = page.get_by_test_id("stMain")
        shown = self.users_shown()
        target = self.oracle.users().get(shown) if shown else None
        choice = self.rng.choice(["reset", "access", "access", "add"]
                                 + (["role"] if shown and shown.startswith("walker") else []))
        if (target is None or shown in OWN_ACCOUNTS) and choice != "add":
            choice = "add"
        if choice == "add":
            self.counter += 1
            name = f"walker{self.seed}-{self.counter}"
            role = self.rng.choice(["therapist", "team_screen"])
            step.detail = f"add {name} as {role}"
            box = main.get_by_test_id("stForm").filter(has_text="Add staff")
            box.get_by_role("textbox", name="Username").fill(name)
            box.get_by_role("textbox", name="Full name").fill(f"Walker {self.counter}")
            choose(page, box, "Role", ROLE_LABELS[role])
            box.get_by_role("textbox", name="Email (optional)").fill("")
            box.get_by_role("button", name="Add user").click()
            settle(page)
            # A new account gets its temporary password at once.
            self.verdict(step, owner=("u", name), actions={"user.add", "user.set_password"},
                         must_change=True)
            self.records_seen.add(("u", name))
            self.user = self.users_shown()
            self.users_check_screen(step)
            return
        if choice == "reset":
            step.detail = f"reset the password of {shown}"
            main.get_by_role("button", name="Reset password").click()
            actions = {"user.set_password"}
        elif choice == "access":
            word = "Deactivate" if target.active else "Reactivate"
            step.detail = f"{word.lower()} {shown}"
            main.get_by_role("button", name=word).click()
            actions = {"user.deactivate" if target.active else "user.reactivate"}
        else:
            role = "team_screen" if target.role == "therapist" else "therapist"
            step.detail = f"make {shown} {role}"
            choose(page, main, "Role", ROLE_LABELS[role])  # the manage box's Role: the last
            settle(page)
            main.get_by_role("button", name="Change role").last.click()
            actions = {"user.change_role"}
        settle(page)
        confirm_dialog(page)
        self.verdict(step, owner=("u", shown), actions=actions, must_change=True)
        self.users_check_screen(step)

    def users_invalid(self, step: Step) -> None:
        page = self.users_page
        main = page.get_by_test_id("stMain")
        existing = self.rng.choice(sorted(self.oracle.users()))
        name = self.rng.choice([existing, "Bad name!", "x"])
        step.detail = f"add a user named {name!r}"
        box = main.get_by_test_id("stForm").filter(has_text="Add staff")
        box.get_by_role("textbox", name="Username").fill(name)
        box.get_by_role("textbox", name="Full name").fill("Someone Twice")
        box.get_by_role("button", name="Add user").click()
        settle(page)
        self.verdict(step, owner=None)
        if not has_error(box):
            self.fail(step, "an invalid user was not saved, but no message says why")
        self.users_check_screen(step)
