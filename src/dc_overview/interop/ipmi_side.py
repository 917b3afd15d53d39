"""DC Overview, seen from IPMI Monitor: find it, read its fleet, link servers to BMC addresses.

IPMI Monitor may vendor this one file: it imports nothing but the standard library and PyYAML.
It reads `/etc/dc-overview/fleet_config.yaml`, which DC Overview rewrites after every change:

    ssh: {username: root, port: 22, key_path: /etc/dc-overview/ssh_keys/fleet-key}
    servers:
      - {name: gpu-01, server_ip: 10.0.0.11, bmc_ip: 10.0.1.11}
      - {name: gpu-02, server_ip: 10.0.0.12, bmc_ip: null, ssh_port: 2222}

A server's own `ssh_user`, `ssh_port` and `ssh_key` (a key path) override the `ssh` defaults.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

DEFAULT_CONFIG_DIR = Path("/etc/dc-overview")
FLEET_CONFIG = "fleet_config.yaml"
Prompt = Callable[[str], "str | None"]


class FleetConfigError(ValueError):
    """fleet_config.yaml cannot be used; the message names the file and the problem."""


def detect_dc_overview(config_dir: Path | str = DEFAULT_CONFIG_DIR) -> dict[str, Any] | None:
    """Where DC Overview's export is, or None when there is no `fleet_config.yaml`."""
    folder = Path(config_dir)
    fleet_file = folder / FLEET_CONFIG
    if not fleet_file.is_file():
        return None
    keys_dir = folder / "ssh_keys"
    return {
        "config_dir": folder,
        "fleet_config": fleet_file,
        "ssh_keys_dir": keys_dir if keys_dir.is_dir() else None,
    }


def import_dc_overview_config(dc_config: dict[str, Any]) -> tuple[list[dict], list[dict]]:
    """`(ssh_keys, servers)` from the export found by `detect_dc_overview()`.

    ssh_keys: `{"name", "path"}` once per key path (the private key stays where it is).
    servers: `{"name", "server_ip", "bmc_ip", "ssh_user", "ssh_port", "ssh_key"}`, where
    `ssh_key` is a key path or None; a server whose `bmc_ip` is None needs one (`ask_bmc_ips`).
    """
    path = Path(dc_config["fleet_config"])
    data = _load(path)
    ssh = data.get("ssh") or {}
    if not isinstance(ssh, dict):
        raise FleetConfigError(f"{path}: `ssh` must be a mapping")
    servers = [_server(entry, ssh) for entry in data.get("servers") or [] if _usable(entry)]
    paths = dict.fromkeys(s["ssh_key"] for s in servers if s["ssh_key"])
    if ssh.get("key_path"):
        paths.setdefault(str(ssh["key_path"]))
    ssh_keys = [{"name": Path(p).name, "path": p} for p in paths]
    return ssh_keys, servers


def _load(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise FleetConfigError(f"{path}: cannot be read ({exc.strerror})") from None
    except yaml.YAMLError:
        raise FleetConfigError(f"{path}: not valid YAML") from None
    if data is None:
        return {}
    if not isinstance(data, dict) or not isinstance(data.get("servers") or [], list):
        raise FleetConfigError(f"{path}: expected a mapping with a `servers` list")
    return data


def _usable(entry: Any) -> bool:
    return isinstance(entry, dict) and bool(entry.get("name")) and bool(entry.get("server_ip"))


def _server(entry: dict[str, Any], ssh: dict[str, Any]) -> dict[str, Any]:
    key = entry.get("ssh_key", ssh.get("key_path"))
    return {
        "name": str(entry["name"]),
        "server_ip": str(entry["server_ip"]),
        "bmc_ip": str(entry["bmc_ip"]) if entry.get("bmc_ip") else None,
        "ssh_user": str(entry.get("ssh_user") or ssh.get("username") or "root"),
        "ssh_port": int(entry.get("ssh_port") or ssh.get("port") or 22),
        "ssh_key": str(key) if key else None,
    }


def check_bmc_ip(text: str, server_ip: str | None = None) -> str:
    """The address, normalised; ValueError with a reason when it cannot be a BMC's."""
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        raise ValueError(f"{text.strip()!r} is not an IPv4 or IPv6 address") from None
    if address.is_unspecified or address.is_multicast or address.is_loopback:
        raise ValueError(f"{address} cannot be a BMC address")
    if server_ip and _same_address(str(address), server_ip):
        raise ValueError(f"{address} is the server's own OS address, not its BMC's")
    return str(address)


def _same_address(one: str, other: str) -> bool:
    try:
        return ipaddress.ip_address(one) == ipaddress.ip_address(other.strip())
    except ValueError:
        return False


def ask_bmc_ips(servers: list[dict], prompt: Prompt) -> tuple[list[dict], list[dict]]:
    """Ask `prompt` for the BMC address of each server that has none: `(linked, skipped)`.

    An invalid or already used address is asked again, with the reason; an empty answer
    skips that server; None (the operator cancelled) skips it and every one after it.
    Servers that already have a BMC address are linked without asking. Inputs are not changed.
    """
    used = {s["bmc_ip"] for s in servers if s.get("bmc_ip")}
    linked: list[dict] = []
    skipped: list[dict] = []
    cancelled = False
    for server in servers:
        if server.get("bmc_ip"):
            linked.append(dict(server))
            continue
        answer = None if cancelled else _ask_one(server, prompt, used)
        cancelled = cancelled or answer is None
        if answer:
            used.add(answer)
            linked.append({**server, "bmc_ip": answer})
        else:
            skipped.append(dict(server))
    return linked, skipped


def _ask_one(server: dict, prompt: Prompt, used: set[str]) -> str | None:
    """A valid unused address, "" to skip, or None when cancelled."""
    question = f"BMC IP for {server['name']} (server {server.get('server_ip')}; empty: skip): "
    message = question
    while True:
        answer = prompt(message)
        if answer is None or not answer.strip():
            return answer if answer is None else ""
        try:
            address = check_bmc_ip(answer, server.get("server_ip"))
        except ValueError as exc:
            message = f"{exc}. {question}"
            continue
        if address in used:
            message = f"{address} is already another server's BMC. {question}"
            continue
        return address
