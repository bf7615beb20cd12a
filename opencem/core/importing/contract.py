"""What an import kind provides, and the registry the ``opencem import`` command reads.

An import kind (interactions, customers, feedback, responses) is two halves:

- a ``RowReader`` that knows the columns of its rows (``RowShape``), turns a batch of rows into
  what its writer stores and names every bad row with the field and message of the API. It
  touches no database, so it can run in a reader thread or process ahead of the writing, and
  it must pickle;
- a ``RowWriter`` that stores those batches through the app's own services.

``ImportKind.start`` makes both for one run (resolving, say, the survey version the rows
answer). Apps register their kinds in ``AppConfig.ready()``, so this package, which every
app may use, never imports the apps above it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from django.contrib.auth.models import User

from opencem.core.errors import ApplicationError, FieldError

DEFAULT_BATCH = 5000
FORMATS = ("csv", "jsonl")


class ImportFailed(Exception):
    """A fatal problem (unreadable file, bad mapping): nothing more can be imported."""


@dataclass(frozen=True)
class RowError:
    """Why one row of a batch was not stored; ``field`` is dotted as in API errors."""

    index: int
    field: str
    message: str


@dataclass(frozen=True)
class BatchOutcome:
    """What one batch did; ``errors`` name rows by their index in the batch."""

    created: int
    existing: int
    errors: list[RowError] = field(default_factory=list)
    created_flags: list[bool | None] = field(default_factory=list)


def row_errors(index: int, exc: ApplicationError) -> list[RowError]:
    """One RowError per field error of ``exc`` (or one for the whole row when it has none)."""
    if not exc.errors:
        return [RowError(index, "", exc.message)]
    return [RowError(index, _dotted(e), e.message) for e in exc.errors]


def _dotted(error: FieldError) -> str:
    return ".".join(str(p) for p in error.loc)


@dataclass(frozen=True)
class Row:
    """One row of the file as the body the API would receive, with its line number."""

    line: int
    body: dict[str, Any]
    problem: str | None = None  # a line that is not even a JSON object


@dataclass(frozen=True)
class Nested:
    """Columns named ``<prefix><name>`` that fill ``body[key][name]`` (``attr.tier`` →
    ``attributes.tier``)."""

    prefix: str
    key: str
    placeholder: str = "<name>"

    @property
    def label(self) -> str:
        return f"{self.prefix}{self.placeholder}"

    def name_of(self, target: str) -> str | None:
        """The name after the prefix, or None when ``target`` is not one of these."""
        if target.startswith(self.prefix) and len(target) > len(self.prefix):
            return target[len(self.prefix):]
        return None


ATTRIBUTES = Nested("attr.", "attributes")


@dataclass(frozen=True)
class RowShape:
    """How flat columns fill the body the API takes.

    ``fields`` sit at the top of the body; ``person`` fields (identities and name) go into its
    ``customer`` object; ``nested`` prefixes fill objects such as ``attributes``. A column
    with one of these names maps to it without being told; ``--map`` maps any other.
    ``takes_source``: ``--source`` fills rows that name no source.
    """

    fields: tuple[str, ...]
    person: tuple[str, ...] = ()
    nested: tuple[Nested, ...] = (ATTRIBUTES,)
    takes_source: bool = True

    @property
    def known(self) -> tuple[str, ...]:
        return (*self.fields, *self.person)

    def nested_of(self, target: str) -> tuple[Nested, str] | None:
        for nested in self.nested:
            name = nested.name_of(target)
            if name is not None:
                return nested, name
        return None

    def describe(self) -> str:
        return ", ".join([*self.known, *(n.label for n in self.nested)])


@dataclass(frozen=True)
class PreparedRows:
    """A batch turned into what the writer stores: ``payload`` covers the rows at positions
    ``good`` (in that order); ``errors`` holds the other rows' problems by position."""

    good: list[int]
    payload: Any
    errors: dict[int, list[RowError]]


class RowReader(ABC):
    """The database-free half of a kind (see the module's docstring); must pickle."""

    shape: ClassVar[RowShape]

    def check_target(self, target: str) -> str | None:
        """Why ``target`` (a mapped or same-named column) cannot be filled, or None."""
        return None

    def adjust(self, body: dict[str, Any]) -> dict[str, Any]:
        """Turn a CSV row's text cells into the JSON types the API expects, where the kind's
        schema takes no text (JSON Lines rows are taken as they are, as by the API)."""
        return body

    @abstractmethod
    def prepare(self, rows: Sequence[Row], zone: ZoneInfo | None) -> PreparedRows:
        """Check a batch; ``zone`` is the time zone to read timestamps without one in."""


class RowWriter(ABC):
    """The storing half of a kind, in the importing process."""

    @abstractmethod
    def store(self, payload: Any) -> BatchOutcome:
        """Store one prepared batch; errors name rows by their position in the payload."""


@dataclass(frozen=True)
class KindOption:
    """An option of the command that only one kind takes (``--survey`` for responses)."""

    flag: str
    help: str
    metavar: str | None = None

    @property
    def dest(self) -> str:
        return self.flag.lstrip("-").replace("-", "_")


@dataclass(frozen=True)
class ImportOptions:
    """What to import and how; see ``opencem import --help``.

    ``params`` holds the options of one kind (``{"survey": "nps", "version": "2"}``).
    """

    kind: str
    path: Path
    format: str | None = None
    mapping: dict[str, str] = field(default_factory=dict)
    source: str | None = None
    timezone: str | None = None
    batch_size: int = DEFAULT_BATCH
    errors_path: Path | None = None
    resume: bool = False
    username: str | None = None
    progress: bool = True
    parallel: bool | None = None  # None: decided by the file's size
    params: Mapping[str, str] = field(default_factory=dict)


class ImportKind(ABC):
    """One kind of row ``opencem import <name>`` takes."""

    name: ClassVar[str]
    help: ClassVar[str]
    options: ClassVar[tuple[KindOption, ...]] = ()

    @abstractmethod
    def start(self, *, options: ImportOptions, actor: User | None
              ) -> tuple[RowReader, RowWriter]:
        """Ready a run: check the actor may write (``actor`` None: a system import over the
        whole organisation) and the kind's options; raise ImportFailed when it cannot run."""


_KINDS: dict[str, ImportKind] = {}


def kind_register(kind: ImportKind) -> None:
    """Make ``kind`` importable by ``opencem import``; call it from ``AppConfig.ready()``."""
    _KINDS[kind.name] = kind


def kinds() -> dict[str, ImportKind]:
    """The registered kinds by name, in the order the apps registered them."""
    return dict(_KINDS)


def kind_get(name: str) -> ImportKind:
    try:
        return _KINDS[name]
    except KeyError:
        raise ImportFailed(f"import what? {' or '.join(_KINDS) or 'nothing is registered'}"
                           ) from None
