from __future__ import annotations

import pytest

from opencem.textanalytics.services import taxonomy_install_starter


@pytest.fixture
def starter_taxonomy() -> None:
    """The starter themes (root causes are themes): a transactional test runs after others
    have emptied the tables the data migration filled."""
    taxonomy_install_starter()
