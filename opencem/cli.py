"""The ``opencem`` command. Subcommands are Django management commands; ``opencem manage``
reaches every other one."""

from __future__ import annotations

import os
import sys

# Subcommand -> management command. The ones not listed map to themselves.
ALIASES = {
    "import": "import_data",
    "serve": "serve",
    "apikey": "apikey",
    "demo": "demo",
    "migrate": "migrate",
    "worker": "worker",
    "createadmin": "createadmin",
    "rollups": "rollups",
    "analyze": "analyze",
}

USAGE = """usage: opencem <command> [options]

commands:
  serve            run the web app (PORT, default 8000)
  migrate          create or update the database tables
  demo             load the demo company: --size tiny|small|medium|large (DEMO_SIZE),
                   --seed N, --until YYYY-MM-DD, --reset to start over
  import           bulk import from FILE.csv|FILE.jsonl:
                   opencem import customers|interactions|feedback FILE
                   opencem import responses FILE --survey <id or slug> [--version N]
  apikey           API keys: opencem apikey create --user <username> [--name NAME]
  createadmin      create a user with the admin role over the whole organisation
  worker           run a Celery worker on CELERY_BROKER_URL
  rollups          metric rollups: 'opencem rollups verify' checks them against the
                   responses (exit 1 on any difference), 'rebuild' recomputes them
  analyze          text analytics: 'opencem analyze --in FILE.csv --text-column text
                   --out OUT.csv' (no database needed); --pending, --reanalyze
  manage           any Django management command: opencem manage <command> ...

'opencem <command> --help' describes each command.
"""


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "opencem.settings.dev")
    if not args or args[0] in ("-h", "--help", "help"):
        sys.stdout.write(USAGE)
        return
    from django.core.management import execute_from_command_line

    command, rest = args[0], args[1:]
    if command == "manage":
        execute_from_command_line(["opencem manage", *rest])
        return
    if command not in ALIASES:
        sys.stderr.write(f"opencem: unknown command {command!r}\n\n{USAGE}")
        raise SystemExit(2)
    execute_from_command_line(["opencem", ALIASES[command], *rest])


if __name__ == "__main__":
    main()
