"""A stand-in for the pynvml module (no GPU here): the real constants, error classes and
field-value structures of nvidia-ml-py, with device functions answering from a table."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pynvml


@dataclass
class FakeGpu:
    """One device. `answers` maps a pynvml function name to a value, or to an NVML error code
    wrapped in Error(...). `fields` maps a field id to (nvmlReturn, valueType, value)."""

    answers: dict[str, Any] = field(default_factory=dict)
    fields: dict[int, tuple[int, int, float]] = field(default_factory=dict)
    mig: list[FakeGpu] = field(default_factory=list)


@dataclass(frozen=True)
class Error:
    code: int


def error(code: int) -> Exception:
    return pynvml.NVMLError(code)


class FakeNvml:
    """Enough of pynvml for the backend; records calls."""

    def __init__(self, gpus: list[FakeGpu], init_errors: list[int] | None = None) -> None:
        for name in dir(pynvml):
            if name.startswith(("NVML_", "nvmlClocks", "nvmlEventType", "NVMLError")):
                setattr(self, name, getattr(pynvml, name))
        self.gpus = gpus
        self.init_errors = list(init_errors or [])
        self.calls: list[str] = []
        self.events: list[SimpleNamespace] = []
        self.registered: list[int] = []

    def __getattr__(self, name: str) -> Any:
        if not name.startswith("nvmlDevice"):
            raise AttributeError(name)

        def call(handle: Any, *args: Any) -> Any:
            self.calls.append(name)
            answer = handle.answers.get(name, Error(pynvml.NVML_ERROR_NOT_SUPPORTED))
            if callable(answer):
                answer = answer(*args)
            if isinstance(answer, Error):
                raise error(answer.code)
            return answer

        return call

    def nvmlInit(self) -> None:
        self.calls.append("nvmlInit")
        if self.init_errors:
            raise error(self.init_errors.pop(0))

    def nvmlShutdown(self) -> None:
        self.calls.append("nvmlShutdown")

    def nvmlSystemGetDriverVersion(self) -> str:
        return "590.48.01"

    def nvmlDeviceGetCount(self) -> int:
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> FakeGpu:
        return self.gpus[index]

    def nvmlDeviceGetMigDeviceHandleByIndex(self, handle: FakeGpu, index: int) -> FakeGpu:
        if index >= len(handle.mig):
            raise error(pynvml.NVML_ERROR_NOT_FOUND)
        return handle.mig[index]

    def nvmlDeviceGetFieldValues(self, handle: FakeGpu, field_ids: list[int]) -> Any:
        values = (pynvml.c_nvmlFieldValue_t * len(field_ids))()
        for slot, field_id in enumerate(field_ids):
            code, value_type, value = handle.fields.get(
                field_id, (pynvml.NVML_ERROR_NOT_SUPPORTED, 0, 0)
            )
            values[slot].fieldId = field_id
            values[slot].nvmlReturn = code
            values[slot].valueType = value_type
            member = ("dVal", "uiVal", "ulVal", "ullVal", "sllVal", "siVal", "usVal")[value_type]
            setattr(values[slot].value, member, type(getattr(values[slot].value, member))(value))
        return values

    def nvmlEventSetCreate(self) -> str:
        return "event-set"

    def nvmlDeviceRegisterEvents(self, handle: FakeGpu, mask: int, events: Any) -> None:
        if handle.answers.get("xid_events") is False:
            raise error(pynvml.NVML_ERROR_NOT_SUPPORTED)
        self.registered.append(mask)

    def nvmlEventSetWait(self, events: Any, timeout_ms: int) -> SimpleNamespace:
        assert timeout_ms == 0, "the backend must never wait for events"
        if not self.events:
            raise error(pynvml.NVML_ERROR_TIMEOUT)
        return self.events.pop(0)

    def nvmlEventSetFree(self, events: Any) -> None:
        self.calls.append("nvmlEventSetFree")


def pci_info(bus_id: str, device_id: int) -> SimpleNamespace:
    return SimpleNamespace(busId=bus_id.encode(), pciDeviceId=(device_id << 16) | 0x10DE)
