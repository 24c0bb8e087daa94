"""Demo mode's first run: build the demo clinic once, safely, before anything opens it."""
from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path

from sqlalchemy import select

from db import clock, config
from db.demo import DEMO_ACCOUNTS, DemoAccount, ensure_demo_accounts, generate_demo
from db.engine import make_engine, session_factory
from db.migrate import upgrade
from db.models import Staff

DEMO_PATIENTS = 150
DEMO_SEED = 7
_process_lock = threading.Lock()


def demo_clinic_missing(data_dir: Path | None = None) -> bool:
    return not ((data_dir or config.DATA_DIR) / "clinic.db").exists()


def create_demo_clinic(data_dir: Path | None = None, *, patients: int = DEMO_PATIENTS) -> bool:
    """Create data/clinic.db with the demo clinic and accounts; False if it already existed.

    Built under a temporary name and renamed into place, so a crash leaves no
    half-filled clinic, and under a file lock, so two browser sessions (or two
    server processes) arriving together build it once.
    """
    data_dir = data_dir or config.DATA_DIR
    target = data_dir / "clinic.db"
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    with _process_lock, open(data_dir / ".demo-setup.lock", "w") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        if target.exists():
            return False
        building = data_dir / "clinic.db.building"
        for leftover in data_dir.glob("clinic.db.building*"):
            leftover.unlink()
        engine = make_engine(f"sqlite:///{building}")
        try:
            upgrade(engine)
            with session_factory(engine)() as session:
                generate_demo(session, patients=patients, seed=DEMO_SEED, as_of=clock.today())
                ensure_demo_accounts(session)
            with engine.connect() as conn:
                # Fold the WAL into the file so that one rename moves everything.
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            engine.dispose()
        for suffix in ("-wal", "-shm"):
            Path(f"{building}{suffix}").unlink(missing_ok=True)
        os.chmod(building, 0o600)
        os.replace(building, target)
        return True


def demo_accounts_to_show(session) -> list[DemoAccount]:
    """The demo sign-ins that exist and are active (shown on the sign-in page in demo mode)."""
    active = set(session.scalars(
        select(Staff.username).where(Staff.username.in_([a.username for a in DEMO_ACCOUNTS]),
                                     Staff.active.is_(True))
    ))
    return [a for a in DEMO_ACCOUNTS if a.username in active]
