"""The one login: login/logout pages, and the endpoints nginx's auth_request asks.

nginx asks `/auth/verify/<policy>` (policy = "proxy" or a service name) before every guarded
request; 2xx lets it through with the identity headers, 401 sends the visitor to the login,
403 refuses (a viewer at an admin-only service).
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import quote, urlsplit

from flask import (
    Blueprint,
    Response,
    abort,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
)
from flask.typing import ResponseReturnValue

from cryptolabs_proxy import identity
from cryptolabs_proxy.app import proxy_state, wants_json
from cryptolabs_proxy.users import LockedOut, User

bp = Blueprint("auth", __name__)
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
GRAFANA_ROLES = {"admin": "Admin", "viewer": "Viewer"}
IPMI_MONITOR_ROLES = {"admin": "admin", "viewer": "readonly"}


def current_user() -> User | None:
    """The signed-in user, or None; a session outlives neither its user nor a password change."""
    if "user" in g:
        return g.user
    user = None
    name = session.get("u")
    if name:
        user = proxy_state().users.get(name)
        if user is None or session.get("sv") != user.session_version:
            session.clear()
            user = None
    g.user = user
    return user


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def check_csrf() -> None:
    sent = request.form.get("csrf_token", "")
    expected = session.get("csrf", "")
    if not (sent and expected and hmac.compare_digest(sent, expected)):
        abort(400, description="The form expired or came from elsewhere; reload and try again.")


@bp.app_context_processor
def _template_context() -> dict:
    return {"current_user": current_user(), "csrf_token": csrf_token}


def safe_next(target: str | None) -> str:
    """Only paths on this site, so the login cannot be used as an open redirect."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    if "\\" in target or any(ord(char) < 0x21 for char in target):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or parts.path in ("/login", "/logout"):
        return "/"
    return target


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    next_page = request.values.get("next", "")
    if request.method == "GET":
        if current_user() is not None:
            return redirect(safe_next(next_page))
        return render_template("login.html", next=next_page)
    check_csrf()
    username = request.form.get("username", "").strip()[:64]
    password = request.form.get("password", "")[:1024]
    try:
        user = proxy_state().users.authenticate(username, password, request.remote_addr or "?")
    except LockedOut as exc:
        page = render_template("login.html", error=str(exc), username=username, next=next_page)
        return page, 429, {"Retry-After": str(exc.seconds)}
    if user is None:
        error = "Wrong user name or password."
        return render_template("login.html", error=error, username=username, next=next_page), 401
    session.clear()  # a fresh session: no fixation
    session.permanent = True
    session.update(u=user.username, sv=user.session_version, csrf=secrets.token_urlsafe(32))
    return redirect(safe_next(next_page))


@bp.route("/logout", methods=["GET", "POST"])
def logout() -> ResponseReturnValue:
    """GET asks (backends link here: they cannot hold our CSRF token); POST signs out."""
    if request.method == "GET":
        if current_user() is None:
            return redirect("/login")
        return render_template("logout.html")
    check_csrf()
    session.clear()
    return redirect("/login")


@bp.route("/auth/verify/<policy>", methods=ALL_METHODS)
def verify(policy: str) -> ResponseReturnValue:
    state = proxy_state()
    spec = state.service(policy)
    if spec is None and policy != "proxy":
        return _empty(403)
    user = current_user()
    if user is None:
        bearer = request.headers.get("Authorization", "").startswith("Bearer ")
        if spec is not None and spec.bearer_passthrough and bearer:
            return _empty(200)  # the backend checks its own API token
        return _empty(401)
    if spec is not None and spec.admin_only and not user.is_admin:
        return _empty(403)
    response = _empty(200)
    key, ttl = state.identity_key, state.config.identity_ttl
    response.headers.update(
        {
            "X-CryptoLabs-Identity": identity.sign(user.username, user.role, key, ttl),
            "X-CryptoLabs-User": user.username,
            "X-CryptoLabs-Grafana-Role": GRAFANA_ROLES[user.role],
            "X-CryptoLabs-Fleet-Role": IPMI_MONITOR_ROLES[user.role],
            "X-CryptoLabs-Fleet-Flag": "true",
        }
    )
    return response


@bp.route("/auth/unauthorized", methods=ALL_METHODS)
def unauthorized() -> ResponseReturnValue:
    original = request.headers.get("X-Original-URI", "/")
    if wants_json(original):
        response = jsonify({"error": "authentication required: sign in at /login"})
        response.status_code = 401
        return response
    return redirect("/login?next=" + quote(safe_next(original), safe="/"))


@bp.route("/auth/forbidden", methods=ALL_METHODS)
def forbidden() -> ResponseReturnValue:
    original = request.headers.get("X-Original-URI", "/")
    message = "This part of the site is for admins only."
    if wants_json(original):
        return jsonify({"error": message}), 403
    return render_template("message.html", title="Admins only", message=message), 403


def _empty(status: int) -> Response:
    response = Response(status=status)
    response.headers["Cache-Control"] = "no-store"
    return response
