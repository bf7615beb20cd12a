"""The benchmark's own PostgreSQL database: dropped, created and migrated on every run, so the
figures never depend on what an earlier run or the demo left behind."""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/opencem_bench"


class Unreachable(Exception):
    """PostgreSQL is not there (or refuses us)."""


def bench_url() -> str:
    """``BENCH_DATABASE_URL``, or a database of its own on the local server."""
    return os.environ.get("BENCH_DATABASE_URL") or DEFAULT_URL


def recreate(url: str) -> None:
    """Drop and create the database ``url`` names, through the server's maintenance db."""
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not name or parts.scheme not in ("postgres", "postgresql"):
        raise Unreachable(f"{url} is not a PostgreSQL database URL")
    admin = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.OperationalError as exc:
        raise Unreachable(f"cannot reach PostgreSQL at {parts.hostname}:{parts.port}: "
                          f"{str(exc).strip()}") from exc
