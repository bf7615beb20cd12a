"""Run the benchmark: ``make bench`` or ``python -m bench.run [section ...]``.

Environment: ``BENCH_ROWS`` (interactions to import, default 1,000,000),
``BENCH_DATABASE_URL`` (a PostgreSQL database this run may drop and recreate, default
``opencem_bench`` on the local server), ``BENCH_REQUESTS`` (timeline requests, default 500),
``BENCH_SUBMISSIONS`` (survey submissions posted over HTTP, and as many bare inserts, default
1,000), ``BENCH_RESPONSES`` (responses behind the metrics figures, default 200,000; the goals
are set for 10,000,000), ``BENCH_METRIC_REQUESTS`` (metrics requests per query, default 100),
``BENCH_ALERTS`` (detractor responses in the alert-latency burst, default 1,000) and
``BENCH_BROKER_URL`` (the Redis the alert section's worker uses, default DB 13 locally).
Exits 2 when PostgreSQL is unreachable, 1 when a figure misses its goal and ``BENCH_STRICT``
is set.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from pathlib import Path

from bench.database import Unreachable, bench_url, recreate
from bench.framework import SECTIONS, Context, Figure, table


def _positive_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").replace("_", "").replace(",", "")
    try:
        value = int(raw) if raw else default
    except ValueError:
        sys.exit(f"{name} must be a whole number, not {raw!r}")
    if value < 1:
        sys.exit(f"{name} must be at least 1")
    return value


def main(argv: list[str] | None = None) -> int:
    wanted = list(sys.argv[1:] if argv is None else argv)
    rows = _positive_int("BENCH_ROWS", 1_000_000)
    url = bench_url()
    try:
        recreate(url)
    except Unreachable as exc:
        print(f"bench: PostgreSQL is needed and unreachable: {exc}", file=sys.stderr)
        return 2
    # Settings read DATABASE_URL when they load, so it is set before Django starts. The test
    # settings are the right ones here: DEBUG off (no query log growing with a million rows),
    # no secret file to create, Celery eager, a local cache.
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "opencem.settings.test"
    # The rest imports Django's models, which needs the settings above: imported late.
    import django  # noqa: PLC0415

    django.setup()
    # Eager Celery logs every task it runs; a million rows would bury the table in them.
    logging.getLogger("celery.app.trace").setLevel(logging.WARNING)
    from django.core.management import call_command  # noqa: PLC0415

    from bench import sections  # noqa: F401, PLC0415 (importing registers the sections)

    unknown = [name for name in wanted if name not in SECTIONS]
    if unknown:
        print(f"bench: unknown section(s) {', '.join(unknown)}; there are "
              f"{', '.join(SECTIONS)}", file=sys.stderr)
        return 2
    print(f"bench: migrating a fresh database at {url.rsplit('@', 1)[-1]}", file=sys.stderr)
    call_command("migrate", verbosity=0, interactive=False)
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="opencem-bench-") as workdir:
        context = Context(rows=rows, workdir=Path(workdir))
        for name, run_section in SECTIONS.items():
            if wanted and name not in wanted:
                continue
            print(f"bench: {name}", file=sys.stderr)
            figures += run_section(context)
    print()
    print(table(figures))
    for note in context.notes:
        print(f"  {note}")
    missed = [f for f in figures if f.meets_goal is False]
    return 1 if missed and os.environ.get("BENCH_STRICT") else 0


if __name__ == "__main__":
    sys.exit(main())
