"""``opencem import``: bulk import of customers, interactions, feedback or survey responses
from CSV or JSON Lines.

    opencem import interactions|customers|feedback FILE [--map field=column ...]
        [--mapping FILE.json] [--source NAME] [--timezone Europe/London] [--batch-size 5000]
        [--errors PATH] [--resume] [--user USERNAME] [--format csv|jsonl] [--no-progress]
    opencem import responses FILE --survey ID|SLUG [--version N] [same options]

The kinds come from the registry in ``opencem.core.importing`` (each app registers its own),
and so do the options of one kind (``--survey``). Rejected rows are listed in
``FILE.errors.csv`` and do not make the command fail; only a problem with the file, the
mapping or the options does (exit status 1).
"""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from opencem.core.importing import (
    DEFAULT_BATCH,
    FORMATS,
    ImportFailed,
    ImportOptions,
    kinds,
    load_mapping,
    run_import,
)


class Command(BaseCommand):
    help = ("Import customers, interactions, feedback or survey responses from a CSV or JSON "
            "Lines file, with the rules of the API. Columns named like a field map by "
            "themselves (identities such as email or phone name the customer; attr.<name> "
            "fills attributes; question:<id> an answer); --map reads a field from another "
            "column. Bad rows are written to FILE.errors.csv (line, field, message) while "
            "good rows are stored; --resume continues an interrupted import, and re-running "
            "a file never duplicates.")

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        # A kind's own option may take a name Django gives its commands (``--version``, the
        # survey version of a responses import): the kind's wins.
        return super().create_parser(prog_name, subcommand, conflict_handler="resolve",
                                     **kwargs)

    def add_arguments(self, parser: ArgumentParser) -> None:
        registered = kinds()
        parser.add_argument("kind", choices=list(registered),
                            help="; ".join(f"{k.name}: {k.help}" for k in registered.values()))
        parser.add_argument("file", type=Path, help="a .csv or .jsonl file")
        parser.add_argument("--format", choices=FORMATS, default=None,
                            help="when the file name does not say it")
        parser.add_argument("--map", action="append", default=[], metavar="FIELD=COLUMN",
                            help="read FIELD from COLUMN (repeatable), e.g. external_id=txn_id "
                                 "or question:nps=Q1")
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
        seen: set[str] = set()
        for kind in registered.values():
            for option in kind.options:
                if option.flag not in seen:
                    seen.add(option.flag)
                    parser.add_argument(option.flag, dest=option.dest, default=None,
                                        metavar=option.metavar,
                                        help=f"{option.help} ({kind.name} only)")

    def handle(self, *args: Any, **options: Any) -> None:
        flags = {o.dest for k in kinds().values() for o in k.options}
        params = {name: str(options[name]) for name in sorted(flags)
                  if options.get(name) is not None}
        try:
            summary = run_import(ImportOptions(
                kind=options["kind"], path=options["file"], format=options["format"],
                mapping=load_mapping(options["map"], options["mapping"]),
                source=options["source"], timezone=options["timezone"],
                batch_size=options["batch_size"], errors_path=options["errors"],
                resume=options["resume"], username=options["user"],
                progress=not options["no_progress"], params=params))
        except ImportFailed as exc:
            raise CommandError(str(exc)) from exc
        for line in summary.lines():
            self.stdout.write(line)
