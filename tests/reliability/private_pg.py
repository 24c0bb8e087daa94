"""A private PostgreSQL server for tests that stop and start the database.

The machine's shared server is never touched: this one runs from a throw-away
folder on its own port, as the ``postgres`` system user (initdb refuses root).
"""
from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.browser_support import free_port


def _bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(found[-1]).parent if found else None


def _as_postgres(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    runner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    return subprocess.run(runner + args, check=True, capture_output=True, text=True, **kwargs)


@dataclass
class PrivatePostgres:
    bin: Path
    data: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        _as_postgres([str(self.bin / "pg_ctl"), "-D", str(self.data), "-w", "-t", "30", "-l",
                      str(self.data / "server.log"), "-o",
                      f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 -c fsync=off",
                      "start"])

    def stop(self) -> None:
        _as_postgres([str(self.bin / "pg_ctl"), "-D", str(self.data), "-w", "-m", "fast", "stop"])

    def running(self) -> bool:
        return subprocess.run([str(self.bin / "pg_ctl"), "-D", str(self.data), "status"],
                              capture_output=True).returncode == 0


@pytest.fixture(scope="module")
def private_postgres() -> Iterator[PrivatePostgres]:
    bin_dir = _bin_dir()
    if bin_dir is None or not shutil.which("runuser"):
        pytest.skip("no PostgreSQL server binaries (/usr/lib/postgresql/*/bin) or runuser: "
                    "the stop-and-start test needs a private server")
    root = Path(tempfile.mkdtemp(prefix="kap-pg-"))
    os.chmod(root, 0o755)
    data = root / "data"
    data.mkdir()
    shutil.chown(data, "postgres") if os.geteuid() == 0 else None
    _as_postgres([str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                  "-E", "UTF8", "--no-locale"])
    server = PrivatePostgres(bin_dir, data, free_port())
    server.start()
    try:
        yield server
    finally:
        if server.running():
            try:
                server.stop()
            except subprocess.CalledProcessError:
                time.sleep(1)
        shutil.rmtree(root, ignore_errors=True)
