"""One error type for the whole domain; the API and the views map it to HTTP in one place."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from pydantic import ValidationError


@dataclass(frozen=True)
class FieldError:
    """One problem with one input field; ``loc`` is the path to it (``["items", 3, "unit"]``)."""

    loc: tuple[str | int, ...]
    message: str

    def as_dict(self) -> dict[str, object]:
        return {"loc": list(self.loc), "field": ".".join(str(p) for p in self.loc),
                "message": self.message}


@dataclass
class ApplicationError(Exception):
    """A request the domain refuses. ``status`` is the HTTP status it maps to."""

    message: str
    status: int = 422
    code: str = "invalid"
    errors: Sequence[FieldError] = field(default_factory=tuple)

    def __str__(self) -> str:
        return self.message

    def as_dict(self) -> dict[str, object]:
        return {"error": {"code": self.code, "message": self.message,
                          "errors": [e.as_dict() for e in self.errors]}}


def invalid(loc: Sequence[str | int], message: str) -> ApplicationError:
    """A 422 about one field."""
    path = tuple(loc)
    where = ".".join(str(p) for p in path)
    return ApplicationError(f"{where}: {message}" if where else message,
                            errors=(FieldError(path, message),))


class NotFound(ApplicationError):
    def __init__(self, message: str = "Not found.") -> None:
        super().__init__(message, status=404, code="not_found")


class PermissionDenied(ApplicationError):
    def __init__(self, message: str, loc: Sequence[str | int] = ()) -> None:
        errors = (FieldError(tuple(loc), message),) if loc else ()
        super().__init__(message, status=403, code="forbidden", errors=errors)


class Conflict(ApplicationError):
    def __init__(self, message: str) -> None:
        super().__init__(message, status=409, code="conflict")


def from_validation(exc: ValidationError, loc: tuple[str | int, ...] = (), *,
                    drop_value_error_prefix: bool = False) -> ApplicationError:
    """Pydantic's errors as field errors under ``loc``, in the one error shape (the first
    named in the message). ``drop_value_error_prefix`` drops the "Value error, " pydantic puts
    before a validator's own message."""
    errors = []
    for e in exc.errors():
        message = str(e["msg"])
        if drop_value_error_prefix:
            message = message.removeprefix("Value error, ")
        errors.append(FieldError((*loc, *(p for p in e["loc"] if isinstance(p, str | int))),
                                 message))
    return ApplicationError(f"{errors[0].as_dict()['field']}: {errors[0].message}",
                            errors=errors)
