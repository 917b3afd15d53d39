"""The real vastai-exporter process against a local server replaying Vast.ai API answers.

The answers (tests/support/vastai_api.py) follow the documented shape of GET
/api/v0/users/current/, /api/v0/machines/ and /api/v0/users/{id}/machine-earnings/. All traffic
stays on 127.0.0.1.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import requests

from tests.support.processes import Daemon, free_port, start_daemon
from tests.support.vastai_api import KEY_MAIN, KEY_SPARE, FakeVast
from tests.unit.exporters.helpers import (
    assert_promtool_passes,
    exporter_binary,
    samples,
    value_of,
    wait_until,
)

pytestmark = pytest.mark.integration

# Metric names existing Vast dashboards query; promtool calls them camelCase.
VAST_LINT = tuple(
    f"{name} metric names should be written in 'snake_case' not 'camelCase'"
    for name in (
        "vast_machine_InetDown",
        "vastai_machine_InetUp",
        "vastai_machine_ErrorDescription",
    )
)


@pytest.fixture
def vast():
    server = FakeVast()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def start_exporter(tmp_path: Path, vast: FakeVast, *args: str) -> tuple[Daemon, str]:
    keys = tmp_path / "vast-keys"
    keys.write_text(f"# Vast accounts\nmain:{KEY_MAIN}\nspare:{KEY_SPARE}\n")
    keys.chmod(0o600)
    port = free_port()
    argv = [
        exporter_binary("vastai-exporter"),
        "--listen",
        f"127.0.0.1:{port}",
        "--api-keys-file",
        str(keys),
        "--api-url",
        vast.url,
        "--cache-seconds",
        "0.3",
        "--timeout",
        "0.5",
        "--log-level",
        "debug",
        *args,
    ]
    return start_daemon(f"vastai-{port}", argv, tmp_path / "logs"), f"http://127.0.0.1:{port}"


def scrape(url: str) -> str | None:
    try:
        response = requests.get(f"{url}/metrics", timeout=5)
    except requests.RequestException:
        return None
    return response.text if response.status_code == 200 else None


def scrape_when(url: str, daemon: Daemon, check) -> dict:
    def ready() -> dict | None:
        assert daemon.process.poll() is None, daemon.log()
        text = scrape(url)
        parsed = samples(text) if text else None
        return parsed if parsed and check(parsed) else None

    return wait_until(ready, timeout=20)


def both_up(parsed: dict) -> bool:
    return all(value_of(parsed, "vastai_exporter_up", account=a) == 1 for a in ("main", "spare"))


def test_accounts_machines_and_earnings(tmp_path: Path, vast: FakeVast) -> None:
    daemon, url = start_exporter(tmp_path, vast)
    try:
        parsed = scrape_when(url, daemon, both_up)
        text = scrape(url)
    finally:
        daemon.stop()
    assert_promtool_passes(text, allowed=VAST_LINT)
    rig_a = dict(account="main", machine_id="5001", hostname="rig-a")
    assert value_of(parsed, "vastai_account_balance", account="main") == 1234.56
    assert value_of(parsed, "vastai_account_balance", account="spare") == 10
    assert value_of(parsed, "vast_machine_Listed", **rig_a) == 1
    assert value_of(parsed, "vast_machine_Verification", **rig_a) == 1
    assert value_of(parsed, "vast_machine_Reliability", **rig_a) == pytest.approx(0.9971)
    assert value_of(parsed, "vast_machine_InetDown", **rig_a) == pytest.approx(935.2)
    assert value_of(parsed, "vastai_machine_InetUp", **rig_a) == pytest.approx(912.5)
    assert value_of(parsed, "vastai_machine_earn_day", **rig_a) == pytest.approx(19.92)
    occupancy = [
        value_of(parsed, "vastai_machine_gpu_occupancy", gpu=str(i), **rig_a) for i in range(4)
    ]
    assert occupancy == [2, 1, 0, 0]
    assert value_of(parsed, "vastai_earnings_total_gpu", account="main") == 512.25
    assert (
        value_of(parsed, "vastai_earnings_machine_gpu", account="main", machine_id="5002") == 212.25
    )
    assert value_of(parsed, "vastai_earnings_current_service_fee", account="main") == 3.5
    assert value_of(parsed, "vast_machine_num_gpus", account="spare", machine_id="6001") == 4
    assert "vastai_machine_ErrorDescription" not in parsed  # empty description: nothing to say
    # The keys went only into the Authorization header: not in URLs, logs or the exposition.
    assert vast.request_lines and set(vast.authorizations) == {
        f"Bearer {KEY_MAIN}",
        f"Bearer {KEY_SPARE}",
    }
    for secret in (KEY_MAIN, KEY_SPARE, KEY_MAIN[:16], KEY_SPARE[-16:]):
        assert not any(secret in line for line in vast.request_lines)
        assert secret not in daemon.log_path.read_text()
        assert secret not in text
    assert any("/api/v0/users/101/machine-earnings/?sday=" in line for line in vast.request_lines)


def test_errors_and_timeouts_keep_the_last_good_values(tmp_path: Path, vast: FakeVast) -> None:
    daemon, url = start_exporter(tmp_path, vast)
    try:
        scrape_when(url, daemon, both_up)
        for mode, reason in (("500", "http_500"), ("slow", "timeout"), ("garbage", "invalid_json")):
            vast.modes[KEY_MAIN] = mode
            parsed = scrape_when(
                url,
                daemon,
                lambda p, r=reason: value_of(
                    p, "vastai_exporter_error", account="main", endpoint="user", reason=r
                ),
            )
            assert value_of(parsed, "vastai_exporter_up", account="main") == 0
            assert value_of(parsed, "vastai_exporter_up", account="spare") == 1
            assert value_of(parsed, "vastai_account_balance", account="main") == 1234.56
            assert value_of(parsed, "vast_machine_Listed", account="main", machine_id="5002") == 1
            started = time.monotonic()
            assert scrape(url) is not None
            assert time.monotonic() - started < 0.5  # scrapes never wait for the API
        vast.modes[KEY_MAIN] = "ok"
        parsed = scrape_when(url, daemon, both_up)
        assert "vastai_exporter_error" not in parsed
        errors = value_of(
            parsed, "vastai_exporter_api_errors_total", account="main", endpoint="user"
        )
        assert errors >= 3
    finally:
        daemon.stop()
    log = daemon.log_path.read_text()
    assert "failed" in log and KEY_MAIN not in log and KEY_SPARE not in log


def test_a_rejected_key_never_shows_values(tmp_path: Path, vast: FakeVast) -> None:
    vast.modes[KEY_SPARE] = "401"
    daemon, url = start_exporter(tmp_path, vast)
    try:
        parsed = scrape_when(
            url,
            daemon,
            lambda p: (
                value_of(p, "vastai_exporter_up", account="main") == 1
                and value_of(
                    p, "vastai_exporter_error", account="spare", endpoint="user", reason="http_401"
                )
            ),
        )
    finally:
        daemon.stop()
    assert value_of(parsed, "vastai_account_balance", account="spare") is None
    assert value_of(
        parsed, "vastai_exporter_error", account="spare", endpoint="earnings", reason="no_user_id"
    )
    assert KEY_SPARE not in daemon.log_path.read_text()


def test_bad_key_file_is_refused_without_quoting_it(tmp_path: Path) -> None:
    keys = tmp_path / "vast-keys"
    keys.write_text(f"main {KEY_MAIN}\n")
    port = free_port()
    argv = [
        exporter_binary("vastai-exporter"),
        "--listen",
        f"127.0.0.1:{port}",
        "--api-keys-file",
        str(keys),
    ]
    daemon = start_daemon("vastai-bad", argv, tmp_path / "logs")
    assert daemon.process.wait(20) == 2
    assert "line 1" in daemon.log() and KEY_MAIN not in daemon.log()
