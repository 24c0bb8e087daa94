"""Markers of the reliability suite (pytest.ini belongs to the lead)."""
from __future__ import annotations


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "load: many browser sessions at once (bounded; CI runs it)")
    config.addinivalue_line("markers", "two_servers: two app servers on one PostgreSQL")
    config.addinivalue_line("markers", "faults: stops or breaks a database under a running app")
