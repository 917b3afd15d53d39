"""Authentication for every request: session or bearer token, roles, and CSRF.

The rule is global so that a new endpoint is protected by default: only the endpoints in
`PUBLIC_ENDPOINTS` answer without authentication, and only admins may use unsafe methods.
"""

from __future__ import annotations

import hmac
import secrets

from flask import Flask, abort, g, jsonify, redirect, request, session, url_for

from dc_overview.bootstrap import metrics_token
from dc_overview.web.context import services

PUBLIC_ENDPOINTS = {"api.health", "auth.login", "static"}
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


def install(app: Flask) -> None:
    app.before_request(_authenticate)
    app.jinja_env.globals["csrf_token"] = csrf_token


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def is_api_request() -> bool:
    return request.path.startswith("/api/") or request.path == "/metrics"


def _authenticate():
    g.user = None
    g.auth = None
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return _authenticate_bearer(header.removeprefix("Bearer ").strip())
    user_id = session.get("user_id")
    if user_id is not None:
        g.user = services().accounts.get_user(user_id)
        if g.user is None:
            session.clear()
        else:
            g.auth = "session"
    if request.endpoint in PUBLIC_ENDPOINTS:
        return _check_csrf() if request.method not in SAFE_METHODS else None
    if g.user is None:
        return _refuse_anonymous()
    return _authorise()


def _authenticate_bearer(token: str):
    if request.endpoint == "metrics.metrics" and _is_metrics_token(token):
        g.auth = "metrics"
        return None
    g.user = services().accounts.user_for_token(token)
    if g.user is None:
        return _json_error(401, "invalid or revoked API token")
    g.auth = "token"
    return _authorise()


def _is_metrics_token(token: str) -> bool:
    expected = metrics_token(services())
    return bool(expected) and hmac.compare_digest(token, expected)


def _authorise():
    if request.method in SAFE_METHODS or request.endpoint == "auth.logout":
        return _check_csrf() if request.method not in SAFE_METHODS else None
    if not g.user.is_admin:
        return _forbidden()
    return _check_csrf()


def _check_csrf():
    """Cookie-authenticated writes must echo the session's CSRF token; bearer tokens need not."""
    if g.auth == "token":
        return None
    sent = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD, "")
    expected = session.get("csrf", "")
    if expected and sent and hmac.compare_digest(sent, expected):
        return None
    if is_api_request():
        return _json_error(403, f"missing or wrong CSRF token (send the {CSRF_HEADER} header)")
    abort(400, description="The form expired or was sent from elsewhere; reload and try again.")
    return None


def _refuse_anonymous():
    if is_api_request():
        response = _json_error(401, "authentication required: log in or send a bearer token")
        response.headers["WWW-Authenticate"] = 'Bearer realm="dc-overview"'
        return response
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def _forbidden():
    message = "viewers cannot change anything; ask an admin"
    if is_api_request():
        return _json_error(403, message)
    abort(403, description=message)
    return None


def _json_error(status: int, message: str):
    response = jsonify({"error": message})
    response.status_code = status
    return response
