"""Collection apart from serving: a background loop fills immutable snapshots, and a
prometheus_client Collector renders the last one. A scrape never waits on the GPUs."""

from __future__ import annotations

import dataclasses
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import Metric
from prometheus_client.exposition import choose_encoder

from .backends.base import Backend, CollectionFailure
from .backends.registers import RegisterReader
from .pci import SYSFS_PCI_DEVICES, scan_nvidia_gpus
from .render import dynamic_families, static_families
from .snapshot import BackendResult, CollectionError, GpuReading, Snapshot

log = logging.getLogger(__name__)
_EOF = b"# EOF\n"


def with_derived_temperatures(
    gpus: tuple[GpuReading, ...], registers: RegisterReader | None
) -> tuple[GpuReading, ...]:
    """Fill VRAM_TEMP (NVML memory temperature, else registers) and the hot spot fallback."""
    result = []
    for gpu in gpus:
        readings = gpu.readings
        vram, hot = readings.memory_temp, readings.hot_spot_temp
        identity = gpu.identity
        wanted = vram is None or hot is None
        if wanted and registers is not None and registers.supported(identity.pci_device_id):
            reg_vram, reg_hot = registers.read(identity.pci_bus_id, identity.pci_device_id)
            vram = vram if vram is not None else reg_vram
            hot = hot if hot is not None else reg_hot
        readings = dataclasses.replace(readings, vram_temp=vram, hot_spot_temp=hot)
        result.append(dataclasses.replace(gpu, readings=readings))
    return tuple(result)


class CollectionLoop:
    """Reads the GPUs every `interval` seconds in a daemon thread; `snapshot` is the last read."""

    def __init__(
        self,
        backend: Backend,
        interval: float = 5.0,
        hostname: str = "",
        pci_root: str = SYSFS_PCI_DEVICES,
        registers: RegisterReader | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._backend = backend
        self._interval = interval
        self._hostname = hostname or socket.gethostname()
        self._pci_root = pci_root
        self._registers = registers
        self._clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._busy_since: float | None = None
        pending = CollectionError("pending", "the first collection has not finished yet")
        self._snapshot = Snapshot(error=pending, hostname=self._hostname, backend=backend.name)

    @property
    def snapshot(self) -> Snapshot:
        """The last snapshot (replaced atomically; never blocks)."""
        return self._snapshot

    def busy_for(self) -> float:
        """Seconds the collection now running has taken so far (0 when idle)."""
        started = self._busy_since
        return 0.0 if started is None else time.monotonic() - started

    def collect_once(self) -> Snapshot:
        """Read the GPUs, build the next snapshot and publish it."""
        started = time.monotonic()
        self._busy_since = started
        try:
            result, error = self._read_backend()
            gpus = with_derived_temperatures(result.gpus, self._registers)
            if error is None and not gpus:
                error = CollectionError("no_gpus", "the driver reports no GPUs")
            previous = self._snapshot
            snapshot = Snapshot(
                gpus=gpus,
                driver_version=result.driver_version,
                attached_gpus=result.attached_gpus if result.attached_gpus is not None else 0,
                pci_gpus=scan_nvidia_gpus(self._pci_root),
                error=error,
                collected_at=self._clock(),
                duration_seconds=time.monotonic() - started,
                collections=previous.collections + 1,
                collection_errors=previous.collection_errors + (error is not None),
                hostname=self._hostname,
                backend=self._backend.name,
            )
            self._log_change(previous.error, error)
            self._snapshot = snapshot
            return snapshot
        finally:
            self._busy_since = None

    def _read_backend(self) -> tuple[BackendResult, CollectionError | None]:
        try:
            return self._backend.read(), None
        except CollectionFailure as exc:
            return BackendResult(), CollectionError(exc.reason, exc.message)
        except Exception as exc:  # a backend bug must not end the loop: report it, go on
            log.exception("collection failed unexpectedly")
            return BackendResult(), CollectionError("internal_error", repr(exc))

    @staticmethod
    def _log_change(before: CollectionError | None, now: CollectionError | None) -> None:
        if now is not None and (before is None or before.reason != now.reason):
            log.warning("collection failed (%s): %s", now.reason, now.message)
        elif now is None and before is not None and before.reason != "pending":
            log.info("collection works again (was %s)", before.reason)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="gpu-collector", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._backend.close()

    def _run(self) -> None:
        next_run = time.monotonic()
        while not self._stop.is_set():
            self.collect_once()
            next_run = max(next_run + self._interval, time.monotonic())
            self._stop.wait(max(0.0, next_run - time.monotonic()))


class SnapshotCollector:
    """A prometheus_client custom collector: the families of the loop's last snapshot.

    They depend only on the snapshot, so they are built once per snapshot and reused.
    """

    def __init__(self, loop: CollectionLoop) -> None:
        self._loop = loop
        self._cache: tuple[Snapshot, list[Metric]] | None = None

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        snapshot = self._loop.snapshot
        cache = self._cache
        if cache is None or cache[0] is not snapshot:
            cache = (snapshot, static_families(snapshot))
            self._cache = cache
        yield from cache[1]


class LiveCollector:
    """The families that depend on the moment of the scrape: up, error reasons, data age."""

    def __init__(
        self,
        loop: CollectionLoop,
        stall_after: float = 15.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._loop = loop
        self._stall_after = stall_after
        self._clock = clock

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        stalled = self._loop.busy_for() > self._stall_after
        yield from dynamic_families(self._loop.snapshot, self._clock(), stalled)


class Exposition:
    """What a scrape gets. The snapshot's part is encoded once per snapshot and format; only
    the live part is encoded per scrape."""

    def __init__(self, loop: CollectionLoop, stall_after: float = 15.0) -> None:
        self._loop = loop
        snapshot_collector = SnapshotCollector(loop)
        live_collector = LiveCollector(loop, stall_after)
        self._static = CollectorRegistry(auto_describe=False)
        self._static.register(snapshot_collector)
        self._live = CollectorRegistry(auto_describe=False)
        self._live.register(live_collector)
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(snapshot_collector)
        self.registry.register(live_collector)
        self._encoded: dict[str, tuple[Snapshot, bytes]] = {}

    def render(self, accept: str = "") -> tuple[bytes, str]:
        """(body, content type) for a scrape with this Accept header."""
        encoder, content_type = choose_encoder(accept)
        snapshot = self._loop.snapshot
        cached = self._encoded.get(content_type)
        if cached is None or cached[0] is not snapshot:
            body = encoder(self._static)
            if body.endswith(_EOF):
                body = body[: -len(_EOF)]
            cached = (snapshot, body)
            self._encoded[content_type] = cached
        return cached[1] + encoder(self._live), content_type
