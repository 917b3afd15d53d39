"""HTML form fields to service data and back.

Form field names are the service's field names ("ssh_port", "exporters.node.port"), so a
`ValidationFailed` names the very input to show the message next to. Conversion is lenient on
purpose: a digit string becomes an int, anything else passes through unchanged and the service's
strict validation refuses it with the field named.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dc_overview.inventory.errors import FieldError, ValidationFailed
from dc_overview.inventory.models import EXPORTER_KINDS, Server
from dc_overview.inventory.validation import ServerCreate, ServerUpdate, parse

TEXT_FIELDS = ("name", "server_ip", "ssh_user")
EXPORTER_PARTS = ("enabled", "installed", "port")
# Fields the server form shows errors next to; errors on any other field go in the banner.
FORM_FIELDS = frozenset(
    {"name", "server_ip", "ssh_user", "ssh_port", "ssh_key_id", "bmc_ip", "has_gpu", "labels"}
    | {f"exporters.{kind}" for kind in EXPORTER_KINDS}
    | {f"exporters.{kind}.{part}" for kind in EXPORTER_KINDS for part in EXPORTER_PARTS}
)


def new_server_values() -> dict[str, Any]:
    """The add form's starting values: the service's defaults."""
    values: dict[str, Any] = {
        "name": "",
        "server_ip": "",
        "ssh_user": "root",
        "ssh_port": "22",
        "ssh_key_id": "",
        "bmc_ip": "",
        "has_gpu": False,
        "labels": "",
    }
    for kind, port in EXPORTER_KINDS.items():
        values[f"exporters.{kind}.enabled"] = kind == "node"
        values[f"exporters.{kind}.installed"] = False
        values[f"exporters.{kind}.port"] = str(port)
    return values


def server_values(server: Server) -> dict[str, Any]:
    """The edit form's starting values, from a stored server."""
    values = new_server_values()
    values.update(
        name=server.name,
        server_ip=server.server_ip,
        ssh_user=server.ssh_user,
        ssh_port=str(server.ssh_port),
        ssh_key_id=str(server.ssh_key_id or ""),
        bmc_ip=server.bmc_ip or "",
        has_gpu=server.has_gpu,
        labels=format_labels(server.labels or {}),
    )
    for exporter in server.exporters:
        prefix = f"exporters.{exporter.kind}"
        values[f"{prefix}.enabled"] = exporter.enabled
        values[f"{prefix}.installed"] = exporter.installed
        values[f"{prefix}.port"] = str(exporter.port)
    return values


def form_values(form: Mapping[str, str]) -> dict[str, Any]:
    """What the user sent, as the template shows it again (checkboxes as booleans)."""
    values = new_server_values()
    for name, default in values.items():
        if isinstance(default, bool):
            values[name] = name in form
        else:
            values[name] = form.get(name, "")
    return values


def format_labels(labels: Mapping[str, str]) -> str:
    return "\n".join(f"{key}={value}" for key, value in sorted(labels.items()))


def parse_labels(text: str) -> dict[str, str]:
    """One `key=value` per line; blank lines and `#` comments are skipped."""
    labels: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ValidationFailed.single(
                "labels", f"line {number} ({line[:40]!r}) is not key=value"
            )
        if key in labels:
            raise ValidationFailed.single("labels", f"line {number}: label {key!r} given twice")
        labels[key] = value.strip()
    return labels


def number_or_text(value: str) -> int | str:
    """An int for a digit string; anything else unchanged, for the service to refuse."""
    value = value.strip()
    return int(value) if value.isdigit() else value


def server_data(values: Mapping[str, Any]) -> tuple[dict[str, Any], list[FieldError]]:
    """Service data from form values, plus the errors found while converting (labels)."""
    data: dict[str, Any] = {name: str(values[name]).strip() for name in TEXT_FIELDS}
    data["ssh_port"] = number_or_text(values["ssh_port"])
    key_id = str(values["ssh_key_id"]).strip()
    data["ssh_key_id"] = number_or_text(key_id) if key_id else None
    data["bmc_ip"] = str(values["bmc_ip"]).strip() or None
    data["has_gpu"] = bool(values["has_gpu"])
    errors: list[FieldError] = []
    try:
        data["labels"] = parse_labels(values["labels"])
    except ValidationFailed as exc:
        errors.extend(exc.errors)
    data["exporters"] = {
        kind: {
            "enabled": bool(values[f"exporters.{kind}.enabled"]),
            "installed": bool(values[f"exporters.{kind}.installed"]),
            "port": number_or_text(values[f"exporters.{kind}.port"]),
        }
        for kind in EXPORTER_KINDS
    }
    return data, errors


def check_server_data(data: dict[str, Any], errors: list[FieldError], creating: bool) -> None:
    """With conversion errors, also collect the service's field errors, then refuse the lot.

    Nothing is saved here: the data is only validated, so the user sees every problem at once.
    """
    if not errors:
        return
    try:
        parse(ServerCreate if creating else ServerUpdate, data)
    except ValidationFailed as exc:
        errors = errors + [e for e in exc.errors if e.field not in {x.field for x in errors}]
    raise ValidationFailed(errors)
