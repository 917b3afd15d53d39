"""Session login and logout for people (scripts use bearer tokens)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for

from dc_overview.inventory.accounts import LoginRateLimited
from dc_overview.web.context import current_user, services

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    """Only app-relative paths, so the login cannot be used as an open redirect."""
    if not target:
        return url_for("ui.dashboard")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("ui.dashboard")
    return request.script_root + target


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "GET":
        if current_user() is not None:
            return redirect(_safe_next(request.args.get("next")))
        return render_template("login.html", next=request.args.get("next", ""))
    username = request.form.get("username", "")[:63]
    password = request.form.get("password", "")[:1024]
    next_page = request.form.get("next", "")
    try:
        user = services().accounts.authenticate(username, password, request.remote_addr or "?")
    except LoginRateLimited as exc:
        page = render_template("login.html", error=str(exc), username=username, next=next_page)
        return page, 429
    if user is None:
        error = "Wrong user name or password."
        return render_template("login.html", error=error, username=username, next=next_page), 401
    csrf = session.get("csrf")
    session.clear()
    session["user_id"] = user.id
    if csrf:
        session["csrf"] = csrf
    flash(f"Signed in as {user.username}.")
    return redirect(_safe_next(next_page))


@bp.post("/logout")
def logout():
    session.clear()
    return redirect(url_for("auth.login"))
