"""A database written by ipmi-monitor 1.2.0's own models, with rows chosen to test the mapping."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from dc_overview.interop.importer import import_ipmi_config
from dc_overview.interop.report import ImportReport
from dc_overview.services import Services
from tests.interop.ipmi_release import ipmi_monitor_python, make_ipmi_database
from tests.support.snapshot import inventory_snapshot


def _ed25519() -> str:
    key = ed25519.Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                            serialization.NoEncryption())  # fmt: skip
    return pem.decode().strip()


def _rsa_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM,
                            serialization.PrivateFormat.TraditionalOpenSSL,
                            serialization.NoEncryption())  # fmt: skip
    return pem.decode().strip()


def _spec() -> dict:
    fleet_key, inline_key = _ed25519(), _ed25519()
    servers = [  # (server_name, bmc_ip, server_ip, status)
        ("GPU Node #7", "10.1.0.7", "10.2.0.7", "active"),
        ("worker-b", "10.1.0.8", "10.2.0.8", "active"),
        ("no-os-ip", "10.1.0.9", None, "active"),
        ("bmc-as-os", "10.1.0.10", "10.1.0.10", "active"),
        ("bad-address", "10.1.0.11", "300.1.1.1", "active"),
        ("rsa-host", "10.1.0.12", "10.2.0.12", "active"),
        ("broken-key-host", "10.1.0.13", "10.2.0.13", "active"),
        ("maint", "10.1.0.14", "10.2.0.14", "maintenance"),
        ("retired", "10.1.0.15", "10.2.0.15", "deprecated"),
        ("inline", "10.1.0.16", "10.2.0.16", "active"),
        ("no-config", "10.1.0.17", "10.2.0.17", "active"),
        ("dangling", "10.1.0.18", "10.2.0.18", "active"),
    ]
    configs = [
        {"bmc_ip": "10.1.0.7", "ssh_user": "root", "ssh_port": 22, "ssh_key_name": "fleet-a"},
        {"bmc_ip": "10.1.0.8", "ssh_user": "ubuntu", "ssh_port": 2200,
         "ssh_key_name": "fleet-a-copy", "ssh_pass": "secret-pass-b"},
        {"bmc_ip": "10.1.0.12", "ssh_user": "root", "ssh_port": 22, "ssh_key_name": "rsa-pem"},
        {"bmc_ip": "10.1.0.13", "ssh_user": "root", "ssh_port": 22, "ssh_key_name": "broken"},
        {"bmc_ip": "10.1.0.14", "ssh_user": "ops", "ssh_port": 22, "ssh_pass": "secret-pass-m"},
        {"bmc_ip": "10.1.0.16", "ssh_user": "root", "ssh_port": 22, "ssh_key": inline_key},
        {"bmc_ip": "10.1.0.18", "ssh_user": "root", "ssh_port": 22, "ssh_key_id": 99},
    ]  # fmt: skip
    names = {bmc: name for name, bmc, _, _ in servers}
    return {
        "keys": [
            {"name": "fleet-a", "key_content": fleet_key},
            {"name": "fleet-a-copy", "key_content": fleet_key + "\n"},
            {"name": "rsa-pem", "key_content": _rsa_pem()},
            {
                "name": "broken",
                "key_content": "-----BEGIN OPENSSH PRIVATE KEY-----\nnot a "
                "key\n-----END OPENSSH PRIVATE KEY-----",
            },
        ],
        "servers": [
            {
                "server_name": n,
                "bmc_ip": b,
                "server_ip": ip,
                "status": s,
                "reason": "replaced" if s == "deprecated" else None,
            }
            for n, b, ip, s in servers
        ],
        "configs": [{**c, "server_name": names[c["bmc_ip"]]} for c in configs],
        "settings": {"ssh_user": "admin", "default_ssh_key_id": "fleet-a"},
    }


@pytest.fixture(scope="module")
def ipmi_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("ipmi-monitor-data")
    make_ipmi_database(ipmi_monitor_python(), data_dir, _spec())
    return data_dir / "ipmi_events.db"


def _by_name(report: ImportReport) -> dict[str, object]:
    return {o.source.split(" (BMC")[0]: o for o in report.of("server")}


def test_rows_written_by_ipmi_monitor_map_as_designed(
    services: Services, ipmi_database: Path
) -> None:
    report = import_ipmi_config(services, db=ipmi_database)
    rows = _by_name(report)
    results = {name: outcome.result for name, outcome in rows.items()}
    assert results == {
        "GPU Node #7": "imported", "worker-b": "imported", "no-os-ip": "held",
        "bmc-as-os": "held", "bad-address": "skipped", "rsa-host": "imported",
        "broken-key-host": "imported", "maint": "imported", "retired": "skipped",
        "inline": "imported", "no-config": "imported", "dangling": "imported",
    }  # fmt: skip
    assert "server_ip" in rows["bad-address"].reason
    assert "BMC address, which is not the OS address" in rows["bmc-as-os"].reason
    assert "deprecated in IPMI Monitor: replaced" in rows["retired"].reason
    assert any("names no key" in n for n in rows["dangling"].notes)
    assert any("'broken' was not imported" in n for n in rows["broken-key-host"].notes)
    for name in ("maint", "worker-b"):  # a password, but also a key (maint: the default one)
        assert any("password is not imported; the key is used" in n for n in rows[name].notes)


def test_names_labels_users_ports_and_keys(services: Services, ipmi_database: Path) -> None:
    import_ipmi_config(services, db=ipmi_database)
    keys = {key.id: key.name for key in services.keys.list_keys()}
    servers = {s.name: s for s in services.fleet.list_servers()}
    renamed = servers["GPU-Node-7"]
    assert renamed.labels == {"ipmi_name": "GPU Node #7"}
    assert (renamed.server_ip, renamed.bmc_ip) == ("10.2.0.7", "10.1.0.7")
    summary = {name: (s.ssh_user, s.ssh_port, keys.get(s.ssh_key_id))
               for name, s in servers.items()}  # fmt: skip
    assert summary == {
        "GPU-Node-7": ("root", 22, "fleet-a"),
        "worker-b": ("ubuntu", 2200, "fleet-a"),  # the same key twice: one key here
        "rsa-host": ("root", 22, "rsa-pem"),
        "broken-key-host": ("root", 22, None),
        "maint": ("ops", 22, "fleet-a"),  # IPMI Monitor's default key
        "inline": ("root", 22, "inline-key"),
        "no-config": ("admin", 22, "fleet-a"),  # its default user and key
        "dangling": ("root", 22, None),
    }
    assert sorted(keys.values()) == ["fleet-a", "inline-key", "rsa-pem"]
    for key in services.keys.list_keys():
        assert stat.S_IMODE(Path(key.private_key_path).stat().st_mode) == 0o600


def test_duplicate_and_broken_keys_are_reported(services: Services, ipmi_database: Path) -> None:
    report = import_ipmi_config(services, db=ipmi_database)
    keys = {o.source: o for o in report.of("key")}
    assert keys["ssh_key id 2"].result == "unchanged"
    assert keys["ssh_key id 2"].reason == "already stored as 'fleet-a'"
    assert keys["ssh_key id 4"].result == "skipped"
    assert "private_key" in keys["ssh_key id 4"].reason
    assert keys["server_config.ssh_key of inline"].result == "imported"


def test_reimport_and_include_disabled(services: Services, ipmi_database: Path) -> None:
    import_ipmi_config(services, db=ipmi_database)
    before = inventory_snapshot(services)
    again = import_ipmi_config(services, db=ipmi_database)
    assert inventory_snapshot(services) == before
    assert again.counts()["imported"] == again.counts()["updated"] == 0

    with_retired = import_ipmi_config(services, db=ipmi_database, include_disabled=True)
    assert [o.name for o in with_retired.of("server", "imported")] == ["retired"]
