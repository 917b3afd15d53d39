"""/api/tokens: bearer tokens for scripts, shown once."""

from __future__ import annotations

from flask import jsonify

from dc_overview.inventory.serialize import token_dict
from dc_overview.web.api import bp
from dc_overview.web.api.body import json_body
from dc_overview.web.context import current_user, services


@bp.get("/tokens")
def list_tokens():
    return jsonify([token_dict(t) for t in services().accounts.list_tokens()])


@bp.post("/tokens")
def create_token():
    token, plain = services().accounts.create_token(current_user().id, json_body())
    return jsonify({**token_dict(token), "token": plain}), 201


@bp.delete("/tokens/<int:token_id>")
def revoke_token(token_id: int):
    services().accounts.revoke_token(token_id)
    return "", 204
