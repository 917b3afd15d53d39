"""Finding IPMI Monitor (native, Docker, mounted) and importing from servers.yaml + ssh_keys/."""

from __future__ import annotations

from pathlib import Path

import pytest

from dc_overview.interop.detect import detect_ipmi_monitor
from dc_overview.interop.importer import import_ipmi_config, read_source
from dc_overview.interop.ipmi_db import read_database
from dc_overview.interop.source import IpmiSourceError
from dc_overview.services import Services
from tests.interop.conftest import ipmi_fixture
from tests.support.snapshot import inventory_snapshot

SERVERS_YAML = """\
# as ipmi-monitor's quickstart writes it, plus a defaults section
defaults:
  ssh_user: ubuntu
  ssh_port: 22
servers:
  - name: yaml-01
    bmc_ip: 10.30.0.11
    ipmi_user: ADMIN
    ipmi_pass: bmc-secret
    server_ip: 10.40.0.11
    ssh_key_name: default-key
  - name: yaml-02
    bmc_ip: 10.30.0.12
    server_ip: 10.40.0.12
    ssh_user: root
    ssh_port: 2222
    ssh_key_name: key-2
  - name: yaml-03
    bmc_ip: 10.30.0.13
  - name: yaml-04
    bmc_ip: 10.30.0.14
    server_ip: 10.40.0.14
    ssh_pass: ssh-secret
  - name: no-bmc
    server_ip: 10.40.0.15
"""


def _fixture_keys() -> dict[str, str]:
    return {k.name: k.content for k in read_database(ipmi_fixture()).keys}


def _config_layout(config: Path) -> None:
    keys = _fixture_keys()
    (config / "ssh_keys").mkdir(parents=True)
    (config / "servers.yaml").write_text(SERVERS_YAML)
    (config / "ssh_keys" / "default-key.pem").write_text(keys["gpu-fleet-ed25519"] + "\n")
    (config / "ssh_keys" / "key-2.pem").write_text(keys["gpu-legacy-ed25519"] + "\n")
    (config / "ssh_keys" / "key-2.pem.pub").write_text("ssh-ed25519 AAAA public\n")
    (config / "ssh_keys" / "id_notakey").write_text("hello\n")
    (config / "ssh_keys" / "README").write_text("not a key pattern\n")


def _link_database(folder: Path) -> Path:
    """The shared fixture, linked (not copied) where an installation keeps its database."""
    folder.mkdir(parents=True, exist_ok=True)
    link = folder / "ipmi_events.db"
    link.symlink_to(ipmi_fixture())
    return link


def test_nothing_found(tmp_path: Path) -> None:
    assert detect_ipmi_monitor(tmp_path, inspect=lambda kind, name: None) is None
    assert detect_ipmi_monitor(tmp_path) is None  # a fake root: Docker is not asked


def test_native_installation(tmp_path: Path) -> None:
    database = _link_database(tmp_path / "var/lib/ipmi-monitor")
    _config_layout(tmp_path / "etc/ipmi-monitor")
    found = detect_ipmi_monitor(tmp_path)
    assert found is not None and found.how == "native"
    assert found.database == database
    assert found.servers_file == tmp_path / "etc/ipmi-monitor/servers.yaml"
    assert found.ssh_keys_dir == tmp_path / "etc/ipmi-monitor/ssh_keys"
    assert found.data_source == str(tmp_path / "var/lib/ipmi-monitor")


def test_native_systemd_unit_with_its_own_data_dir(tmp_path: Path) -> None:
    unit = tmp_path / "etc/systemd/system/ipmi-monitor.service"
    unit.parent.mkdir(parents=True)
    unit.write_text("[Service]\nWorkingDirectory=/home/ops/.config/ipmi-monitor\n"
                    'Environment="IPMI_MONITOR_CONFIG=/home/ops/.config/ipmi-monitor"\n'
                    "Environment=DATA_DIR=/srv/ipmi\n")  # fmt: skip
    database = _link_database(tmp_path / "srv/ipmi")
    _config_layout(tmp_path / "home/ops/.config/ipmi-monitor")
    found = detect_ipmi_monitor(tmp_path)
    assert found is not None and found.database == database
    assert found.servers_file == tmp_path / "home/ops/.config/ipmi-monitor/servers.yaml"


