"""/api/openapi.json: the API described as OpenAPI 3.1, request schemas taken from validation."""

from __future__ import annotations

from functools import cache

from flask import jsonify

from dc_overview import __version__
from dc_overview.inventory.serialize import SERVER_SCHEMA
from dc_overview.inventory.validation import (
    ServerCreate,
    ServerUpdate,
    SshKeyGenerate,
    SshKeyImport,
    TokenCreate,
)
from dc_overview.remote.service import ExportersInstall
from dc_overview.web.api import bp
from dc_overview.web.api.interop import IpmiImportOptions

# (path, method, summary, request schema name or None, success status)
OPERATIONS: list[tuple[str, str, str, str | None, str]] = [
    ("/api/health", "get", "Database and Prometheus reachability (no auth)", None, "200"),
    ("/api/openapi.json", "get", "This document", None, "200"),
    ("/api/servers", "get", "List servers", None, "200"),
    ("/api/servers", "post", "Add a server", "ServerCreate", "201"),
    ("/api/servers/{server_id}", "get", "One server", None, "200"),
    ("/api/servers/{server_id}", "patch", "Change a server", "ServerUpdate", "200"),
    ("/api/servers/{server_id}", "delete", "Remove a server", None, "204"),
    ("/api/prometheus/targets", "get", "Targets told to Prometheus, with health", None, "200"),
    ("/api/ssh-keys", "get", "List SSH keys (public halves)", None, "200"),
    ("/api/ssh-keys", "post", "Generate (name) or upload (name, private_key)", "SshKey", "201"),
    ("/api/ssh-keys/{key_id}/public", "get", "Public key in OpenSSH format", None, "200"),
    ("/api/ssh-keys/{key_id}", "delete", "Delete a key no server uses", None, "204"),
    ("/api/grafana/status", "get", "Grafana reachability, version, dashboards", None, "200"),
    ("/api/tokens", "get", "List API tokens", None, "200"),
    ("/api/tokens", "post", "Create an API token (shown once)", "TokenCreate", "201"),
    ("/api/tokens/{token_id}", "delete", "Revoke an API token", None, "204"),
    ("/api/import/ipmi-monitor", "post", "Import from IPMI Monitor (admin)", "IpmiImport", "200"),
    ("/api/exporters/install", "post", "Start a deploy job (admin)", "ExportersInstall", "202"),
    ("/api/jobs/{job_id}", "get", "A deploy job's per-host progress", None, "200"),
]

# Success bodies described in components.schemas (the request schemas come from validation).
RESPONSE_SCHEMAS = {
    ("/api/servers", "get"): {"type": "array", "items": {"$ref": "#/components/schemas/Server"}},
    ("/api/servers", "post"): {"$ref": "#/components/schemas/Server"},
    ("/api/servers/{server_id}", "get"): {"$ref": "#/components/schemas/Server"},
    ("/api/servers/{server_id}", "patch"): {"$ref": "#/components/schemas/Server"},
}

ERROR_RESPONSES = {
    "401": "Not authenticated",
    "403": "Viewer, or missing CSRF token on a cookie-authenticated write",
    "404": "No such record",
    "409": "Conflicts with the current state",
    "413": "Body over 64 KiB",
    "422": "Invalid input; `errors` names each field",
}


def _schemas() -> dict:
    schemas = {
        "ServerCreate": ServerCreate.model_json_schema(),
        "ServerUpdate": ServerUpdate.model_json_schema(),
        "TokenCreate": TokenCreate.model_json_schema(),
        "IpmiImport": IpmiImportOptions.model_json_schema(),
        "ExportersInstall": ExportersInstall.model_json_schema(),
        "SshKey": {"oneOf": [SshKeyGenerate.model_json_schema(), SshKeyImport.model_json_schema()]},
        "Server": SERVER_SCHEMA,
    }
    for schema in schemas.values():
        schema.pop("$defs", None)
    return schemas


def _operation(path: str, method: str, summary: str, schema: str | None, status: str) -> dict:
    operation: dict = {
        "summary": summary,
        "responses": {status: {"description": "Success"}}
        | {code: {"description": text} for code, text in ERROR_RESPONSES.items()},
    }
    body = RESPONSE_SCHEMAS.get((path, method))
    if body:
        operation["responses"][status]["content"] = {"application/json": {"schema": body}}
    if path != "/api/health":
        operation["security"] = [{"bearer": []}, {"session": []}]
    if schema:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
        }
    params = [part[1:-1] for part in path.split("/") if part.startswith("{")]
    if params:
        operation["parameters"] = [
            {"name": p, "in": "path", "required": True, "schema": {"type": "integer"}}
            for p in params
        ]
    return operation


@cache
def document() -> dict:
    paths: dict[str, dict] = {}
    for path, method, summary, schema, status in OPERATIONS:
        paths.setdefault(path, {})[method] = _operation(path, method, summary, schema, status)
    return {
        "openapi": "3.1.0",
        "info": {"title": "DC Overview API", "version": __version__},
        "paths": paths,
        "components": {
            "schemas": _schemas(),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "dc_overview_session"},
            },
        },
    }


@bp.get("/openapi.json")
def openapi():
    return jsonify(document())
