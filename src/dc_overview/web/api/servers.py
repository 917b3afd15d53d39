"""/api/servers: the fleet."""

from __future__ import annotations

import json

from flask import Response, current_app, jsonify

from dc_overview.inventory.serialize import server_dict
from dc_overview.web.api import bp
from dc_overview.web.api.body import json_body
from dc_overview.web.context import services

CACHE_KEY = "dc_overview_servers_json"


@bp.get("/servers")
def list_servers() -> Response:
    """The whole fleet, encoded once per inventory revision (the API's hottest path)."""
    revision, servers = services().fleet.cache.servers()
    cached = current_app.extensions.get(CACHE_KEY)
    if cached is None or cached[0] != revision:
        body = json.dumps([server_dict(s) for s in servers]).encode()
        cached = current_app.extensions[CACHE_KEY] = (revision, body)
    return Response(cached[1], mimetype="application/json")


@bp.post("/servers")
def create_server():
    server = services().fleet.create(json_body())
    return jsonify(server_dict(server)), 201


@bp.get("/servers/<int:server_id>")
def get_server(server_id: int):
    return jsonify(server_dict(services().fleet.get(server_id)))


@bp.patch("/servers/<int:server_id>")
def update_server(server_id: int):
    return jsonify(server_dict(services().fleet.update(server_id, json_body())))


@bp.delete("/servers/<int:server_id>")
def delete_server(server_id: int):
    services().fleet.delete(server_id)
    return "", 204
