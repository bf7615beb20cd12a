"""``opencem import``: bulk import of interactions or customers from CSV or JSON Lines.

    opencem import interactions FILE.csv [--map field=column ...] [--mapping FILE.json]
        [--source NAME] [--timezone Europe/London] [--batch-size 5000] [--errors PATH]
        [--resume] [--user USERNAME] [--format csv|jsonl] [--no-progress]

Rejected rows are listed in ``FILE.errors.csv`` and do not make the command fail; only a
problem with the file, the mapping or the options does (exit status 1).
"""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from opencem.customers.importing import (
    DEFAULT_BATCH,
    FORMATS,
    KINDS,
    ImportFailed,
    ImportOptions,
    load_mapping,
    run_import,
)


class Command(BaseCommand):
    help = ("Import interactions or customers from a CSV or JSON Lines file, with the rules of "
            "the API. Same-named columns map by default (source, external_id, channel, kind, "
            "occurred_at, unit, touchpoint, value, email, phone, crm_id, loyalty_id, "
            "account_id, social_handle, device_id, name, attr.<name>). Bad rows are written "
            "to FILE.errors.csv (line, field, message) while good rows are stored; --resume "
            "continues an interrupted import, and re-running a file never duplicates.")

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("kind", choices=KINDS, help="what the rows are")
        parser.add_argument("file", type=Path, help="a .csv or .jsonl file")
        parser.add_argument("--format", choices=FORMATS, default=None,
                            help="when the file name does not say it")
        parser.add_argument("--map", action="append", default=[], metavar="FIELD=COLUMN",
                            help="read FIELD from COLUMN (repeatable), e.g. external_id=txn_id")
        parser.add_argument("--mapping", type=Path, default=None, metavar="FILE.json",
                            help='a JSON object {"field": "column"}; --map wins over it')
        parser.add_argument("--source", default=None,
                            help="source system of rows that name none")
        parser.add_argument("--timezone", default=None, metavar="ZONE",
                            help="read timestamps without a zone in ZONE (e.g. Europe/London);"
                                 " without it they are rejected, as by the API")
        parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH,
                            help="rows committed per transaction")
        parser.add_argument("--errors", type=Path, default=None, metavar="PATH",
                            help="where to write rejected rows (default FILE.errors.csv)")
        parser.add_argument("--resume", action="store_true",
                            help="continue after the rows an interrupted run committed")
        parser.add_argument("--user", default=None, metavar="USERNAME",
                            help="import with this user's scope (default: whole organisation)")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            summary = run_import(ImportOptions(
                kind=options["kind"], path=options["file"], format=options["format"],
                mapping=load_mapping(options["map"], options["mapping"]),
                source=options["source"], timezone=options["timezone"],
                batch_size=options["batch_size"], errors_path=options["errors"],
                resume=options["resume"], username=options["user"],
                progress=not options["no_progress"]))
        except ImportFailed as exc:
            raise CommandError(str(exc)) from exc
        for line in summary.lines():
            self.stdout.write(line)
