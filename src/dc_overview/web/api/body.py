"""Reading a JSON request body; malformed input is refused with the field `body` named."""

from __future__ import annotations

import json
from typing import Any

from flask import request

from dc_overview.inventory.errors import ValidationFailed


def json_body() -> dict[str, Any]:
    if not request.is_json:
        raise ValidationFailed.single("body", "send JSON with Content-Type: application/json")
    raw = request.get_data(cache=True)
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValidationFailed.single("body", f"malformed JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ValidationFailed.single("body", "must be a JSON object")
    return data
