"""Benchmark sections, in the order they run; importing a module registers its section."""

from bench.sections import (  # noqa: F401
    alerts,
    import_interactions,
    journeys,
    metrics,
    submissions,
    timeline,
)
