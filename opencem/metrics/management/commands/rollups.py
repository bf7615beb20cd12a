"""``opencem rollups verify|rebuild``: check the rollups against the responses, or recompute
them."""

from __future__ import annotations

import time
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from opencem.metrics.rebuild import describe, rollups_rebuild, rollups_verify


class Command(BaseCommand):
    help = ("verify: recompute the metric rollups from the responses and report every row that "
            "differs (exit status 1 if any does); rebuild: replace them by the recomputation.")

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("action", choices=["verify", "rebuild"])

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        if options["action"] == "rebuild":
            result = rollups_rebuild()
            self.stdout.write(f"rebuilt from the responses in {time.monotonic() - started:.1f} s: "
                              f"{result.daily} daily, {result.monthly} monthly, "
                              f"{result.daily_units} daily-by-unit, {result.monthly_units} "
                              f"monthly-by-unit and {result.ratings} rating rows")
            return
        report = rollups_verify()
        for line in describe(report):
            self.stdout.write(line)
        if not report.ok:
            raise CommandError("the rollups differ from the responses; "
                               "'opencem rollups rebuild' recomputes them", returncode=1)
        self.stdout.write(f"the rollups match the responses "
                          f"({time.monotonic() - started:.1f} s)")
