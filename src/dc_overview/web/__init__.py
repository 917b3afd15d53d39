"""The DC Overview web app: `create_app()` builds one from settings, with no global state."""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from dc_overview import __version__
from dc_overview.bootstrap import prepare, session_key
from dc_overview.services import Services, build_services
from dc_overview.settings import Settings, load_settings

MAX_BODY_BYTES = 64 * 1024


def create_app(
    settings: Settings | None = None,
    services: Services | None = None,
    run_prepare: bool = True,
) -> Flask:
    """An app wired to `services` (built from `settings` when not given).

    `run_prepare=False` is for gunicorn workers: `dc-overview serve` prepares once, up front.
    """
    services = services or build_services(settings or load_settings())
    if run_prepare:
        prepare(services)
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=session_key(services),
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="dc_overview_session",
        JSON_SORT_KEYS=False,
    )
    app.extensions["dc_overview"] = services
    app.jinja_env.globals.update(version=__version__, site_name=services.settings.site_name)
    _register(app)
    hops = services.settings.proxy_hops
    if hops:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops, x_prefix=hops
        )
    return app


def _register(app: Flask) -> None:
    from dc_overview.web import errors, guard, metrics
    from dc_overview.web.api import bp as api_bp
    from dc_overview.web.auth import bp as auth_bp
    from dc_overview.web.ui import bp as ui_bp

    guard.install(app)
    metrics.install(app)
    errors.install(app)
    app.register_blueprint(auth_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(ui_bp)
