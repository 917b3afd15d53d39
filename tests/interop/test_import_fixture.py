"""The real database written by ipmi-monitor 1.2.0: what is imported, held and skipped, and why."""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path

from dc_overview.interop.importer import import_ipmi_config
from dc_overview.services import Services
from tests.interop.conftest import fixture_public_keys, ipmi_fixture, public_of
from tests.support.snapshot import inventory_snapshot

# name -> (server_ip, bmc_ip, ssh_user, ssh_port, key name or None), per the fixture README.
EXPECTED_SERVERS = {
    "gpu-node-01": ("10.20.0.11", "10.10.0.11", "root", 22, "gpu-fleet-ed25519"),
    "gpu-node-02": ("10.20.0.12", "10.10.0.12", "ubuntu", 2222, "gpu-fleet-ed25519"),
    "gpu-node-04": ("10.20.0.14", "10.10.0.14", "ubuntu", 22, None),
}
EXPECTED_KEYS = {"gpu-fleet-ed25519", "gpu-legacy-ed25519"}


def _servers(services: Services) -> dict[str, tuple]:
    names = {key.id: key.name for key in services.keys.list_keys()}
    return {
        s.name: (s.server_ip, s.bmc_ip, s.ssh_user, s.ssh_port, names.get(s.ssh_key_id))
        for s in services.fleet.list_servers()
    }


def test_exactly_the_expected_servers_and_keys(services: Services) -> None:
    report = import_ipmi_config(services, db=ipmi_fixture())

    assert _servers(services) == EXPECTED_SERVERS
    assert {o.name for o in report.of("server", "imported")} == set(EXPECTED_SERVERS)
    assert {key.name for key in services.keys.list_keys()} == EXPECTED_KEYS
    assert {o.name for o in report.of("key", "imported")} == EXPECTED_KEYS
    assert report.counts() == {"imported": 5, "updated": 0, "unchanged": 0, "held": 0,
                               "skipped": 1}  # fmt: skip
    for server in services.fleet.list_servers():
        assert server.labels == {}, "valid names are kept as they are, without a label"


def test_each_imported_private_key_matches_its_public_key(services: Services) -> None:
    import_ipmi_config(services, db=ipmi_fixture())
    public = fixture_public_keys()
    assert set(public) == EXPECTED_KEYS
    for key in services.keys.list_keys():
        path = Path(key.private_key_path)
        assert path.parent == services.settings.ssh_keys_dir
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert public_of(path) == public[key.name][0]
        assert key.fingerprint == public[key.name][1]
        assert key.public_key.startswith(public[key.name][0])


def test_skipped_rows_carry_their_reasons(services: Services) -> None:
    report = import_ipmi_config(services, db=ipmi_fixture())
    [skipped] = report.of("server", "skipped")
    assert skipped.name == "gpu-node-03"
    assert "deprecated in IPMI Monitor: decommissioned (fixture)" in skipped.reason
    assert "--include-disabled" in skipped.reason
    assert "10.10.0.13" in skipped.source
    [password_only] = [o for o in report.of("server") if o.name == "gpu-node-04"]
    assert any("password auth" in note and "bootstrap a key" in note
               for note in password_only.notes)  # fmt: skip


def test_deprecated_server_without_os_address_is_held_never_given_its_bmc(
    services: Services,
) -> None:
    report = import_ipmi_config(services, db=ipmi_fixture(), include_disabled=True)
    [held] = report.of("server", "held")
    assert held.name == "gpu-node-03"
    assert "no OS address (server_ip)" in held.reason
    assert "--bmc-ip 10.10.0.13" in held.reason
    assert all(s.server_ip != "10.10.0.13" for s in services.fleet.list_servers())
    assert "gpu-node-03" not in _servers(services)


def test_passwords_never_reach_our_inventory_or_files(services: Services) -> None:
    import_ipmi_config(services, db=ipmi_fixture(), include_disabled=True)
    settings = services.settings
    files = [p for p in (*settings.config_dir.rglob("*"), *settings.data_dir.rglob("*"))
             if p.is_file() and "secrets" not in p.parts]  # fmt: skip
    assert files
    for path in files:
        assert b"fixture-ssh-pass" not in path.read_bytes(), path
        assert b"fixture-bmc-pass" not in path.read_bytes(), path


