"""Plain-data views of inventory records, shared by the API and the CLI. No secrets leave here."""

from __future__ import annotations

from datetime import datetime

from dc_overview.inventory.models import (
    SERVER_STATUSES,
    ApiToken,
    Server,
    SshKey,
    User,
    as_utc,
)


def _when(moment: datetime | None) -> str | None:
    return as_utc(moment).isoformat() if moment else None


def server_dict(server: Server) -> dict:
    return {
        "id": server.id,
        "name": server.name,
        "server_ip": server.server_ip,
        "ssh_user": server.ssh_user,
        "ssh_port": server.ssh_port,
        "ssh_key_id": server.ssh_key_id,
        "bmc_ip": server.bmc_ip,
        "has_gpu": server.has_gpu,
        "vastai_host": server.vastai_host,
        "labels": dict(server.labels or {}),
        "status": server.status,
        "last_seen": _when(server.last_seen),
        "exporters": {
            e.kind: {
                "enabled": e.enabled,
                "installed": e.installed,
                "version": e.version,
                "port": e.port,
            }
            for e in server.exporters
        },
    }


_STR = {"type": "string"}
_OPTIONAL_STR = {"type": ["string", "null"]}
EXPORTER_SCHEMA = {
    "type": "object",
    "properties": {
        "enabled": {"type": "boolean", "description": "wanted on this server"},
        "installed": {"type": "boolean", "description": "installed and verified by deploy"},
        "version": _OPTIONAL_STR,
        "port": {"type": "integer"},
    },
}
# The shape of `server_dict` (the API's server records), for the OpenAPI document.
SERVER_SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "name": _STR,
        "server_ip": _STR,
        "ssh_user": _STR,
        "ssh_port": {"type": "integer"},
        "ssh_key_id": {"type": ["integer", "null"]},
        "bmc_ip": _OPTIONAL_STR,
        "has_gpu": {"type": "boolean"},
        "vastai_host": {
            "type": "boolean",
            "description": "the Vast.ai host daemon was found by the last deploy: the vastai "
            "exporter (on the master) applies",
        },
        "labels": {"type": "object", "additionalProperties": _STR},
        "status": {
            "type": "string",
            "enum": list(SERVER_STATUSES),
            "description": "outcome of the last deploy or remove on this server; exporter "
            "health comes from Prometheus (GET /api/prometheus/targets)",
        },
        "last_seen": {
            "type": ["string", "null"],
            "format": "date-time",
            "description": "when a deploy last reached the server over SSH",
        },
        "exporters": {"type": "object", "additionalProperties": EXPORTER_SCHEMA},
    },
}


def key_dict(key: SshKey) -> dict:
    """The public side of a key only: the private key path is not exposed either."""
    return {
        "id": key.id,
        "name": key.name,
        "key_type": key.key_type,
        "fingerprint": key.fingerprint,
        "public_key": key.public_key,
        "created_at": _when(key.created_at),
    }


def token_dict(token: ApiToken) -> dict:
    return {
        "id": token.id,
        "name": token.name,
        "prefix": token.prefix,
        "user": token.user.username if token.user else None,
        "created_at": _when(token.created_at),
        "last_used_at": _when(token.last_used_at),
        "revoked": token.revoked_at is not None,
    }


def user_dict(user: User) -> dict:
    return {"id": user.id, "username": user.username, "role": user.role}
