"""``opencem demo``: load Kestrel Lane, the demo retailer, and print how to sign in.

    opencem demo [--size tiny|small|medium|large] [--seed N] [--until YYYY-MM-DD] [--reset]

A second run finds the demo and only prints the logins (finishing first a load that was
interrupted); ``--reset`` empties the database and loads again.
"""

from __future__ import annotations

import os
from argparse import ArgumentParser
from datetime import date, datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from opencem.core.errors import ApplicationError
from opencem.demo.calendar import ZONE
from opencem.demo.generator import SIZES
from opencem.demo.loader import (
    DemoState,
    LoadResult,
    demo_load,
    demo_reset,
    demo_state,
    logins,
    logins_table,
)


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise CommandError(f"--until must be a date like 2026-06-30, not {text!r}") from exc


# Up to this many comments are analysed before the demo is served (the small demo has ~1,900).
ANALYSE_NOW = 5000


class Command(BaseCommand):
    help = ("Load the demo company (Kestrel Lane): about 40 stores, web shop, app, call centre "
            "and delivery partner, customers known across channels, two years of interactions "
            "and what customers said about them (survey responses, reviews, posts, "
            "complaints). The size defaults to DEMO_SIZE (small). --reset empties the "
            "database first; it refuses when another organisation is in it.")

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--size", choices=list(SIZES),
                            default=os.environ.get("DEMO_SIZE") or "small",
                            help="tiny (tests), small (default), medium, large (benchmarks)")
        parser.add_argument("--seed", type=int, default=42,
                            help="same seed, size and --until give identical data")
        parser.add_argument("--until", type=str, default=None,
                            help="last day of the two years of data (default: today)")
        parser.add_argument("--reset", action="store_true",
                            help="empty the database and load the demo again")
        parser.add_argument("--batch-size", type=int, default=2000,
                            help="interactions stored per transaction")

    def handle(self, *args: Any, **options: Any) -> None:
        self.verbosity = int(options["verbosity"])
        size = SIZES.get(options["size"])
        if size is None:  # DEMO_SIZE bypasses argparse's choices
            raise CommandError(f"size must be one of {', '.join(SIZES)}")
        seed: int = options["seed"]
        if seed < 0:
            raise CommandError("--seed must be zero or more")
        today = datetime.now(ZONE).date()
        until = _date(options["until"]) if options["until"] else today
        if until > today:
            raise CommandError("--until cannot be in the future: interactions must have happened")
        progress = options["verbosity"] >= 1

        state = demo_state()
        if options["reset"]:
            try:
                demo_reset()
            except ApplicationError as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write("Emptied the database.")
            state = DemoState(present=False, load=None)
        if state.interrupted and state.load is not None:
            self.stdout.write(f"Finishing an interrupted load ({state.load}).")
            result = demo_load(size=SIZES[state.load.size], seed=state.load.seed,
                               until=state.load.until, batch_size=options["batch_size"],
                               progress=progress, resume=state.load)
            self._loaded(result)
        elif state.present:
            what = f" ({state.load})" if state.load else ""
            self.stdout.write(f"The demo is already loaded{what}; --reset loads it again.")
        else:
            self.stdout.write(f"Loading the {size.name} demo (seed {seed}, until {until}).")
            try:
                result = demo_load(size=size, seed=seed, until=until,
                                   batch_size=options["batch_size"], progress=progress)
            except ApplicationError as exc:
                raise CommandError(str(exc)) from exc
            self._loaded(result)
        port = os.environ.get("PORT") or "8000"
        self.stdout.write(f"\nOpen http://127.0.0.1:{port} and sign in as:\n")
        logins_table(logins(), self.stdout.write)

    def _loaded(self, result: LoadResult) -> None:
        self.stdout.write(f"Stored {result.created} interactions, {result.responses} survey "
                          f"responses and {result.feedback} other feedback items in "
                          f"{result.seconds:.1f} s.")
        self._analyse()

    def _analyse(self) -> None:
        """Run text analytics over the loaded feedback, so its pages have themes at once."""
        import time  # noqa: PLC0415

        from tqdm import tqdm  # noqa: PLC0415

        from opencem.textanalytics import selectors, services  # noqa: PLC0415

        pending = selectors.pending_count()
        if pending > ANALYSE_NOW:
            # Hours of work for the larger demos: the background task does it instead.
            self.stdout.write(f"{pending} comments wait for text analytics; `opencem serve` "
                              "(or a worker with beat) analyses them in the background.")
            return
        started = time.monotonic()
        done = 0
        with tqdm(total=pending, unit="comment", desc="analysing",
                  disable=self.verbosity < 1) as bar:
            while n := services.analysis_run_pending(max_items=256):
                done += n
                bar.update(n)
        self.stdout.write(f"Analysed {done} comments in {time.monotonic() - started:.1f} s.")
