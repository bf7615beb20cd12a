"""Benchmark sections, in the order they run; importing a module registers its section.

Later work adds surveys, metrics and alerts here."""

from bench.sections import (  # noqa: F401
    alerts,
    import_interactions,
    metrics,
    submissions,
    timeline,
)
