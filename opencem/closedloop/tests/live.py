"""Real servers for the closed-loop tests: an SMTP server that keeps what it receives, a
Celery worker process (with beat) on a live PostgreSQL test database, and a private Redis
that a test may stop and start again. No tests here."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from django.db import connection

from opencem.celery import app

SHARED_BROKER = os.environ.get("TEST_CLOSEDLOOP_BROKER_URL", "redis://127.0.0.1:6379/6")
WAIT_SECONDS = 90


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Inbox:
    """An SMTP handler that keeps every message it receives."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any  # noqa: N802 (aiosmtpd)
                          ) -> str:
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        with self.lock:
            self.messages.append(parsed)
        return "250 Message accepted"

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [m for m in self.messages if address in str(m["To"])]


@contextmanager
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield inbox, controller.port
    finally:
        controller.stop()


def wait_for(check: Callable[[], Any], what: str, worker: Worker | None = None,
             seconds: float = WAIT_SECONDS, every: float = 0.2) -> Any:
    """Poll ``check`` every ``every`` seconds until it gives something true (not a timing
    check: a bound on a hang)."""
    deadline = time.monotonic() + seconds
    while True:
        found = check()
        if found:
            return found
        if worker is not None:
            worker.check_alive()
        assert time.monotonic() < deadline, f"{what}: not within {seconds} s"
        time.sleep(every)


class Worker:
    """``opencem worker --beat`` in a process group of its own, on the live test database."""

    def __init__(self, broker: str, smtp_port: int, site_url: str = "http://testserver") -> None:
        db = connection.settings_dict
        self.data_dir = tempfile.mkdtemp(prefix="opencem-worker-")
        self.env = dict(os.environ,
                        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}"
                                     f"/{db['NAME']}",
                        CELERY_BROKER_URL=broker, DJANGO_SETTINGS_MODULE="opencem.settings.dev",
                        EMAIL_HOST="127.0.0.1", EMAIL_PORT=str(smtp_port), SITE_URL=site_url,
                        OPENCEM_DATA_DIR=self.data_dir, OPENCEM_OUTBOX_SWEEP_SECONDS="2",
                        OPENCEM_CLOSEDLOOP_SWEEP_SECONDS="2", LOG_LEVEL="WARNING", DEBUG="false")
        self.proc: subprocess.Popen[str] | None = None
        self.log = os.path.join(self.data_dir, "worker.log")

    def start(self) -> None:
        out = open(self.log, "a")  # noqa: SIM115 (the process writes to it until stopped)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "opencem.cli", "worker", "--concurrency", "2", "--beat"],
            env=self.env, stdout=out, stderr=subprocess.STDOUT, text=True,
            start_new_session=True)

    def check_alive(self) -> None:
        assert self.proc is not None
        if self.proc.poll() is not None:
            with open(self.log) as f:
                raise AssertionError("the worker died:\n" + f.read()[-3000:])

    def kill(self) -> None:
        """SIGKILL the worker and its children at once, as a crash or an OOM kill would."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=30)
        shutil.rmtree(self.data_dir, ignore_errors=True)


class PrivateRedis:
    """A redis-server of this test alone, without persistence: stopping it loses every
    message queued there, as a crashed broker without disk would."""

    def __init__(self) -> None:
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        # The system's redis-server, as on CI; the arguments are fixed.
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                   "--save", "", "--appendonly", "no"]
        self.proc = subprocess.Popen(command, stdout=subprocess.DEVNULL,  # noqa: S603
                                     stderr=subprocess.DEVNULL)
        wait_for(self._up, "redis-server to start", seconds=20)

    def _up(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


@contextmanager
def broker(url: str) -> Iterator[None]:
    """Send this process's tasks to ``url`` instead of running them in-process."""
    conf = app.conf
    saved = (conf.task_always_eager, conf.broker_url)
    _reset_pools()
    conf.task_always_eager, conf.broker_url = False, url
    try:
        yield
    finally:
        conf.task_always_eager, conf.broker_url = saved
        _reset_pools()


def _reset_pools() -> None:
    # Celery keeps its pools for the broker it first met; forget them so the next task finds
    # the pool of the broker now configured. Not closed: kombu's registry hands the same pool
    # out again for the same broker URL.
    app._pool = None
    app.amqp._producer_pool = None


def needs_postgres() -> None:
    import pytest  # noqa: PLC0415 (only where a test asks)

    if connection.vendor != "postgresql":
        pytest.skip("a worker process needs a database it can share: run with PostgreSQL")
    if not shutil.which("redis-server"):
        pytest.skip("redis-server is missing")
