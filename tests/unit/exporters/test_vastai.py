"""vastai-exporter pieces: the key file, conversions, rendering and last-good values."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from dc_overview.exporters.vastai.client import (
    Account,
    KeyFileError,
    VastApiError,
    load_accounts,
)
from dc_overview.exporters.vastai.collector import EndpointState, VastCollector, VastRefresher
from dc_overview.exporters.vastai.metrics import number, verified
from tests.unit.exporters.helpers import samples, value_of

KEY = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"


def test_key_file_formats(tmp_path: Path) -> None:
    path = tmp_path / "keys"
    path.write_text(f"# comment\n\nmain:{KEY}\n{KEY[::-1]}\n")
    os.chmod(path, 0o600)
    accounts = load_accounts(str(path))
    assert [a.name for a in accounts] == ["main", "account2"]
    assert accounts[0].key == KEY
    assert KEY not in repr(accounts[0])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "holds no API key"),
        (f"bad name:{KEY}\n", "line 1"),
        ("main:short\n", "line 1"),
        (f"a:{KEY}\na:{KEY}\n", "unique"),
    ],
)
def test_bad_key_files_never_quote_the_key(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "keys"
    path.write_text(content)
    with pytest.raises(KeyFileError, match=message) as failure:
        load_accounts(str(path))
    assert KEY not in str(failure.value) and "short" not in str(failure.value)


def test_readable_key_file_warns(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "keys"
    path.write_text(f"main:{KEY}\n")
    os.chmod(path, 0o644)
    with caplog.at_level(logging.WARNING):
        load_accounts(str(path))
    assert "chmod 600" in caplog.text and KEY not in caplog.text


@pytest.mark.parametrize(
    ("raw", "value"),
    [(3, 3.0), (0.99, 0.99), ("12.5", 12.5), (True, 1.0), (None, None), ("n/a", None), ({}, None)],
)
def test_number(raw: object, value: float | None) -> None:
    assert number(raw) == value


@pytest.mark.parametrize(
    ("raw", "value"),
    [("verified", 1.0), ("unverified", 0.0), ("deverified", 0.0), (True, 1.0), (None, None)],
)
def test_verified(raw: object, value: float | None) -> None:
    assert verified(raw) == value


MACHINE = {
    "machine_id": 12345,
    "id": 12345,
    "hostname": "rig-01",
    "gpu_name": "RTX 4090",
    "num_gpus": 4,
    "listed": True,
    "verification": "verified",
    "reliability2": 0.9963,
    "gpu_occupancy": "D D I x",
    "earn_day": 12.34,
    "inet_down": 850.3,
    "inet_up": None,
    "error_description": None,
}


class FakeClient:
    """Answers from dicts; an answer that is an exception is raised."""

    def __init__(self, name: str, answers: dict) -> None:
        self.account = Account(name, KEY)
        self.answers = answers

    def _answer(self, endpoint: str) -> object:
        answer = self.answers[endpoint]
        if isinstance(answer, Exception):
            raise answer
        return answer

    def current_user(self) -> object:
        return self._answer("user")

    def machines(self) -> object:
        return self._answer("machines")

    def earnings(self, user_id: object, days: float) -> object:
        assert user_id == 77
        return self._answer("earnings")

    def close(self) -> None:
        pass


def _good() -> dict:
    return {
        "user": {"id": 77, "balance": 12.5, "credit": 3.0},
        "machines": [MACHINE],
        "earnings": {
            "summary": {"total_gpu": 100.5, "total_stor": 1.25},
            "current": {"balance": 20.0, "service_fee": 0.5},
            "per_machine": [{"machine_id": 12345, "gpu_earn": 99.5, "sto_earn": 1.0}],
        },
    }


def render(refresher: VastRefresher) -> dict:
    from prometheus_client import CollectorRegistry, generate_latest

    registry = CollectorRegistry(auto_describe=False)
    registry.register(VastCollector(refresher))
    return samples(generate_latest(registry).decode())


def test_render_from_the_api_shape() -> None:
    refresher = VastRefresher((FakeClient("main", _good()),), clock=lambda: 1700000000.0)
    refresher.refresh_once()
    parsed = render(refresher)
    machine = dict(account="main", machine_id="12345", hostname="rig-01")
    assert value_of(parsed, "vastai_account_balance", account="main") == 12.5
    assert value_of(parsed, "vast_machine_Listed", **machine) == 1
    assert value_of(parsed, "vast_machine_Verification", **machine) == 1
    assert value_of(parsed, "vast_machine_Reliability", **machine) == pytest.approx(0.9963)
    assert value_of(parsed, "vast_machine_gpu_name", gpu_name="RTX 4090") == 4
    assert [value_of(parsed, "vastai_machine_gpu_occupancy", gpu=str(i)) for i in range(4)] == [
        2,
        2,
        1,
        0,
    ]
    assert value_of(parsed, "vastai_machine_gpu_idle", **machine) == 1
    assert value_of(parsed, "vastai_machine_earn_day", **machine) == pytest.approx(12.34)
    assert value_of(parsed, "vastai_earnings_total_gpu", account="main") == 100.5
    assert value_of(parsed, "vastai_earnings_machine_gpu", machine_id="12345") == 99.5
    assert "vastai_machine_InetUp" not in parsed  # null in the answer: absent, not 0
    assert "vastai_earnings_total_bwu" not in parsed
    assert value_of(parsed, "vastai_exporter_up", account="main") == 1
    assert value_of(parsed, "vastai_exporter_last_success_timestamp_seconds", endpoint="user") == (
        1700000000.0
    )


def test_failures_keep_the_last_good_values() -> None:
    answers = _good()
    refresher = VastRefresher((FakeClient("main", answers),))
    refresher.refresh_once()
    answers["machines"] = VastApiError("http_500", "/machines/: HTTP 500")
    answers["user"] = VastApiError("timeout", "/users/current/: no answer")
    refresher.refresh_once()
    parsed = render(refresher)
    assert value_of(parsed, "vastai_exporter_up", account="main") == 0
    assert value_of(parsed, "vastai_exporter_error", endpoint="machines", reason="http_500") == 1
    assert value_of(parsed, "vastai_exporter_error", endpoint="user", reason="timeout") == 1
    assert value_of(parsed, "vast_machine_Listed", machine_id="12345") == 1  # last good value
    assert value_of(parsed, "vastai_account_balance", account="main") == 12.5
    assert value_of(parsed, "vastai_exporter_api_errors_total", endpoint="machines") == 1


def test_occupancy_with_or_without_spaces() -> None:
    machine = {**MACHINE, "gpu_occupancy": "RDIx"}
    refresher = VastRefresher((FakeClient("main", {**_good(), "machines": [machine]}),))
    refresher.refresh_once()
    parsed = render(refresher)
    slots = [value_of(parsed, "vastai_machine_gpu_occupancy", gpu=str(i)) for i in range(4)]
    assert slots == [3, 2, 1, 0]


def test_odd_answers_never_break_a_scrape() -> None:
    odd = {
        "user": {"id": 77, "balance": "lots", "credit": None},
        "machines": [{"machine_id": 1, "num_gpus": "four", "gpu_occupancy": 7, "listed": 0}],
        "earnings": {"summary": [1, 2], "current": "n/a", "per_machine": {"machine_id": 1}},
    }
    refresher = VastRefresher((FakeClient("main", odd),))
    refresher.refresh_once()
    parsed = render(refresher)
    assert "vastai_account_balance" not in parsed and "vastai_earnings_total_gpu" not in parsed
    assert value_of(parsed, "vast_machine_Listed", machine_id="1") == 0
    assert "vast_machine_num_gpus" not in parsed


def test_never_answered_means_no_values() -> None:
    answers = {name: VastApiError("http_401", "HTTP 401") for name in ("user", "machines")}
    refresher = VastRefresher((FakeClient("main", answers),))
    refresher.refresh_once()
    parsed = render(refresher)
    assert "vastai_account_balance" not in parsed and "vast_machine_Listed" not in parsed
    assert refresher.state["main"]["earnings"] == EndpointState(None, "no_user_id", 0.0, 1)
