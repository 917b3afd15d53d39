"""/api/servers: the fleet."""

from __future__ import annotations

from flask import jsonify

from dc_overview.inventory.serialize import server_dict
from dc_overview.web.api import bp
from dc_overview.web.api.body import json_body
from dc_overview.web.context import services


@bp.get("/servers")
def list_servers():
    return jsonify([server_dict(s) for s in services().fleet.list_servers()])


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
