"""/api/ssh-keys: generate or upload keys; only public halves come back."""

from __future__ import annotations

from flask import Response, jsonify

from dc_overview.inventory.serialize import key_dict
from dc_overview.web.api import bp
from dc_overview.web.api.body import json_body
from dc_overview.web.context import services


@bp.get("/ssh-keys")
def list_keys():
    keys = services().keys
    return jsonify([{**key_dict(k), "servers": keys.usage(k.id)} for k in keys.list_keys()])


@bp.post("/ssh-keys")
def create_key():
    """`{"name"}` generates an ed25519 key; `{"name", "private_key"}` stores an uploaded one."""
    body = json_body()
    keys = services().keys
    key = keys.import_key(body) if "private_key" in body else keys.generate(body)
    return jsonify(key_dict(key)), 201


@bp.get("/ssh-keys/<int:key_id>/public")
def public_key(key_id: int) -> Response:
    key = services().keys.get(key_id)
    return Response(key.public_key + "\n", mimetype="text/plain")


@bp.delete("/ssh-keys/<int:key_id>")
def delete_key(key_id: int):
    services().keys.delete(key_id)
    return "", 204
