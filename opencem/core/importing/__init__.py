"""Bulk import from CSV or JSON Lines files: the machinery every kind of row shares.

``opencem import <kind> FILE`` finds its kind in the registry (``kind_register``, called by
each app's ``AppConfig.ready()``); see ``contract`` for what a kind provides and ``run`` for
how a run goes.
"""

from opencem.core.importing.batches import store_each, validate_models, with_zone
from opencem.core.importing.contract import (
    ATTRIBUTES,
    DEFAULT_BATCH,
    FORMATS,
    BatchOutcome,
    ImportFailed,
    ImportKind,
    ImportOptions,
    KindOption,
    Nested,
    PreparedRows,
    Row,
    RowError,
    RowReader,
    RowShape,
    RowWriter,
    kind_get,
    kind_register,
    kinds,
    row_errors,
)
from opencem.core.importing.files import load_mapping
from opencem.core.importing.run import ImportSummary, checkpoint_path, run_import

__all__ = [
    "ATTRIBUTES",
    "DEFAULT_BATCH",
    "FORMATS",
    "BatchOutcome",
    "ImportFailed",
    "ImportKind",
    "ImportOptions",
    "ImportSummary",
    "KindOption",
    "Nested",
    "PreparedRows",
    "Row",
    "RowError",
    "RowReader",
    "RowShape",
    "RowWriter",
    "checkpoint_path",
    "kind_get",
    "kind_register",
    "kinds",
    "load_mapping",
    "row_errors",
    "run_import",
    "store_each",
    "validate_models",
    "with_zone",
]
