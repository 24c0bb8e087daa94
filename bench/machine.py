"""The machine and the versions a result was taken on."""
from __future__ import annotations

import os
import platform
import sqlite3
from importlib.metadata import PackageNotFoundError, version

from sqlalchemy import text

from db.engine import make_engine

PACKAGES = ("streamlit", "sqlalchemy", "pandas", "altair", "pyarrow", "psycopg")


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def ram_gib() -> float | None:
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return None


def package_versions() -> dict[str, str]:
    out = {"python": platform.python_version(), "sqlite": sqlite3.sqlite_version}
    for name in PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def postgres_version(url: str) -> str:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return conn.scalar(text("SHOW server_version"))
    finally:
        engine.dispose()


def load_average() -> str:
    try:
        return " / ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def describe(postgres_url: str | None) -> list[tuple[str, str]]:
    ram = ram_gib()
    rows = [("CPU", f"{cpu_model()}, {os.cpu_count()} cores"),
            ("RAM", f"{ram:.1f} GiB" if ram else "unknown"),
            ("OS", platform.platform())]
    versions = package_versions()
    if postgres_url:
        versions["postgresql"] = postgres_version(postgres_url)
    rows.append(("Versions", ", ".join(f"{k} {v}" for k, v in versions.items())))
    return rows
