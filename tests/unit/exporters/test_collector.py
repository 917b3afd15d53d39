"""The collection loop: a slow or hanging backend never delays a scrape."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from dc_overview.exporters.gpu.backends.base import Backend
from dc_overview.exporters.gpu.backends.nvidia_smi import parse_xml
from dc_overview.exporters.gpu.collector import CollectionLoop, Exposition
from tests.unit.exporters.helpers import capture, samples, value_of


class HangingBackend(Backend):
    """Answers from a capture once, then blocks until released (a stuck driver)."""

    name = "hanging"

    def __init__(self, capture_bytes: bytes) -> None:
        self._result = parse_xml(capture_bytes)
        self.calls = 0
        self.blocked = threading.Event()
        self.release = threading.Event()

    def read(self):
        self.calls += 1
        if self.calls > 1:
            self.blocked.set()
            self.release.wait(30)
        return self._result


def test_scrape_returns_while_the_backend_hangs(tmp_path: Path) -> None:
    backend = HangingBackend(capture("dual_a5000-v13.xml").read_bytes())
    loop = CollectionLoop(backend, interval=0.01, pci_root=str(tmp_path))
    exposition = Exposition(loop, stall_after=0.2)
    loop.start()
    try:
        assert backend.blocked.wait(10), "the second collection never started"
        durations = []
        for _ in range(50):
            started = time.monotonic()
            body, _ = exposition.render("")
            durations.append(time.monotonic() - started)
        parsed = samples(body.decode())
        assert max(durations) < 0.5, durations
        assert value_of(parsed, "DCGM_FI_DEV_GPU_TEMP", gpu="1") == 15  # the last good data
        assert loop.busy_for() > 0
        deadline = time.monotonic() + 5
        while value_of(parsed, "dc_exporter_collection_error", reason="collection_stalled") is None:
            assert time.monotonic() < deadline, "a hung collection is never reported"
            time.sleep(0.05)
            parsed = samples(exposition.render("")[0].decode())
        assert value_of(parsed, "dc_exporter_up") == 0
        assert value_of(parsed, "dc_exporter_snapshot_age_seconds") > 0.2
    finally:
        backend.release.set()
        loop.stop()


class BrokenBackend(Backend):
    name = "broken"

    def __init__(self) -> None:
        self.calls = 0

    def read(self):
        self.calls += 1
        raise KeyError("a bug in a backend")


def test_a_backend_bug_is_reported_and_the_loop_goes_on(tmp_path: Path) -> None:
    backend = BrokenBackend()
    loop = CollectionLoop(backend, interval=0.01, pci_root=str(tmp_path))
    loop.start()
    try:
        deadline = time.monotonic() + 5
        while backend.calls < 3:
            assert time.monotonic() < deadline
            time.sleep(0.01)
    finally:
        loop.stop()
    snapshot = loop.snapshot
    assert snapshot.error is not None and snapshot.error.reason == "internal_error"
    assert snapshot.collections >= 3 and snapshot.collection_errors == snapshot.collections


def test_collection_counters_and_timing(tmp_path: Path) -> None:
    clock = iter([1000.0, 1005.0])
    backend = HangingBackend(capture("tesla-t4.xml").read_bytes())
    loop = CollectionLoop(backend, pci_root=str(tmp_path), clock=lambda: next(clock))
    first = loop.collect_once()
    assert (first.collections, first.collection_errors, first.collected_at) == (1, 0, 1000.0)
    assert first.error is None and first.duration_seconds >= 0
