"""fleet_config.yaml after every change, and IPMI Monitor's side reading it back."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from dc_overview.interop import ipmi_side
from dc_overview.interop.importer import import_ipmi_config
from dc_overview.services import Services
from tests.interop.conftest import ipmi_fixture


def _export(services: Services) -> Path:
    return services.settings.config_dir / "fleet_config.yaml"


def test_rewritten_atomically_after_every_change(services: Services) -> None:
    path = _export(services)
    key = services.keys.generate({"name": "fleet"})
    created = services.fleet.create({"name": "gpu-01", "server_ip": "10.0.0.1",
                                     "bmc_ip": "10.0.1.1", "ssh_key_id": key.id})  # fmt: skip
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert yaml.safe_load(path.read_text()) == {
        "ssh": {"username": "root", "port": 22, "key_path": key.private_key_path},
        "servers": [{"name": "gpu-01", "server_ip": "10.0.0.1", "bmc_ip": "10.0.1.1"}],
    }
    services.fleet.create({"name": "gpu-02", "server_ip": "10.0.0.2", "ssh_user": "ubuntu"})
    services.fleet.create({"name": "gpu-03", "server_ip": "10.0.0.3", "ssh_key_id": key.id})
    services.fleet.update(created.id, {"ssh_port": 2222})
    document = yaml.safe_load(path.read_text())
    assert document["ssh"] == {"username": "root", "port": 22, "key_path": key.private_key_path}
    assert document["servers"] == [
        {"name": "gpu-01", "server_ip": "10.0.0.1", "bmc_ip": "10.0.1.1", "ssh_port": 2222},
        {"name": "gpu-02", "server_ip": "10.0.0.2", "bmc_ip": None, "ssh_user": "ubuntu",
         "ssh_key": None},
        {"name": "gpu-03", "server_ip": "10.0.0.3", "bmc_ip": None},
    ]  # fmt: skip
    services.fleet.delete(created.id)
    assert [s["name"] for s in yaml.safe_load(path.read_text())["servers"]] == ["gpu-02", "gpu-03"]
    text = path.read_text()
    assert "PRIVATE KEY" not in text and "ssh-ed25519" not in text
    leftovers = [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def test_round_trip_through_ipmi_side(services: Services) -> None:
    import_ipmi_config(services, db=ipmi_fixture())
    found = ipmi_side.detect_dc_overview(services.settings.config_dir)
    assert found is not None
    assert found["fleet_config"] == _export(services)
    assert found["ssh_keys_dir"] == services.settings.ssh_keys_dir

    ssh_keys, servers = ipmi_side.import_dc_overview_config(found)

    paths = {k.id: k.private_key_path for k in services.keys.list_keys()}
    ours = [
        {"name": s.name, "server_ip": s.server_ip, "bmc_ip": s.bmc_ip, "ssh_user": s.ssh_user,
         "ssh_port": s.ssh_port, "ssh_key": paths.get(s.ssh_key_id)}
        for s in services.fleet.list_servers()
    ]  # fmt: skip
    assert servers == ours
    used = {s["ssh_key"] for s in ours if s["ssh_key"]}
    assert {k["path"] for k in ssh_keys} == used
    assert {k["name"] for k in ssh_keys} == {"gpu-fleet-ed25519"}
    for key in ssh_keys:
        assert stat.S_IMODE(Path(key["path"]).stat().st_mode) == 0o600


def test_detect_dc_overview_without_an_export(tmp_path: Path) -> None:
    assert ipmi_side.detect_dc_overview(tmp_path) is None


@pytest.mark.parametrize("text, message", [
    ("servers: [unclosed\n", "not valid YAML"),
    ("- a\n- b\n", "expected a mapping"),
    ("ssh: nope\nservers: []\n", "`ssh` must be a mapping"),
])  # fmt: skip
def test_a_broken_export_is_named(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "fleet_config.yaml").write_text(text)
    with pytest.raises(ipmi_side.FleetConfigError, match=message):
        ipmi_side.import_dc_overview_config(ipmi_side.detect_dc_overview(tmp_path))


def _scripted(answers: list[str | None]):
    asked: list[str] = []

    def prompt(message: str) -> str | None:
        asked.append(message)
        return answers.pop(0)

    return prompt, asked


def test_bmc_prompts_validate_and_ask_again() -> None:
    servers = [
        {"name": "a", "server_ip": "10.0.0.11", "bmc_ip": None},
        {"name": "b", "server_ip": "10.0.0.12", "bmc_ip": None},
        {"name": "c", "server_ip": "10.0.0.13", "bmc_ip": "10.9.0.13"},
        {"name": "d", "server_ip": "10.0.0.14", "bmc_ip": None},
    ]
    original = json.dumps(servers)
    prompt, asked = _scripted([
        "not-an-ip", "10.0.0.11", "224.0.0.1", " 10.9.0.11 ",  # a: three refusals, then ok
        "10.9.0.11", "10.9.0.13", "",  # b: two addresses already in use, then skipped
        "fe80::1",  # d: IPv6 is fine
    ])  # fmt: skip

    linked, skipped = ipmi_side.ask_bmc_ips(servers, prompt)

    assert [(s["name"], s["bmc_ip"]) for s in linked] == [
        ("a", "10.9.0.11"), ("c", "10.9.0.13"), ("d", "fe80::1")]  # fmt: skip
    assert [s["name"] for s in skipped] == ["b"]
    assert json.dumps(servers) == original, "the caller's list is not changed"
    assert asked[0].startswith("BMC IP for a (server 10.0.0.11")
    assert "'not-an-ip' is not an IPv4 or IPv6 address" in asked[1]
    assert "10.0.0.11 is the server's own OS address" in asked[2]
    assert "224.0.0.1 cannot be a BMC address" in asked[3]
    assert "10.9.0.11 is already another server's BMC" in asked[5]
    assert "10.9.0.13 is already another server's BMC" in asked[6]
    assert len(asked) == 8


def test_cancelling_skips_the_rest_without_asking() -> None:
    servers = [{"name": n, "server_ip": f"10.0.0.{i}", "bmc_ip": None}
               for i, n in enumerate("xyz", start=1)]  # fmt: skip
    prompt, asked = _scripted([None])
    linked, skipped = ipmi_side.ask_bmc_ips(servers, prompt)
    assert (linked, [s["name"] for s in skipped], len(asked)) == ([], ["x", "y", "z"], 1)


def test_ipmi_side_imports_only_the_standard_library_and_yaml() -> None:
    """IPMI Monitor vendors the file: loaded on its own, it must pull in nothing of ours."""
    probe = (
        "import importlib.util, sys\n"
        "before = set(sys.modules)\n"
        f"spec = importlib.util.spec_from_file_location('ipmi_side', {ipmi_side.__file__!r})\n"
        "module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)\n"
        "new = {m.split('.')[0] for m in set(sys.modules) - before}\n"
        "extension = {'yaml', '_yaml', 'cython_runtime', 'ipmi_side'}  # PyYAML's C extension\n"
        "allowed = set(sys.stdlib_module_names) | extension\n"
        "print(sorted(m for m in new - allowed if not m.startswith('_cython_')))\n"
    )
    result = subprocess.run([sys.executable, "-I", "-c", probe], capture_output=True, text=True,
                            cwd="/")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
