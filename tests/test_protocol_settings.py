"""Protocol settings: defaults, validation, optimistic locking and the audit trail."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select, text

from db.engine import session_factory
from db.models import AuditEvent, ProtocolSettings
from db.protocol import (
    ProtocolConfig,
    SettingsConflict,
    SettingsError,
    load_settings,
    update_settings,
)


def test_defaults_from_the_migrated_row(session):
    assert load_settings(session) == ProtocolConfig(2, 7, 6, 1)


def test_defaults_when_the_row_is_missing(session):
    session.execute(text("DELETE FROM protocol_settings"))
    assert load_settings(session) == ProtocolConfig()


def test_update_bumps_version_and_audits(session):
    after = update_settings(session, "md", 1, min_integration_sessions=3, grace_days=10)
    session.commit()
    assert after == ProtocolConfig(3, 10, 6, 2)
    assert load_settings(session) == after
    row = session.get(ProtocolSettings, 1)
    assert row.updated_by == "md" and row.updated_at is not None
    event = session.scalars(select(AuditEvent).where(
        AuditEvent.action == "protocol_settings.update")).one()
    detail = json.loads(event.detail)
    assert event.actor == "md"
    assert detail["before"]["min_integration_sessions"] == 2
    assert detail["after"] == {"min_integration_sessions": 3, "grace_days": 10,
                               "default_planned_infusions": 6, "version": 2}


@pytest.mark.parametrize("changes", [
    {"min_integration_sessions": -1}, {"min_integration_sessions": 21},
    {"grace_days": 91}, {"grace_days": -1},
    {"default_planned_infusions": 0}, {"default_planned_infusions": 31},
    {"grace_days": True}, {"grace_days": "7"}, {"grace_days": 7.0},
    {"colour": 3},
])
def test_bad_values_are_refused_and_nothing_changes(session, changes):
    with pytest.raises(SettingsError):
        update_settings(session, "md", 1, **changes)
    session.commit()
    assert load_settings(session) == ProtocolConfig()


@pytest.mark.parametrize("changes", [
    {"min_integration_sessions": 0}, {"min_integration_sessions": 20}, {"grace_days": 0},
    {"grace_days": 90}, {"default_planned_infusions": 1}, {"default_planned_infusions": 30},
])
def test_range_ends_are_accepted_by_us_and_the_database(session, changes):
    update_settings(session, "md", 1, **changes)
    session.commit()
    got = load_settings(session)
    for key, value in changes.items():
        assert getattr(got, key) == value


def test_stale_version_is_a_conflict(session):
    update_settings(session, "md", 1, grace_days=8)
    session.commit()
    with pytest.raises(SettingsConflict):
        update_settings(session, "other", 1, grace_days=9)
    session.rollback()
    assert load_settings(session).grace_days == 8


def test_save_between_read_and_write_is_a_conflict(engine):
    factory = session_factory(engine)
    with factory() as first, factory() as second:
        version = load_settings(first).version
        update_settings(second, "b", version, grace_days=12)
        second.commit()
        # `first` still holds version 1 in its identity map; the reread sees 2.
        with pytest.raises(SettingsConflict):
            update_settings(first, "a", version, grace_days=3)
    with factory() as check:
        assert load_settings(check).grace_days == 12
