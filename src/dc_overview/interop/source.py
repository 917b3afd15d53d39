"""What an IPMI Monitor installation holds, read into plain records (no validation yet)."""

from __future__ import annotations

from dataclasses import dataclass, field


class IpmiSourceError(Exception):
    """IPMI Monitor's data cannot be read at all; nothing was imported or changed."""


@dataclass(frozen=True)
class IpmiKey:
    """A private key as IPMI Monitor stores it; `origin` says where it was found."""

    name: str
    content: str = field(repr=False)
    origin: str


@dataclass(frozen=True)
class IpmiServer:
    """One row of `server` joined (on `bmc_ip`) with its `server_config` and `ssh_key`."""

    server_name: str
    bmc_ip: str
    server_ip: str | None
    enabled: bool = True
    status: str | None = "active"
    deprecated_reason: str | None = None
    ssh_user: str | None = None
    ssh_port: int | None = None
    key: IpmiKey | None = None
    key_problem: str | None = None
    has_password: bool = False

    @property
    def retired(self) -> str | None:
        """Why IPMI Monitor no longer watches this server, or None when it is active."""
        if self.status == "deprecated":
            reason = f": {self.deprecated_reason}" if self.deprecated_reason else ""
            return f"deprecated in IPMI Monitor{reason}"
        if not self.enabled:
            return "disabled in IPMI Monitor"
        return None


@dataclass(frozen=True)
class Unreadable:
    """A row or file of the source that could not be read; reported, never fatal."""

    what: str
    reason: str


@dataclass
class IpmiFleet:
    """Everything read from one source (a database, or servers.yaml and ssh_keys/)."""

    origin: str
    servers: list[IpmiServer] = field(default_factory=list)
    keys: list[IpmiKey] = field(default_factory=list)
    unreadable: list[Unreadable] = field(default_factory=list)


class IpmiNotFound(IpmiSourceError):
    """No IPMI Monitor installation was found where we looked."""
