"""Target files: which exporters appear, their labels, atomic and consistent under concurrency."""

import json
import threading
from pathlib import Path

from dc_overview.bootstrap import prepare
from dc_overview.inventory.hostkeys import HostKeyStore
from dc_overview.prometheus.targets import JOBS, target_groups
from dc_overview.services import Services, build_services
from tests.conftest import make_settings


def _services(tmp_path: Path) -> Services:
    services = build_services(make_settings(tmp_path))
    prepare(services)
    return services


def test_only_enabled_and_installed_exporters_are_targets(tmp_path: Path) -> None:
    services = _services(tmp_path)
    services.fleet.create({
        "name": "v6", "server_ip": "2001:db8::5", "has_gpu": True, "labels": {"dc": "ams"},
        "exporters": {"node": {"installed": True}, "dc": {"installed": True, "port": 9836},
                      "vastai": {"enabled": False, "installed": True}},
    })  # fmt: skip
    services.fleet.create({"name": "pending", "server_ip": "10.0.0.2"})
    told = services.targets.read()
    assert set(told) == set(JOBS)
    assert told["node"] == [
        {"targets": ["[2001:db8::5]:9100"],
         "labels": {"dc": "ams", "instance": "v6", "server_ip": "2001:db8::5"}},
    ]  # fmt: skip
    assert told["dc-exporter"][0]["targets"] == ["[2001:db8::5]:9836"]
    assert told["vastai"] == [] and told["dcgm-exporter"] == []


def test_unchanged_inventory_does_not_rewrite_files(tmp_path: Path) -> None:
    services = _services(tmp_path)
    services.fleet.create({"name": "a", "server_ip": "10.0.0.1"})
    inode = services.targets.file_for("node").stat().st_ino
    assert services.targets.publish() == []
    assert services.targets.file_for("node").stat().st_ino == inode
    assert not [p for p in services.settings.targets_dir.iterdir() if p.suffix == ".tmp"]


def test_concurrent_changes_leave_files_matching_the_inventory(tmp_path: Path) -> None:
    services = _services(tmp_path)

    def add(index: int) -> None:
        services.fleet.create({
            "name": f"gpu-{index:02d}", "server_ip": f"10.0.1.{index}",
            "exporters": {"node": {"installed": True}},
        })  # fmt: skip

    threads = [threading.Thread(target=add, args=(i,)) for i in range(1, 21)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    on_disk = json.loads(services.targets.file_for("node").read_text())
    assert len(on_disk) == 20
    assert on_disk == target_groups(services.fleet.list_servers())["node"]


def test_host_key_store_pins_and_forgets(tmp_path: Path) -> None:
    store = HostKeyStore(_services(tmp_path).db)
    assert store.lookup("10.0.0.1", 22, "ssh-ed25519") is None
    store.trust("10.0.0.1", 22, "ssh-ed25519", "SHA256:abc")
    assert store.lookup("10.0.0.1", 22, "ssh-ed25519").fingerprint == "SHA256:abc"
    assert store.forget("10.0.0.1", 22) == 1
    assert store.lookup("10.0.0.1", 22, "ssh-ed25519") is None
