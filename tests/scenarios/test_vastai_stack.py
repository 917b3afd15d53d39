"""An operator who rents GPUs on Vast.ai: the quickstart with `vastai.api_keys_file` runs the
stack's vastai-exporter, and its accounts' balance reaches the stack's Prometheus without hand work.

The Vast.ai API is a fake (tests/support/vastai_api.py, the documented-shape answers) in a
container of this test on the stack's own network; `vastai.api_url` names it by a fixed address of
the test's subnet, so that not even a DNS query for it leaves the machine before it starts. The API
keys must appear nowhere but in the 0600 secret file: not in the compose file, the saved config,
a container's environment or command line (`docker inspect`), or any log.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from dc_overview.deploy import vastai
from dc_overview.deploy.config import ImagesConfig
from dc_overview.deploy.engine import DockerError, docker
from dc_overview.deploy.health import container_status
from tests.scenarios.fleet import api
from tests.support import vastai_api
from tests.support.processes import wait_until
from tests.support.quickstart import (
    STACK_CONTAINERS,
    QuickstartRun,
    leftovers,
    new_run,
    prepare_engine,
    proxy_session,
    target_health,
    volume_names,
)

pytestmark = pytest.mark.docker
KEYS = (vastai_api.KEY_MAIN, vastai_api.KEY_SPARE)
FAKE_API_PORT = 8080
FAKE_API_HOST = 200  # the last octet in the test's /24: compose hands out addresses from .2 up


@dataclass
class VastStack:
    run: QuickstartRun
    session: requests.Session
    output: str  # what the quickstart printed
    fake_api: str  # the fake Vast.ai API's container


def fake_api_address(run: QuickstartRun) -> str:
    return str(ipaddress.ip_network(run.subnet)[FAKE_API_HOST])


def start_fake_api(run: QuickstartRun, name: str) -> None:
    """The shared replay module, run by the app image's python on the stack's network."""
    script = Path(vastai_api.__file__).resolve()
    docker(["run", "-d", "--name", name, "--network", run.network,
            "--ip", fake_api_address(run), "--entrypoint", "python3",
            "-v", f"{script}:/srv/vastai_api.py:ro", ImagesConfig().dc_overview,
            "/srv/vastai_api.py", str(FAKE_API_PORT)])  # fmt: skip


def remove_container(name: str) -> None:
    with contextlib.suppress(DockerError):
        docker(["rm", "-f", "-v", name])


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VastStack]:
    prepare_engine()
    volumes_before = volume_names()
    run = new_run(tmp_path_factory.mktemp("vastai-stack"))
    keys = run.root / "vast-keys"
    keys.write_text(f"main:{vastai_api.KEY_MAIN}\nspare:{vastai_api.KEY_SPARE}\n")
    keys.chmod(0o600)
    api_url = f"http://{fake_api_address(run)}:{FAKE_API_PORT}"
    run.configure(vastai={"api_keys_file": str(keys), "api_url": api_url, "cache_seconds": 10})
    fake_api = f"{run.project}-vast-api"
    try:
        result, seconds = run.quickstart()
        assert result.returncode == 0, result.stdout + result.stderr
        print(f"quickstart with vastai-exporter to healthy stack: {seconds:.1f} s")
        start_fake_api(run, fake_api)
        yield VastStack(run, proxy_session(run), result.stdout + result.stderr, fake_api)
    finally:
        remove_container(fake_api)
        down = run.cli("down", "--volumes")
        assert down.returncode == 0, down.stdout + down.stderr
        assert leftovers(run.project) == []
        assert volume_names() - volumes_before == set(), "no volume left, anonymous ones too"
        left = docker(["ps", "-a", "--filter", f"name={run.project}", "--format", "{{.Names}}"])
        assert left.split() == []
        assert container_status(vastai.SERVICE) == "missing"


def logs(container: str) -> str:
    """Both streams: the exporter logs to stderr."""
    result = subprocess.run(["docker", "logs", container], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, timeout=30)  # fmt: skip
    return result.stdout


def query(stack: VastStack, promql: str) -> list[dict]:
    answer = stack.session.get(f"{stack.run.base_url}/prometheus/api/v1/query",
                               params={"query": promql}, timeout=10).json()  # fmt: skip
    return answer["data"]["result"]


def test_exporter_is_healthy_and_listed_by_status(stack: VastStack) -> None:
    assert vastai.SERVICE in STACK_CONTAINERS, "stale test stacks must include it"
    assert container_status(vastai.SERVICE) == "healthy"
    status = stack.run.cli("status")
    assert status.returncode == 0, status.stdout + status.stderr
    row = next(line for line in status.stdout.splitlines() if vastai.SERVICE in line)
    assert "healthy" in row, status.stdout
    ports = docker(["inspect", "--format", "{{json .NetworkSettings.Ports}}", vastai.SERVICE])
    assert all(not bindings for bindings in json.loads(ports).values()), ports
    user = docker(["inspect", "--format", "{{.Config.User}}", vastai.SERVICE]).strip()
    assert user == "10001:10001"


def test_balance_reaches_prometheus_through_the_vastai_job(stack: VastStack) -> None:
    wait_until(lambda: target_health(stack.session, stack.run).get(("vastai", vastai.SERVICE))
               == "up", 90, "the stack's vastai-exporter target up")  # fmt: skip

    def balance() -> float | None:
        found = query(stack, 'vastai_account_balance{job="vastai",account="main"}')
        return float(found[0]["value"][1]) if found else None

    wait_until(lambda: balance() is not None, 90, "vastai_account_balance in Prometheus")
    assert balance() == 1234.56
    spare = query(stack, 'vastai_account_balance{account="spare"}')
    assert [(s["metric"]["instance"], s["value"][1]) for s in spare] == [(vastai.SERVICE, "10")]
    up = query(stack, 'vastai_exporter_up{account="main"}')
    assert up[0]["value"][1] == "1"
    told = api(stack.session, stack.run, "GET", "prometheus/targets")["targets"]
    assert [(t["job"], t["address"]) for t in told if t["job"] == "vastai"] == [
        ("vastai", "vastai-exporter:8622")
    ]


def test_keys_are_nowhere_but_in_the_secret_file(stack: VastStack) -> None:
    config_dir = stack.run.config_dir
    secret = config_dir / "secrets" / vastai.KEYS_SECRET
    assert secret.stat().st_mode & 0o777 == 0o600
    assert all(key in secret.read_text() for key in KEYS)
    containers = [n for n in STACK_CONTAINERS if container_status(n) != "missing"]
    places = {
        "compose file": (config_dir / "docker-compose.yml").read_text(),
        "saved config": (config_dir / "quickstart.yaml").read_text(),
        "quickstart output": stack.output,
        "docker inspect": docker(["inspect", *containers]),
        "exporter log": logs(vastai.SERVICE),
        "app log": logs("dc-overview"),
        "Prometheus log": logs("prometheus"),
    }
    assert "serving on :8622" in places["exporter log"], places["exporter log"]
    assert vastai.SERVICE in containers and "/run/secrets/vastai_api_keys" in places["compose file"]
    for where, text in places.items():
        for key in KEYS:
            assert key not in text and key[:16] not in text, f"an API key in the {where}"


def test_rerun_without_key_file_removes_the_exporter_and_its_key_copy(stack: VastStack) -> None:
    """Last: the stack without Vast.ai is the default one again."""
    run = stack.run
    run.configure(vastai={})
    result, seconds = run.quickstart()
    assert result.returncode == 0, result.stdout + result.stderr
    print(f"quickstart re-run without Vast.ai: {seconds:.1f} s")
    assert container_status(vastai.SERVICE) == "missing"
    assert not (run.config_dir / "secrets" / vastai.KEYS_SECRET).exists()
    assert vastai.SERVICE not in (run.config_dir / "docker-compose.yml").read_text()
    stack_targets = run.config_dir / "prometheus" / "targets" / "vastai.stack.json"
    assert json.loads(stack_targets.read_text()) == []
    status = run.cli("status").stdout
    assert "not configured" in next(line for line in status.splitlines() if vastai.SERVICE in line)
