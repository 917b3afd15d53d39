"""The landing page, `/api/services` and `/api/health`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, abort, jsonify, redirect, render_template
from flask.typing import ResponseReturnValue

from cryptolabs_proxy import __version__
from cryptolabs_proxy.app import proxy_state
from cryptolabs_proxy.probe import RUNNING
from cryptolabs_proxy.users import User
from cryptolabs_proxy.web_auth import current_user

bp = Blueprint("pages", __name__)


@bp.get("/api/health")
def health() -> ResponseReturnValue:
    """The proxy's own health (public): its service answers and its user store opens."""
    proxy_state().users.count()
    return jsonify({"status": "ok", "service": "cryptolabs-proxy", "version": __version__})


def service_entries(user: User) -> list[dict[str, Any]]:
    """One entry per service, as the landing page and `/api/services` show it."""
    state = proxy_state()
    statuses = state.status_of_all()
    entries = []
    for spec in state.catalog:
        status = statuses[spec.name]
        allowed = user.is_admin or not spec.admin_only
        entries.append(
            {
                "name": spec.name,
                "display_name": spec.display_name,
                "description": spec.description,
                "path": spec.path,
                "status": status.status,
                "detail": status.detail,
                "version": status.version,
                "admin_only": spec.admin_only,
                "url": spec.path if status.status == RUNNING and allowed else None,
                "get": {
                    "label": spec.get_label,
                    "product_url": spec.product_url,
                    "docs_url": spec.docs_url,
                },
            }
        )
    return entries


def _signed_in() -> User:
    user = current_user()
    if user is None:  # nginx guards these routes; this is the second lock
        abort(401, description="authentication required: sign in at /login")
    return user


@bp.get("/api/services")
def services() -> ResponseReturnValue:
    user = _signed_in()
    return jsonify(
        {
            "site_name": proxy_state().config.site_name,
            "checked_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "services": service_entries(user),
        }
    )


@bp.get("/")
def landing() -> ResponseReturnValue:
    user = current_user()
    if user is None:  # nginx guards "/"; this is the second lock
        return redirect("/login")
    return render_template(
        "landing.html",
        services=service_entries(user),
        user=user,
        refresh_seconds=proxy_state().config.refresh_seconds,
    )
