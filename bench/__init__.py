"""OpenCEM's benchmark: ``make bench`` (``python -m bench.run``) runs every section on a fresh
PostgreSQL database and prints one table of figures against their baselines."""