def test_docker_container_and_its_volume(tmp_path: Path) -> None:
    volume = "/var/lib/docker/volumes/ipmi-monitor-data/_data"
    database = _link_database(tmp_path / volume.lstrip("/"))
    _config_layout(tmp_path / "etc/ipmi-monitor")
    container = {"Mounts": [
        {"Type": "volume", "Name": "ipmi-monitor-data", "Source": volume,
         "Destination": "/app/data"},
        {"Type": "bind", "Source": "/etc/ipmi-monitor/servers.yaml",
         "Destination": "/app/config/servers.yaml"},
        {"Type": "bind", "Source": "/etc/ipmi-monitor/ssh_keys", "Destination": "/app/ssh_keys"},
    ]}  # fmt: skip
    asked: list[tuple[str, str]] = []

    def inspect(kind: str, name: str) -> dict | None:
        asked.append((kind, name))
        return container if (kind, name) == ("container", "ipmi-monitor") else None

    found = detect_ipmi_monitor(tmp_path, inspect=inspect)
    assert found is not None and found.how == "docker"
    assert (found.database, found.data_volume, found.data_source) == (
        database, "ipmi-monitor-data", "ipmi-monitor-data")  # fmt: skip
    assert found.servers_file == tmp_path / "etc/ipmi-monitor/servers.yaml"
    assert asked == [("container", "ipmi-monitor")]


def test_docker_volume_without_a_container(tmp_path: Path) -> None:
    def inspect(kind: str, name: str) -> dict | None:
        if (kind, name) == ("volume", "ipmi-monitor-data"):
            return {"Mountpoint": "/var/lib/docker/volumes/ipmi-monitor-data/_data"}
        return None

    found = detect_ipmi_monitor(tmp_path, inspect=inspect)
    assert found is not None and found.data_source == "ipmi-monitor-data"


def test_mounted_into_our_container(tmp_path: Path) -> None:
    database = _link_database(tmp_path / "ipmi-monitor-data")
    found = detect_ipmi_monitor(tmp_path, inspect=lambda kind, name: None)
    assert found is not None and (found.how, found.database) == ("mounted", database)


def test_database_preferred_over_files(tmp_path: Path) -> None:
    _link_database(tmp_path / "var/lib/ipmi-monitor")
    _config_layout(tmp_path / "etc/ipmi-monitor")
    fleet = read_source(installation=detect_ipmi_monitor(tmp_path))
    assert fleet.origin.endswith("ipmi_events.db")


def test_without_a_database_servers_yaml_and_keys_are_imported(
    tmp_path: Path, services: Services
) -> None:
    _config_layout(tmp_path / "etc/ipmi-monitor")
    installation = detect_ipmi_monitor(tmp_path)
    assert installation is not None and installation.database is None

    report = import_ipmi_config(services, installation=installation)

    keys = {k.id: k.name for k in services.keys.list_keys()}
    assert sorted(keys.values()) == ["default-key", "key-2"]
    servers = {s.name: (s.server_ip, s.bmc_ip, s.ssh_user, s.ssh_port, keys.get(s.ssh_key_id))
               for s in services.fleet.list_servers()}  # fmt: skip
    assert servers == {
        "yaml-01": ("10.40.0.11", "10.30.0.11", "ubuntu", 22, "default-key"),
        "yaml-02": ("10.40.0.12", "10.30.0.12", "root", 2222, "key-2"),
        "yaml-04": ("10.40.0.14", "10.30.0.14", "ubuntu", 22, None),
    }
    assert [o.name for o in report.of("server", "held")] == ["yaml-03"]
    skipped = {o.name: o.reason for o in report.of("row", "skipped")}
    assert "not a private key" in skipped[f"key file {installation.ssh_keys_dir}/id_notakey"]
    assert skipped["servers.yaml entry 5 (no-bmc)"] == "needs both name and bmc_ip"
    for path in services.settings.config_dir.rglob("*"):
        if path.is_file() and "secrets" not in path.parts:
            assert b"-secret" not in path.read_bytes(), path
    assert import_ipmi_config(services, installation=installation).changed is False


def test_malformed_servers_yaml_is_refused_whole(tmp_path: Path, services: Services) -> None:
    config = tmp_path / "etc/ipmi-monitor"
    config.mkdir(parents=True)
    (config / "servers.yaml").write_text("servers:\n  - name: a\n    bmc_ip: [unclosed\n")
    before = inventory_snapshot(services)
    with pytest.raises(IpmiSourceError, match=r"servers.yaml is not valid YAML \(line \d+\)"):
        import_ipmi_config(services, installation=detect_ipmi_monitor(tmp_path))
    assert inventory_snapshot(services) == before
