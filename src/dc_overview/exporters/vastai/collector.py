"""Refresh the Vast.ai API in the background (cached), render the last good values.

Each account has three endpoints (user, machines, earnings). A failed call keeps that
endpoint's last good data and marks it: `vastai_exporter_up{account}` drops to 0 and
`vastai_exporter_error{account,endpoint,reason}` says why.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from ..version import VERSION
from .client import VastApiError, VastClient
from .metrics import (
    ACCOUNT_METRICS,
    EARNINGS_METRICS,
    MACHINE_LABELS,
    MACHINE_METRICS,
    OCCUPANCY,
    OCCUPANCY_HELP,
    PER_MACHINE_EARNINGS,
    number,
)

log = logging.getLogger(__name__)
ENDPOINTS = ("user", "machines", "earnings")


@dataclass(frozen=True)
class EndpointState:
    """The last good answer of one endpoint, and how the last call went."""

    data: Any = None
    reason: str = "pending"
    last_success: float = 0.0
    errors: int = 0


class VastRefresher:
    """Calls the API for every account each `cache_seconds`; `state` is replaced atomically."""

    def __init__(
        self,
        clients: tuple[VastClient, ...],
        cache_seconds: float = 60.0,
        earnings_days: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._clients = clients
        self._cache_seconds = cache_seconds
        self._earnings_days = earnings_days
        self._clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.state: dict[str, dict[str, EndpointState]] = {
            client.account.name: {endpoint: EndpointState() for endpoint in ENDPOINTS}
            for client in clients
        }

    def refresh_once(self) -> None:
        """One round over all accounts; publishes a new state dict."""
        new_state = dict(self.state)
        for client in self._clients:
            new_state[client.account.name] = self._refresh_account(client)
        self.state = new_state

    def _refresh_account(self, client: VastClient) -> dict[str, EndpointState]:
        name = client.account.name
        old = self.state[name]
        fresh = dict(old)
        fresh["user"] = self._call(name, "user", old["user"], client.current_user)
        fresh["machines"] = self._call(name, "machines", old["machines"], client.machines)
        user_id = (fresh["user"].data or {}).get("id")
        if user_id is None:
            last = old["earnings"]
            fresh["earnings"] = EndpointState(
                last.data, "no_user_id", last.last_success, last.errors + 1
            )
        else:
            fresh["earnings"] = self._call(
                name, "earnings", old["earnings"], client.earnings, user_id, self._earnings_days
            )
        return fresh

    def _call(
        self, account: str, endpoint: str, old: EndpointState, function: Callable, *args: Any
    ) -> EndpointState:
        try:
            data = function(*args)
        except VastApiError as exc:
            if exc.reason != old.reason:
                log.warning("vast.ai %s for account %s failed: %s", endpoint, account, exc)
            return EndpointState(old.data, exc.reason, old.last_success, old.errors + 1)
        if old.reason not in ("", "pending"):
            log.info("vast.ai %s for account %s works again", endpoint, account)
        return EndpointState(data, "", self._clock(), old.errors)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="vastai-refresh", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2.0)
        for client in self._clients:
            client.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            self.refresh_once()
            self._stop.wait(max(0.0, self._cache_seconds - (time.monotonic() - started)))


def _gauge(name: str, help_text: str, labels: tuple[str, ...]) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, help_text, labels=list(labels))


def _machine_labels(account: str, machine: dict[str, Any]) -> list[str]:
    machine_id = machine.get("machine_id", machine.get("id", ""))
    return [account, str(machine_id), str(machine.get("hostname") or "")]


def machine_families(state: dict[str, dict[str, EndpointState]]) -> list[Metric]:
    """Per-machine metrics from the last good /machines/ answer of each account."""
    families = {
        name: _gauge(name, help_text, MACHINE_LABELS) for name, help_text, _, _ in MACHINE_METRICS
    }
    gpu_name = _gauge(
        "vast_machine_gpu_name",
        "GPU model; the value is the GPU count.",
        (*MACHINE_LABELS, "gpu_name"),
    )
    occupancy = _gauge("vastai_machine_gpu_occupancy", OCCUPANCY_HELP, (*MACHINE_LABELS, "gpu"))
    idle = _gauge("vastai_machine_gpu_idle", "Idle GPUs on the machine.", MACHINE_LABELS)
    errors = _gauge(
        "vastai_machine_ErrorDescription",
        "Machine error reported by Vast.ai.",
        (*MACHINE_LABELS, "error_description"),
    )
    for account, endpoints in state.items():
        for machine in endpoints["machines"].data or ():
            labels = _machine_labels(account, machine)
            for name, _, field, convert in MACHINE_METRICS:
                value = convert(machine.get(field))
                if value is not None:
                    families[name].add_metric(labels, value)
            if machine.get("gpu_name") and number(machine.get("num_gpus")) is not None:
                gpu_name.add_metric(
                    [*labels, str(machine["gpu_name"])], number(machine["num_gpus"])
                )
            occupancy_text = str(machine.get("gpu_occupancy") or "")
            slots = [letter for letter in occupancy_text if not letter.isspace()]
            for slot, letter in enumerate(slots):
                if letter in OCCUPANCY:
                    occupancy.add_metric([*labels, str(slot)], OCCUPANCY[letter])
            if slots:
                idle.add_metric(labels, float(sum(1 for letter in slots if letter == "x")))
            if machine.get("error_description"):
                errors.add_metric([*labels, str(machine["error_description"])[:200]], 1.0)
    return [f for f in (*families.values(), gpu_name, occupancy, idle, errors) if f.samples]


def account_families(state: dict[str, dict[str, EndpointState]]) -> list[Metric]:
    """Balance and earnings per account from the last good answers."""
    families = [_gauge(name, help_text, ("account",)) for name, help_text, _ in ACCOUNT_METRICS]
    earnings = [_gauge(name, help_text, ("account",)) for name, help_text, _, _ in EARNINGS_METRICS]
    per_machine = [
        _gauge(name, help_text, ("account", "machine_id"))
        for name, help_text, _ in PER_MACHINE_EARNINGS
    ]
    for account, endpoints in state.items():
        user = endpoints["user"].data or {}
        for family, (_, _, field) in zip(families, ACCOUNT_METRICS):  # noqa: B905 - Python 3.9
            _add(family, [account], user.get(field))
        report = endpoints["earnings"].data or {}
        for family, (_, _, section, field) in zip(earnings, EARNINGS_METRICS):  # noqa: B905
            part = report.get(section)
            _add(family, [account], part.get(field) if isinstance(part, dict) else None)
        for row in report.get("per_machine") or ():
            if isinstance(row, dict) and row.get("machine_id") is not None:
                for family, (_, _, field) in zip(per_machine, PER_MACHINE_EARNINGS):  # noqa: B905
                    _add(family, [account, str(row["machine_id"])], row.get(field))
    return [f for f in (*families, *earnings, *per_machine) if f.samples]


def _add(family: GaugeMetricFamily, labels: list[str], raw: Any) -> None:
    value = number(raw)
    if value is not None:
        family.add_metric(labels, value)


def exporter_families(state: dict[str, dict[str, EndpointState]]) -> list[Metric]:
    """The exporter's own health: up, errors, last success, error counts, build info."""
    build = _gauge("vastai_exporter_build_info", "vastai-exporter version; always 1.", ("version",))
    build.add_metric([VERSION], 1.0)
    up = _gauge(
        "vastai_exporter_up", "1 when every API call of the last refresh worked.", ("account",)
    )
    error = _gauge(
        "vastai_exporter_error",
        "1 while an endpoint fails, with the reason.",
        ("account", "endpoint", "reason"),
    )
    success = _gauge(
        "vastai_exporter_last_success_timestamp_seconds",
        "Unix time of the endpoint's last good answer.",
        ("account", "endpoint"),
    )
    failures = CounterMetricFamily(
        "vastai_exporter_api_errors",
        "Failed API calls since start.",
        labels=["account", "endpoint"],
    )
    for account, endpoints in state.items():
        up.add_metric([account], 0.0 if any(s.reason for s in endpoints.values()) else 1.0)
        for endpoint, endpoint_state in endpoints.items():
            if endpoint_state.reason:
                error.add_metric([account, endpoint, endpoint_state.reason], 1.0)
            if endpoint_state.last_success:
                success.add_metric([account, endpoint], endpoint_state.last_success)
            failures.add_metric([account, endpoint], endpoint_state.errors)
    return [f for f in (build, up, error, success, failures) if f.samples]


class VastCollector:
    """prometheus_client custom collector rendering the refresher's last state."""

    def __init__(self, refresher: VastRefresher) -> None:
        self._refresher = refresher

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        state = self._refresher.state
        yield from account_families(state)
        yield from machine_families(state)
        yield from exporter_families(state)
