"""The proxy's Flask service (behind nginx on 127.0.0.1): landing page, APIs, login, auth_request.

gunicorn runs it as `cryptolabs_proxy.app:create_app()`.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Flask, current_app, jsonify, render_template, request
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from cryptolabs_proxy import __version__
from cryptolabs_proxy.config import ProxyConfig, load_config
from cryptolabs_proxy.state import ProxyState, prepare

SESSION_COOKIE = "cryptolabs_proxy_session"


def create_app(config: ProxyConfig | None = None, state: ProxyState | None = None) -> Flask:
    """An app for `config` (from the environment and config file when not given)."""
    state = state or prepare(config or load_config())
    config = state.config
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=state.session_key,
        SESSION_COOKIE_NAME=SESSION_COOKIE,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SECURE=config.cookie_secure,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=config.session_hours),
        MAX_CONTENT_LENGTH=16 * 1024,
    )
    app.extensions["cryptolabs_proxy"] = state
    app.jinja_env.globals.update(site_name=config.site_name, version=__version__)
    # nginx on the same host is the only client; it sets X-Forwarded-For to the real peer.
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)  # type: ignore[method-assign]

    from cryptolabs_proxy.web_auth import bp as auth_bp
    from cryptolabs_proxy.web_pages import bp as pages_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(pages_bp)
    app.register_error_handler(HTTPException, _http_error)
    return app


def proxy_state() -> ProxyState:
    return current_app.extensions["cryptolabs_proxy"]


def wants_json(uri: str | None = None) -> bool:
    """API callers get JSON errors; people get pages."""
    path = (uri or request.path).split("?", 1)[0]
    accept = request.headers.get("Accept", "")
    return "/api/" in path or accept.startswith("application/json")


def _http_error(exc: HTTPException):
    status = exc.code or 500
    message = exc.description or exc.name
    if wants_json():
        return jsonify({"error": message}), status
    return render_template("message.html", title=exc.name, message=message), status
