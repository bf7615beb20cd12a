"""``opencem analyze``: text analytics from the command line.

    opencem analyze --in FILE.csv [--text-column text] --out OUT.csv [--no-progress]
        runs the pipeline on any CSV, with no database (the starter taxonomy's themes)
    opencem analyze --pending      analyses the stored feedback that waits for it
    opencem analyze --reanalyze    marks every stored analysis stale, then redoes them all
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from opencem.accounts.selectors import WHOLE_ORGANISATION


class Command(BaseCommand):
    help = ("Run text analytics: on a CSV file (--in/--out, no database needed), or on the "
            "stored feedback (--pending, or --reanalyze after a taxonomy or model change).")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--in", dest="source", type=Path, help="CSV file to analyse")
        parser.add_argument("--out", dest="target", type=Path, help="CSV file to write")
        parser.add_argument("--text-column", default="text")
        parser.add_argument("--no-progress", action="store_true")
        parser.add_argument("--pending", action="store_true",
                            help="analyse stored feedback that has no analysis yet")
        parser.add_argument("--reanalyze", action="store_true",
                            help="redo every stored analysis (after a taxonomy change)")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["source"] or options["target"]:
            self._csv(options)
            return
        if not (options["pending"] or options["reanalyze"]):
            raise CommandError("give --in FILE.csv --out OUT.csv, --pending or --reanalyze")
        from opencem.textanalytics import selectors, services  # noqa: PLC0415 (needs the DB)

        if options["reanalyze"]:
            marked = services.analysis_mark_stale(scope=WHOLE_ORGANISATION)
            self.stdout.write(f"{marked} analyses marked for re-analysis")
        total = selectors.pending_count()
        from tqdm import tqdm  # noqa: PLC0415

        done = 0
        with tqdm(total=total, unit="item", disable=options["no_progress"]) as bar:
            while True:
                n = services.analysis_run_pending(max_items=services.BATCH_SIZE)
                if not n:
                    break
                done += n
                bar.update(n)
        self.stdout.write(f"{done} feedback items analysed")

    def _csv(self, options: dict[str, Any]) -> None:
        from opencem.textanalytics.csvfile import AnalyzeError, analyze_csv  # noqa: PLC0415

        if not options["source"] or not options["target"]:
            raise CommandError("--in and --out go together")
        try:
            summary = analyze_csv(source=options["source"], target=options["target"],
                                  text_column=options["text_column"],
                                  progress=not options["no_progress"])
        except AnalyzeError as exc:
            raise CommandError(str(exc)) from exc
        rate = summary.rows / summary.seconds if summary.seconds else 0.0
        self.stdout.write(f"{summary.rows} rows analysed in {summary.seconds:.1f} s "
                          f"({rate:.0f}/s) -> {options['target']}")
