"""Errors the inventory services raise; the API and CLI turn them into messages."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


class ValidationFailed(ValueError):
    """Input refused whole; nothing was changed."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))

    @classmethod
    def single(cls, field: str, message: str) -> ValidationFailed:
        return cls([FieldError(field, message)])

    def fields(self) -> dict[str, str]:
        return {e.field: e.message for e in self.errors}


class NotFound(LookupError):
    """The thing asked for does not exist."""


class Conflict(RuntimeError):
    """The change would break something that depends on the current state."""
