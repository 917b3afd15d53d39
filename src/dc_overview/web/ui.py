"""The server-rendered UI: dashboard, server forms, Prometheus targets, SSH keys, Grafana.

Every link, form action and asset goes through `url_for`, so the app works under a proxy prefix.
Authentication, roles and CSRF are enforced globally by `guard`; here, write controls are only
hidden from viewers and the form pages refuse them outright.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from dc_overview.inventory.errors import Conflict, ValidationFailed
from dc_overview.inventory.models import Server
from dc_overview.inventory.views import ServerView
from dc_overview.prometheus.status import targets_with_health
from dc_overview.prometheus.targets import JOB_BY_EXPORTER
from dc_overview.remote.service import job_store
from dc_overview.services import Services
from dc_overview.web.context import current_user, services
from dc_overview.web.dashboard import build_dashboard
from dc_overview.web.ui_forms import (
    FORM_FIELDS,
    check_server_data,
    form_values,
    new_server_values,
    server_data,
    server_values,
)

bp = Blueprint("ui", __name__)

EXPORTER_TITLES = {
    "node": "node_exporter",
    "dc": "dc-exporter",
    "dcgm": "dcgm-exporter",
    "vastai": "vastai-exporter",
}


@bp.app_context_processor
def _template_context() -> dict[str, Any]:
    """The signed-in user for every template, error pages included."""
    return {"current_user": current_user()}


def _require_admin() -> None:
    user = current_user()
    if user is None or not user.is_admin:
        abort(403, description="viewers cannot change anything; ask an admin")


@bp.get("/")
def dashboard() -> ResponseReturnValue:
    svc = services()
    servers = svc.fleet.list_servers()
    board = build_dashboard(servers, svc.prometheus)
    return render_template(
        "dashboard.html",
        board=board,
        jobs=list(JOB_BY_EXPORTER.values()),
        prometheus_url=svc.settings.prometheus_url,
        deploy_jobs=job_store(svc).recent(),
        vastai_unwatched=_vastai_hosts_without_exporter(svc, servers),
    )


def _vastai_hosts_without_exporter(svc: Services, servers: list[ServerView]) -> list[str]:
    """Servers deploy found running the Vast.ai host daemon, while nothing scrapes Vast.ai."""
    hosts = [server.name for server in servers if server.vastai_host]
    if not hosts or svc.targets.read()[JOB_BY_EXPORTER["vastai"]]:
        return []
    return hosts


@bp.route("/servers/new", methods=["GET", "POST"])
def server_new() -> ResponseReturnValue:
    _require_admin()
    if request.method == "GET":
        return _server_form(new_server_values(), server=None)
    return _save_server(server=None)


@bp.route("/servers/<int:server_id>/edit", methods=["GET", "POST"])
def server_edit(server_id: int) -> ResponseReturnValue:
    _require_admin()
    server = services().fleet.get(server_id)
    if request.method == "GET":
        return _server_form(server_values(server), server=server)
    return _save_server(server=server)


@bp.post("/servers/<int:server_id>/delete")
def server_delete(server_id: int) -> ResponseReturnValue:
    server = services().fleet.delete(server_id)
    flash(f"Server {server.name} removed.")
    return redirect(url_for("ui.dashboard"))


def _save_server(server: Server | None) -> ResponseReturnValue:
    """Create or update from the posted form; on refusal, the form again with every error."""
    values = form_values(request.form)
    data, errors = server_data(values)
    fleet = services().fleet
    try:
        check_server_data(data, errors, creating=server is None)
        saved = fleet.create(data) if server is None else fleet.update(server.id, data)
    except ValidationFailed as exc:
        return _server_form(values, server=server, errors=exc.fields()), 422
    flash(f"Server {saved.name} {'added' if server is None else 'saved'}.")
    return redirect(url_for("ui.dashboard"))


def _server_form(
    values: dict[str, Any], server: Server | None, errors: dict[str, str] | None = None
) -> str:
    errors = errors or {}
    return render_template(
        "server_form.html",
        server=server,
        values=values,
        errors=errors,
        other_errors={f: m for f, m in errors.items() if f not in FORM_FIELDS},
        keys=services().keys.list_keys(),
        exporter_titles=EXPORTER_TITLES,
    )


@bp.get("/targets")
def targets() -> ResponseReturnValue:
    svc = services()
    status = targets_with_health(svc.targets.read(), svc.prometheus)
    return render_template(
        "targets.html",
        targets=status["targets"],
        prometheus=status["prometheus"],
        prometheus_url=svc.settings.prometheus_url,
    )


@bp.get("/keys")
def keys() -> ResponseReturnValue:
    return _keys_page()


def _keys_page(
    errors: dict[str, dict[str, str]] | None = None, values: dict[str, str] | None = None
) -> str:
    """The key list with usage counts, and the generate/upload forms (with their errors)."""
    key_service = services().keys
    listed = [(key, key_service.usage(key.id)) for key in key_service.list_keys()]
    return render_template("keys.html", keys=listed, errors=errors or {}, values=values or {})


@bp.post("/keys/generate")
def key_generate() -> ResponseReturnValue:
    name = request.form.get("name", "").strip()
    try:
        key = services().keys.generate({"name": name})
    except ValidationFailed as exc:
        return _keys_page(errors={"generate": exc.fields()}, values={"generate_name": name}), 422
    flash(f"SSH key {key.name} generated; add its public key to your servers.")
    return redirect(url_for("ui.keys"))


@bp.post("/keys/upload")
def key_upload() -> ResponseReturnValue:
    name = request.form.get("name", "").strip()
    private_key = request.form.get("private_key", "")
    try:
        key = services().keys.import_key({"name": name, "private_key": private_key})
    except ValidationFailed as exc:
        # The private key is never sent back to the browser, not even to re-fill the form.
        return _keys_page(errors={"upload": exc.fields()}, values={"upload_name": name}), 422
    flash(f"SSH key {key.name} stored.")
    return redirect(url_for("ui.keys"))


@bp.post("/keys/<int:key_id>/delete")
def key_delete(key_id: int) -> ResponseReturnValue:
    try:
        key = services().keys.delete(key_id)
    except Conflict as exc:
        flash(str(exc), "error")
    else:
        flash(f"SSH key {key.name} deleted.")
    return redirect(url_for("ui.keys"))


@bp.get("/grafana")
def grafana() -> ResponseReturnValue:
    svc = services()
    return render_template(
        "grafana.html", status=svc.grafana.status(), grafana_url=svc.settings.grafana_url
    )
