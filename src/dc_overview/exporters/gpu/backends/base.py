"""The interface every backend implements, and the failure it raises."""

from __future__ import annotations

from ..snapshot import BackendResult


class CollectionFailure(Exception):
    """A collection that could not read the GPUs; `reason` is a short label value."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class Backend:
    """Reads every GPU once per call. Implementations may block; the collector copes."""

    name = "base"

    def read(self) -> BackendResult:
        """The GPUs now. Raises CollectionFailure when they cannot be read at all."""
        raise NotImplementedError

    def close(self) -> None:
        """Release what the backend holds (NVML handle, event sets)."""
