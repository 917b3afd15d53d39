"""Authentication for every request: session or bearer token, roles, and CSRF.

The rule is global so that a new endpoint is protected by default: only the endpoints in
`PUBLIC_ENDPOINTS` answer without authentication, and only admins may use unsafe methods.
Behind cryptolabs-proxy, its signed identity header authenticates too (`proxy_identity`), when
the shared key file is configured; such requests are cookie-borne, so CSRF applies as for sessions.
"""

from __future__ import annotations

import hmac
import secrets

from flask import Flask, abort, current_app, g, jsonify, redirect, request, session, url_for

from dc_overview.bootstrap import metrics_token
from dc_overview.web import proxy_identity
from dc_overview.web.context import services

PUBLIC_ENDPOINTS = {"api.health", "auth.login", "static"}
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
# Endpoints that need an account in this app's database (proxy principals have none).
LOCAL_ACCOUNT_ENDPOINTS = {"api.create_token"}
PROXY_KEY = "dc_overview.proxy_identity_key"


def install(app: Flask) -> None:
    key_path = app.extensions["dc_overview"].settings.proxy_identity_key_file
    app.extensions[PROXY_KEY] = proxy_identity.key_file_from(key_path)
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
    key_file = current_app.extensions.get(PROXY_KEY)
    identity = request.headers.get(proxy_identity.HEADER)
    if identity and key_file is not None:
        refused = _authenticate_proxy(identity, key_file)
        if refused is not None:
            return refused
    elif (user_id := session.get("user_id")) is not None:
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


def _authenticate_proxy(identity: str, key_file: proxy_identity.KeyFile):
    try:
        g.user = proxy_identity.verify(identity, key_file.key())
    except proxy_identity.IdentityRejected as exc:
        current_app.logger.warning("refused a proxy identity from %s: %s", request.remote_addr, exc)
        if is_api_request():
            return _json_error(401, "the proxy identity header is not valid")
        abort(401, description="The proxy identity header is not valid; sign in again.")
    g.auth = "proxy"
    if request.endpoint in LOCAL_ACCOUNT_ENDPOINTS:
        message = "this needs a local dc-overview account; sign in at the app's own login"
        if is_api_request():
            return _json_error(403, message)
        abort(403, description=message)
    return None


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
