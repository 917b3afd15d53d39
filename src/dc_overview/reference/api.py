"""The API's operations, generated from the OpenAPI document the app serves."""

from __future__ import annotations

from dc_overview.reference.markdown import code, table
from dc_overview.web.api.openapi import document

HEADERS = ("method", "path", "what", "request body", "auth")


def _body(operation: dict) -> str:
    content = operation.get("requestBody", {}).get("content", {})
    ref = content.get("application/json", {}).get("schema", {}).get("$ref", "")
    return code(ref.rsplit("/", 1)[-1]) if ref else ""


def render_api() -> str:
    """One row per operation of `/api/openapi.json`."""
    rows = [
        (
            method.upper(),
            code(path),
            operation["summary"],
            _body(operation),
            "token or session" if operation.get("security") else "none",
        )
        for path, methods in document()["paths"].items()
        for method, operation in methods.items()
    ]
    return table(HEADERS, rows) + "\n"