def test_second_import_changes_nothing(services: Services) -> None:
    import_ipmi_config(services, db=ipmi_fixture())
    before = inventory_snapshot(services)
    export = services.settings.config_dir / "fleet_config.yaml"
    written = export.stat().st_mtime_ns

    again = import_ipmi_config(services, db=ipmi_fixture())

    assert inventory_snapshot(services) == before
    assert export.stat().st_mtime_ns == written
    assert again.counts() == {"imported": 0, "updated": 0, "unchanged": 5, "held": 0,
                              "skipped": 1}  # fmt: skip
    assert not again.changed


def test_dry_run_changes_nothing_and_reports_the_same(services: Services) -> None:
    before = inventory_snapshot(services)
    export = services.settings.config_dir / "fleet_config.yaml"
    exported = export.read_text()  # written at start-up, with an empty fleet
    dry = import_ipmi_config(services, db=ipmi_fixture(), dry_run=True)
    assert inventory_snapshot(services) == before
    assert export.read_text() == exported
    real = import_ipmi_config(services, db=ipmi_fixture())
    assert [(o.kind, o.name, o.result) for o in dry.outcomes] == [
        (o.kind, o.name, o.result) for o in real.outcomes
    ]


def test_changes_in_ipmi_monitor_update_ours_but_keep_our_names(services: Services) -> None:
    import_ipmi_config(services, db=ipmi_fixture())
    node1 = services.fleet.find_by_name("gpu-node-01")
    services.fleet.update(node1.id, {"name": "rack1-node01", "ssh_port": 2200,
                                     "labels": {"rack": "1"}})  # fmt: skip

    report = import_ipmi_config(services, db=ipmi_fixture())

    [updated] = report.of("server", "updated")
    assert (updated.name, updated.reason) == ("rack1-node01", "changed ssh_port")
    assert any("'gpu-node-01' in IPMI Monitor; name kept" in n for n in updated.notes)
    server = services.fleet.get(node1.id)
    assert (server.name, server.ssh_port, server.labels) == ("rack1-node01", 22, {"rack": "1"})


def test_a_key_we_already_have_is_reused(services: Services) -> None:
    from dc_overview.interop.ipmi_db import read_database

    fleet_key = next(k for k in read_database(ipmi_fixture()).keys if k.name == "gpu-fleet-ed25519")
    mine = services.keys.import_key({"name": "mine", "private_key": fleet_key.content})

    report = import_ipmi_config(services, db=ipmi_fixture())

    [reused] = [o for o in report.of("key") if o.source == "ssh_key id 1"]
    assert (reused.result, reused.name, reused.reason) == ("unchanged", "mine",
                                                           "already stored as 'mine'")  # fmt: skip
    assert services.fleet.find_by_name("gpu-node-01").ssh_key_id == mine.id
    assert {k.name for k in services.keys.list_keys()} == {"mine", "gpu-legacy-ed25519"}


def test_one_conflicting_row_does_not_stop_the_rest(services: Services) -> None:
    services.fleet.create({"name": "gpu-node-02", "server_ip": "10.99.0.2", "bmc_ip": "10.99.1.2"})
    services.fleet.create({"name": "other", "server_ip": "10.20.0.11"})

    report = import_ipmi_config(services, db=ipmi_fixture())

    reasons = {o.name: o.reason for o in report.of("server", "skipped")}
    assert "exists here with BMC 10.99.1.2" in reasons["gpu-node-02"]
    assert "10.20.0.11 port 22 is already server 'other'" in reasons["gpu-node-01"]
    assert {o.name for o in report.of("server", "imported")} == {"gpu-node-04"}


def test_the_fixture_is_only_read(services: Services) -> None:
    database = ipmi_fixture()
    digest = hashlib.sha256(database.read_bytes()).hexdigest()
    listing = sorted(p.name for p in database.parent.iterdir())
    import_ipmi_config(services, db=database)
    assert hashlib.sha256(database.read_bytes()).hexdigest() == digest
    assert sorted(p.name for p in database.parent.iterdir()) == listing
