"""`import_ipmi_config()`: IPMI Monitor's servers and keys into our inventory.

Everything goes through the inventory's own validation and services (so listeners fire and
target files follow). The source is read whole before anything changes; after that each row
stands alone: one bad row is reported and skipped, never fatal. Servers are matched by BMC
address, then by name, so a second import changes nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dc_overview.interop.detect import IpmiInstallation
from dc_overview.interop.ipmi_db import read_database
from dc_overview.interop.ipmi_files import read_config_files
from dc_overview.interop.key_import import KeyImporter, valid_name
from dc_overview.interop.report import ImportReport, Outcome
from dc_overview.interop.source import IpmiFleet, IpmiNotFound, IpmiServer
from dc_overview.inventory.errors import Conflict, NotFound, ValidationFailed
from dc_overview.inventory.fleet import FleetService
from dc_overview.inventory.validation import ServerCreate, check_address, parse
from dc_overview.inventory.views import ServerView

if TYPE_CHECKING:
    from dc_overview.services import Services

COMPARED = ("server_ip", "ssh_user", "ssh_port", "bmc_ip")


def read_source(db: Path | None = None, installation: IpmiInstallation | None = None) -> IpmiFleet:
    """The given database, else the installation's database, else its servers.yaml/ssh_keys/."""
    if db is not None:
        return read_database(db)
    if installation is None:
        raise IpmiNotFound(
            "IPMI Monitor was not found on this machine (no container, no "
            "/var/lib/ipmi-monitor/ipmi_events.db, no /etc/ipmi-monitor); give its database "
            "with --db PATH"
        )
    if installation.database is not None and installation.database.exists():
        return read_database(installation.database)
    return read_config_files(installation.servers_file, installation.ssh_keys_dir)


def import_ipmi_config(
    services: Services,
    *,
    db: Path | None = None,
    installation: IpmiInstallation | None = None,
    dry_run: bool = False,
    include_disabled: bool = False,
) -> ImportReport:
    """Read IPMI Monitor's data (raising `IpmiSourceError` before any change) and import it."""
    fleet = read_source(db, installation)
    return import_fleet(services, fleet, dry_run=dry_run, include_disabled=include_disabled)


def import_fleet(
    services: Services, fleet: IpmiFleet, *, dry_run: bool = False, include_disabled: bool = False
) -> ImportReport:
    report = ImportReport(fleet.origin, dry_run)
    for row in fleet.unreadable:
        report.outcomes.append(Outcome("row", row.what, "skipped", row.reason, fleet.origin))
    keys = KeyImporter(services.keys, dry_run)
    for key in fleet.keys:
        report.outcomes.append(keys.bring(key)[0])
    servers = ServerImporter(services.fleet, keys, dry_run, include_disabled)
    for server in fleet.servers:
        report.outcomes.extend(servers.bring(server))
    return report


@dataclass
class Known:
    """One of our servers as the import sees it (a dry run changes only these)."""

    id: int
    name: str
    server_ip: str
    ssh_port: int
    ssh_user: str
    ssh_key_id: int | None
    bmc_ip: str | None
    labels: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, view: ServerView) -> Known:
        return cls(view.id, view.name, view.server_ip, view.ssh_port, view.ssh_user,
                   view.ssh_key_id, view.bmc_ip, dict(view.labels))  # fmt: skip


