"""Access to the app's services and the signed-in user from inside a request."""

from __future__ import annotations

from flask import current_app, g

from dc_overview.inventory.models import User
from dc_overview.services import Services


def services() -> Services:
    return current_app.extensions["dc_overview"]


def current_user() -> User | None:
    return g.get("user")
