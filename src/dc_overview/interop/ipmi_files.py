"""IPMI Monitor's config files, read when it has no database: `servers.yaml` and `ssh_keys/`.

The formats are those IPMI Monitor 1.2.0 writes and reads: `servers.yaml` holds an optional
`defaults` mapping and a `servers` list (`name`, `bmc_ip`, `server_ip`, `ssh_user`, `ssh_port`,
`ssh_key_name` naming a file in `ssh_keys/` by its stem, or `ssh_key` holding the key text);
key files match the patterns IPMI Monitor loads keys from.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from dc_overview.interop.source import IpmiFleet, IpmiKey, IpmiServer, IpmiSourceError, Unreadable

KEY_PATTERNS = ("id_*", "*.pem", "*.key", "default-key*", "key-*", "*_key")
MAX_KEY_BYTES = 16384
ALIASES = {
    "server_name": ("name", "server_name", "hostname"),
    "bmc_ip": ("bmc_ip", "ip", "bmc"),
    "server_ip": ("server_ip", "os_ip"),
    "ssh_pass": ("ssh_pass", "ssh_password"),
}


def read_config_files(servers_file: Path | None, keys_dir: Path | None) -> IpmiFleet:
    """Keys from `keys_dir` and servers from `servers_file`; either may be absent, not both."""
    has_servers = servers_file is not None and servers_file.is_file()
    has_keys = keys_dir is not None and keys_dir.is_dir()
    if not (has_servers or has_keys):
        raise IpmiSourceError(
            "IPMI Monitor has no database here, and no servers.yaml or ssh_keys/ folder either"
        )
    origin = ", ".join(
        str(p) for p, ok in ((servers_file, has_servers), (keys_dir, has_keys)) if ok
    )
    fleet = IpmiFleet(origin=origin)
    keys = read_key_files(keys_dir, fleet) if has_keys and keys_dir else {}
    fleet.keys = list(keys.values())
    if has_servers and servers_file:
        _read_servers(servers_file, keys, fleet)
    return fleet


def read_key_files(keys_dir: Path, fleet: IpmiFleet) -> dict[str, IpmiKey]:
    """Private keys by file stem (IPMI Monitor names them so, but `fleet_key`); no public halves."""
    found: set[Path] = set()
    for pattern in KEY_PATTERNS:
        found.update(p for p in keys_dir.glob(pattern) if p.is_file() and p.suffix != ".pub")
    keys: dict[str, IpmiKey] = {}
    for path in sorted(found):
        name = "Fleet SSH Key" if path.stem == "fleet_key" else path.stem
        try:
            content = path.read_bytes()[:MAX_KEY_BYTES].decode("utf-8", errors="replace")
        except OSError as exc:
            fleet.unreadable.append(Unreadable(f"key file {path}", exc.strerror or str(exc)))
            continue
        if "-----BEGIN" not in content or "PRIVATE KEY" not in content:
            fleet.unreadable.append(Unreadable(f"key file {path}", "not a private key"))
            continue
        keys.setdefault(path.stem, IpmiKey(name, content.strip(), str(path)))
    return keys


def _read_servers(path: Path, keys: dict[str, IpmiKey], fleet: IpmiFleet) -> None:
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, UnicodeDecodeError) as exc:
        raise IpmiSourceError(f"{path} cannot be read: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        raise IpmiSourceError(f"{path} is not valid YAML{where}") from None
    entries = data.get("servers") if isinstance(data, dict) else data
    if not isinstance(entries, list):
        raise IpmiSourceError(f"{path} has no `servers:` list")
    defaults = data.get("defaults") if isinstance(data, dict) else None
    defaults = defaults if isinstance(defaults, dict) else {}
    for number, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict):
            fleet.unreadable.append(Unreadable(f"{path.name} entry {number}", "not a mapping"))
            continue
        server = _server(path, {**defaults, **entry}, keys, number, fleet)
        if server is not None:
            fleet.servers.append(server)


def _pick(entry: dict[str, Any], field: str) -> Any:
    for alias in ALIASES.get(field, (field,)):
        value = entry.get(alias)
        if value not in (None, ""):
            return value
    return None


def _server(
    path: Path, entry: dict[str, Any], keys: dict[str, IpmiKey], number: int, fleet: IpmiFleet
) -> IpmiServer | None:
    name, bmc_ip = _pick(entry, "server_name"), _pick(entry, "bmc_ip")
    if name is None or bmc_ip is None:
        what = f"{path.name} entry {number} ({name or bmc_ip or 'unnamed'})"
        fleet.unreadable.append(Unreadable(what, "needs both name and bmc_ip"))
        return None
    key, problem = _key(entry, str(name), keys)
    server_ip = _pick(entry, "server_ip")
    enabled = entry.get("enabled", True)
    return IpmiServer(
        server_name=str(name),
        bmc_ip=str(bmc_ip),
        server_ip=None if server_ip is None else str(server_ip),
        enabled=enabled is not False and str(enabled).lower() not in ("false", "no", "0"),
        status=entry.get("status") or "active",
        ssh_user=_pick(entry, "ssh_user"),
        ssh_port=_pick(entry, "ssh_port"),
        key=key,
        key_problem=problem,
        has_password=_pick(entry, "ssh_pass") is not None,
    )


def _key(
    entry: dict[str, Any], name: str, keys: dict[str, IpmiKey]
) -> tuple[IpmiKey | None, str | None]:
    inline = _pick(entry, "ssh_key")
    if isinstance(inline, str) and "PRIVATE KEY" in inline:
        return IpmiKey(f"{name}-key", inline.strip(), f"servers.yaml ssh_key of {name}"), None
    key_name = _pick(entry, "ssh_key_name")
    if key_name is None:
        return None, None
    for stem, key in keys.items():
        if str(key_name) in (stem, key.name):
            return key, None
    return None, f"its ssh_key_name {key_name!r} matches no file in IPMI Monitor's ssh_keys/"
