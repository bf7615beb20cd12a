"""Settings modules: ``dev`` (the default), ``production`` and ``test``."""
