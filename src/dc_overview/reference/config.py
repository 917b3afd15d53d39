"""The quickstart config reference, generated from the pydantic schema (`QuickstartConfig`).

Every key, nested ones included, with its type, default and meaning (the field description).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from dc_overview import __version__
from dc_overview.deploy.config import QuickstartConfig
from dc_overview.reference.markdown import code, table

HEADERS = ("key", "type", "default", "meaning")
Row = tuple[str, str, str, str]


def _resolve(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref is None:
        return schema
    return {**defs[ref.rsplit("/", 1)[-1]], **{k: v for k, v in schema.items() if k != "$ref"}}


def _split_optional(schema: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """The non-null alternative of `X | None`, and whether None is allowed."""
    options = schema.get("anyOf")
    if not options:
        return schema, False
    kept = [option for option in options if option.get("type") != "null"]
    inner = kept[0] if len(kept) == 1 else {"anyOf": kept}
    outer = {k: v for k, v in schema.items() if k != "anyOf"}
    return {**inner, **outer}, len(kept) < len(options)


def _bounds(low: Any, high: Any, unit: str = "") -> str:
    if low is not None and high is not None:
        return f"{low} to {high}{unit}"
    return f"at least {low}{unit}" if low is not None else f"at most {high}{unit}"


def type_text(schema: dict[str, Any]) -> str:
    """A readable type with its constraints: `integer, 1 to 65535`, `one of a, b`, ..."""
    if "enum" in schema or "const" in schema:
        values = schema.get("enum", [schema.get("const")])
        return "one of " + ", ".join(code(value) for value in values)
    parts = [schema.get("type", "value")]
    low, high = schema.get("minimum"), schema.get("maximum")
    if low is not None or high is not None:
        parts.append(_bounds(low, high))
    shortest, longest = schema.get("minLength"), schema.get("maxLength")
    if shortest is not None or longest is not None:
        parts.append(_bounds(shortest, longest, " characters"))
    if "pattern" in schema:
        parts.append(f"matching {code(schema['pattern'])}")
    return ", ".join(parts)


def default_text(value: Any) -> str:
    """A default as YAML would spell it; the package version shown as `<version>`."""
    if value is None:
        return "unset"
    text = json.dumps(value) if not isinstance(value, str) else value
    if isinstance(value, str) and value.endswith(f":{__version__}"):
        text = value.removesuffix(__version__) + "<package version>"
    return code(text)


def _description(schema: dict[str, Any]) -> str:
    return " ".join(str(schema.get("description", "")).split())


def _rows(schema: dict[str, Any], defs: dict[str, Any], prefix: str = "") -> Iterator[Row]:
    required = set(schema.get("required", ()))
    for name, raw in schema.get("properties", {}).items():
        key = f"{prefix}{name}"
        field, nullable = _split_optional(raw)
        field = _resolve(field, defs)
        if "properties" in field:
            optional = "optional section" if nullable else "section"
            yield code(key), optional, "unset" if nullable else "", _description(field)
            yield from _rows(field, defs, f"{key}.")
            continue
        kind = type_text(field) + (" or null" if nullable and "default" not in raw else "")
        default = "required" if name in required else default_text(raw.get("default"))
        yield code(key), kind, default, _description(field)


def config_rows() -> list[Row]:
    """One row per key of the quickstart config, in schema order, nested keys dotted."""
    schema = QuickstartConfig.model_json_schema()
    return list(_rows(schema, schema.get("$defs", {})))


def render_config() -> str:
    """The Markdown table of every config key."""
    return table(HEADERS, config_rows()) + "\n"