class ServerImporter:
    def __init__(
        self, fleet: FleetService, keys: KeyImporter, dry_run: bool, include_disabled: bool
    ) -> None:
        self.fleet, self.keys = fleet, keys
        self.dry_run, self.include_disabled = dry_run, include_disabled
        self.known = [Known.of(view) for view in fleet.list_servers()]
        self.placeholders = 0

    def bring(self, server: IpmiServer) -> list[Outcome]:
        """The server's outcome, preceded by that of a key first met here (a pasted one)."""
        source = f"{server.server_name} (BMC {server.bmc_ip})"
        retired = server.retired
        if retired and not self.include_disabled:
            reason = f"{retired}; --include-disabled imports it"
            return [Outcome("server", server.server_name, "skipped", reason, source)]
        held = _held_reason(server)
        if held:
            return [Outcome("server", server.server_name, "held", held, source)]
        key_id, outcomes, notes = self._key(server)
        try:
            outcome = self._store(server, _desired(server, key_id), source)
        except (ValidationFailed, NotFound, Conflict) as exc:
            outcome = Outcome("server", server.server_name, "skipped", _reason(exc), source)
        outcome.notes = [*notes, *outcome.notes]
        return [*outcomes, outcome]

    def _key(self, server: IpmiServer) -> tuple[int | None, list[Outcome], list[str]]:
        notes = [] if not server.has_password else [_password_note(server)]
        if server.key_problem:
            notes.append(f"no SSH key: {server.key_problem}")
        if server.key is None:
            return None, [], notes
        outcome, first = self.keys.bring(server.key)
        if outcome.result == "skipped":
            notes.append(f"no SSH key: IPMI Monitor's key {server.key.name!r} was not imported")
        return outcome.record_id, [outcome] if first else [], notes

    def _store(self, server: IpmiServer, desired: dict[str, Any], source: str) -> Outcome:
        spec = parse(ServerCreate, desired)
        match = self._match(spec)
        if match is None:
            self._check_address_free(spec.server_ip, spec.ssh_port, None)
            record = self._create(desired, spec)
            return Outcome("server", record.name, "imported", "new server", source, [], record.id)
        if match.bmc_ip not in (None, spec.bmc_ip):
            raise ValidationFailed.single(
                "name", f"a server named {spec.name!r} exists here with BMC {match.bmc_ip}"
            )
        notes = [] if match.name == spec.name else [
            f"named {match.name!r} here and {server.server_name!r} in IPMI Monitor; name kept"
        ]  # fmt: skip
        changes = _changes(match, spec)
        if not changes:
            return Outcome("server", match.name, "unchanged", "already up to date", source,
                           notes, match.id)  # fmt: skip
        self._check_address_free(
            changes.get("server_ip", match.server_ip), changes.get("ssh_port", match.ssh_port),
            match.id,
        )  # fmt: skip
        self._update(match, changes)
        reason = f"changed {', '.join(changes)}"
        return Outcome("server", match.name, "updated", reason, source, notes, match.id)

    def _match(self, spec: ServerCreate) -> Known | None:
        by_bmc = next((k for k in self.known if k.bmc_ip and k.bmc_ip == spec.bmc_ip), None)
        return by_bmc or next((k for k in self.known if k.name == spec.name), None)

    def _check_address_free(self, server_ip: str, ssh_port: int, exclude: int | None) -> None:
        """The same refusal the fleet service gives, so that a dry run reports it too."""
        for known in self.known:
            if known.id != exclude and (known.server_ip, known.ssh_port) == (server_ip, ssh_port):
                raise ValidationFailed.single(
                    "server_ip",
                    f"{server_ip} port {ssh_port} is already server {known.name!r}; "
                    "use a different address or SSH port",
                )

    def _create(self, desired: dict[str, Any], spec: ServerCreate) -> Known:
        if self.dry_run:
            self.placeholders -= 1
            fields = spec.model_dump(include={"name", "server_ip", "ssh_port", "ssh_user",
                                              "ssh_key_id", "bmc_ip", "labels"})  # fmt: skip
            record = Known(id=self.placeholders, **fields)
        else:
            record = Known.of(self.fleet.create(desired))
        self.known.append(record)
        return record

    def _update(self, match: Known, changes: dict[str, Any]) -> None:
        if self.dry_run:
            updated = replace(match, **changes)
        else:
            updated = Known.of(self.fleet.update(match.id, changes))
        self.known[self.known.index(match)] = updated


def _normalised(address: str) -> str:
    try:
        return check_address(address)
    except ValueError:
        return address.strip()


def _held_reason(server: IpmiServer) -> str | None:
    """Why a server waits for the operator: we never use the BMC address as the OS address."""
    add = (
        f"; add it with `dc-overview servers add {valid_name(server.server_name, 'NAME')} "
        f"--ip OS_ADDRESS --bmc-ip {server.bmc_ip}`"
    )
    if not server.server_ip:
        return f"IPMI Monitor has no OS address (server_ip) for it{add}"
    if _normalised(server.server_ip) == _normalised(server.bmc_ip):
        return f"its server_ip is its BMC address, which is not the OS address{add}"
    return None


def _desired(server: IpmiServer, key_id: int | None) -> dict[str, Any]:
    fallback = "bmc-" + re.sub(r"[^A-Za-z0-9]+", "-", server.bmc_ip).strip("-")
    name = valid_name(server.server_name, fallback[:63])
    data: dict[str, Any] = {
        "name": name,
        "server_ip": server.server_ip,
        "bmc_ip": server.bmc_ip,
        "ssh_user": server.ssh_user or "root",
        "ssh_port": server.ssh_port if server.ssh_port is not None else 22,
    }
    if key_id is not None:
        data["ssh_key_id"] = key_id
    if name != server.server_name:
        data["labels"] = {"ipmi_name": server.server_name[:256]}
    return data


def _changes(match: Known, spec: ServerCreate) -> dict[str, Any]:
    """What differs; a key is only ever set (never cleared), labels only ever added."""
    changes = {f: getattr(spec, f) for f in COMPARED if getattr(match, f) != getattr(spec, f)}
    if spec.ssh_key_id is not None and match.ssh_key_id != spec.ssh_key_id:
        changes["ssh_key_id"] = spec.ssh_key_id
    added = {k: v for k, v in spec.labels.items() if match.labels.get(k) != v}
    if added:
        changes["labels"] = {**match.labels, **added}
    return changes


def _password_note(server: IpmiServer) -> str:
    if server.key is not None:
        return "its SSH password is not imported; the key is used"
    user, port = server.ssh_user or "root", server.ssh_port or 22
    return (
        "password auth: the password is not imported; bootstrap a key with `dc-overview keys "
        f"generate fleet-key` (it prints the public half), add that to ~/.ssh/authorized_keys of "
        f"{user}@{server.server_ip} (port {port}), then give this server the key"
    )


def _reason(exc: Exception) -> str:
    if isinstance(exc, ValidationFailed):
        return "; ".join(f"{e.field}: {e.message}" for e in exc.errors)
    return str(exc)
