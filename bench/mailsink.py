"""An SMTP server in a process of its own that notes when each notification arrived, for the
alert section. A process of its own, like a real mail server: in the process that commits
the burst, each SMTP reply would wait for that process's busy threads to let go of the
interpreter lock, and the mails would seem to arrive later than they did.

Nothing here imports Django: the process is started fresh (``spawn``) and imports only this.
"""

from __future__ import annotations

import logging
import multiprocessing
import re
import time
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from typing import Any

from aiosmtpd.controller import Controller

# Read from the raw header: parsing each whole message would cost this process more than the
# mail server's own work, and it shares the machine with what is measured.
MESSAGE_ID = re.compile(rb"^Message-ID:\s*<notification-(\d+)@", re.IGNORECASE | re.MULTILINE)


class _Handler:
    """Puts ``(notification id, arrival time)`` on the queue for each notification."""

    def __init__(self, arrived: Queue[tuple[int, float]]) -> None:
        self.arrived = arrived

    async def handle_DATA(self, server: Any, session: Any, envelope: Any  # noqa: N802 (aiosmtpd)
                          ) -> str:
        now = time.time()
        header = envelope.content.split(b"\r\n\r\n", 1)[0]
        found = MESSAGE_ID.search(header)
        if found:
            self.arrived.put((int(found.group(1)), now))
        return "250 OK"


def _serve(port: int, arrived: Queue[tuple[int, float]], ready: Event, stop: Event) -> None:
    # aiosmtpd logs every command it reads at INFO; a mail server's log is not measured.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    controller = Controller(_Handler(arrived), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    stop.wait()
    controller.stop()


class MailSink:
    """The SMTP server process: ``start()``, then ``arrivals()`` drains what arrived so far
    (id → first arrival time), ``stop()`` at the end."""

    def __init__(self, port: int) -> None:
        self.port = port
        context = multiprocessing.get_context("spawn")
        self._arrived: Queue[tuple[int, float]] = context.Queue()
        self._ready = context.Event()
        self._stop = context.Event()
        self._process = context.Process(target=_serve, daemon=True, args=(
            port, self._arrived, self._ready, self._stop))
        self.at: dict[int, float] = {}

    def start(self) -> None:
        self._process.start()
        if not self._ready.wait(60):
            raise RuntimeError("the bench's SMTP server did not start")

    def arrivals(self) -> dict[int, float]:
        while not self._arrived.empty():
            pk, at = self._arrived.get()
            self.at.setdefault(pk, at)
        return self.at

    def stop(self) -> None:
        self._stop.set()
        self._process.join(timeout=30)
        self.arrivals()
