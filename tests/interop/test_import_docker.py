"""On a real Docker engine: the quickstart mounts IPMI Monitor's data volume read-only into the app
and imports from it inside the container, as the app's user; a second import changes nothing."""

from __future__ import annotations

import json
import stat
import subprocess
from collections.abc import Iterator

import pytest
import yaml

from dc_overview.deploy.engine import DockerError, docker
from dc_overview.interop.detect import DATA_VOLUME
from tests.interop.conftest import ipmi_fixture
from tests.support.docker_engine import ensure_docker
from tests.support.processes import cli_binary
from tests.support.quickstart import QuickstartRun, leftovers, new_run, remove_stale_test_stacks

pytestmark = pytest.mark.docker
TEST_LABEL = "dc-overview-test=ipmi-import"
APP_IMAGE_ENTRY = ["--entrypoint", "cp", "--user", "0"]


def _volume_labels() -> dict | None:
    try:
        return json.loads(docker(["volume", "inspect", DATA_VOLUME]))[0].get("Labels") or {}
    except DockerError:
        return None


def _fake_ipmi_monitor_volume(image: str) -> None:
    """IPMI Monitor's volume holding the real fixture database (written by root, as it is)."""
    labels = _volume_labels()
    if labels is not None and labels.get("dc-overview-test") != "ipmi-import":
        pytest.fail(f"a Docker volume {DATA_VOLUME} of a real IPMI Monitor exists; not touching it")
    if labels is not None:
        docker(["volume", "rm", DATA_VOLUME])
    docker(["volume", "create", "--label", TEST_LABEL, DATA_VOLUME])
    fixture = ipmi_fixture()
    docker(["run", "--rm", *APP_IMAGE_ENTRY, "-v", f"{DATA_VOLUME}:/data",
            "-v", f"{fixture.parent}:/fixture:ro", image,
            "/fixture/ipmi_events.db", "/data/ipmi_events.db"])  # fmt: skip


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[QuickstartRun]:
    ensure_docker()
    remove_stale_test_stacks()
    built = subprocess.run([cli_binary(), "images", "build", "--offline"], capture_output=True,
                           text=True, timeout=1200)  # fmt: skip
    assert built.returncode == 0, built.stdout + built.stderr
    run = new_run(tmp_path_factory.mktemp("ipmi-import"))
    config = yaml.safe_load(run.config_file.read_text())
    run.config_file.write_text(yaml.safe_dump({**config, "import_from_ipmi": True}))
    try:
        from dc_overview.deploy.config import QuickstartConfig

        _fake_ipmi_monitor_volume(QuickstartConfig().images.dc_overview)
        result, _ = run.quickstart()
        assert result.returncode == 0, result.stdout + result.stderr
        run.output = result.stdout  # type: ignore[attr-defined]
        yield run
    finally:
        down = run.cli("down", "--volumes")
        subprocess.run(["docker", "volume", "rm", DATA_VOLUME], capture_output=True)
        assert down.returncode == 0, down.stdout + down.stderr
        assert leftovers(run.project) == []


def _in_app(*args: str) -> str:
    return docker(["exec", "dc-overview", "dc-overview", *args])


def test_quickstart_imported_inside_the_app(stack: QuickstartRun) -> None:
    output = " ".join(stack.output.split())  # type: ignore[attr-defined]
    assert "IPMI Monitor import: 5 imported, 1 skipped" in output
    assert "server gpu-node-03 skipped: deprecated in IPMI Monitor" in output
    servers = json.loads(_in_app("servers", "list", "--json"))
    assert [(s["name"], s["server_ip"], s["bmc_ip"]) for s in servers] == [
        ("gpu-node-01", "10.20.0.11", "10.10.0.11"),
        ("gpu-node-02", "10.20.0.12", "10.10.0.12"),
        ("gpu-node-04", "10.20.0.14", "10.10.0.14"),
    ]


def test_the_volume_is_mounted_read_only_and_keys_are_private(stack: QuickstartRun) -> None:
    mounts = json.loads(docker(["inspect", "--format", "{{json .Mounts}}", "dc-overview"]))
    [ipmi] = [m for m in mounts if m["Destination"] == "/ipmi-monitor-data"]
    assert (ipmi["Name"], ipmi["RW"]) == (DATA_VOLUME, False)
    keys = sorted((stack.config_dir / "ssh_keys").iterdir())
    assert [k.name for k in keys] == ["gpu-fleet-ed25519", "gpu-legacy-ed25519"]
    assert all(stat.S_IMODE(k.stat().st_mode) == 0o600 for k in keys)
    export = yaml.safe_load((stack.config_dir / "fleet_config.yaml").read_text())
    assert export["ssh"]["key_path"] == "/etc/dc-overview/ssh_keys/gpu-fleet-ed25519"
    assert [s["name"] for s in export["servers"]] == ["gpu-node-01", "gpu-node-02", "gpu-node-04"]


def test_a_second_import_in_the_app_changes_nothing(stack: QuickstartRun) -> None:
    report = json.loads(_in_app("import", "ipmi-monitor", "--json"))  # found at its mount
    assert report["source"] == "/ipmi-monitor-data/ipmi_events.db"
    assert report["counts"]["unchanged"] == 5
    assert report["counts"]["imported"] == report["counts"]["updated"] == 0
