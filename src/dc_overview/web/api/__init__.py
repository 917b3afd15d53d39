"""The JSON API, one blueprint; each module adds the routes of one concern."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api")

from dc_overview.web.api import (  # noqa: E402, F401 - the modules register their routes on bp
    health,
    interop,
    jobs,
    keys,
    openapi,
    servers,
    status,
    tokens,
)
