"""plotly.js, served from the copy bundled in the plotly package: nothing is downloaded at run
time and the charts always match the Python side that builds them.

``PlotlyFinder`` (in ``STATICFILES_FINDERS``) offers that file as
``dashboards/plotly-<version>.min.js``: found in place on one machine (whitenoise serves
finders' files), copied by ``collectstatic`` in production. The version in the name changes
with every upgrade, so browsers may keep the file for good (``WHITENOISE_IMMUTABLE_FILE_TEST``
marks it immutable).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import plotly
from django.contrib.staticfiles.finders import BaseFinder
from django.core.files.storage import FileSystemStorage
from plotly.offline.offline import get_plotlyjs_version

SOURCE = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"
PREFIX = "dashboards"
NAME = f"plotly-{get_plotlyjs_version()}.min.js"
STATIC_PATH = f"{PREFIX}/{NAME}"


class _PlotlyStorage(FileSystemStorage):
    """The package's data folder, where the versioned name stands for plotly.min.js."""

    prefix = PREFIX

    def __init__(self) -> None:
        super().__init__(location=str(SOURCE.parent))

    def path(self, name: str) -> str:
        return super().path(SOURCE.name if name == NAME else name)


class PlotlyFinder(BaseFinder):
    """Finds ``dashboards/plotly-<version>.min.js`` and nothing else."""

    def check(self, **kwargs: Any) -> list[Any]:
        return []

    def find(self, path: str, find_all: bool = False, **kwargs: Any) -> Any:
        if path != STATIC_PATH or not SOURCE.is_file():
            return []
        return [str(SOURCE)] if find_all else str(SOURCE)

    def list(self, ignore_patterns: Any) -> Iterator[tuple[str, FileSystemStorage]]:
        yield NAME, _PlotlyStorage()
