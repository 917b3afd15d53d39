"""Errors as JSON for the API and as pages for people."""

from __future__ import annotations

from flask import Flask, jsonify, render_template
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from dc_overview.inventory.errors import Conflict, NotFound, ValidationFailed
from dc_overview.web.guard import is_api_request


def install(app: Flask) -> None:
    app.register_error_handler(ValidationFailed, _validation_failed)
    app.register_error_handler(NotFound, lambda exc: _error(404, str(exc)))
    app.register_error_handler(Conflict, lambda exc: _error(409, str(exc)))
    app.register_error_handler(RequestEntityTooLarge, _too_large)
    app.register_error_handler(HTTPException, _http_error)


def _validation_failed(exc: ValidationFailed):
    response = jsonify(
        {"error": "invalid input; nothing was changed", "errors": [e.as_dict() for e in exc.errors]}
    )
    response.status_code = 422
    return response


def _too_large(exc: RequestEntityTooLarge):
    limit = exc.description or ""
    return _error(413, f"request body too large; the limit is 64 KiB {limit}".strip(), "body")


def _http_error(exc: HTTPException):
    return _error(exc.code or 500, exc.description or exc.name)


def _error(status: int, message: str, field: str | None = None):
    if is_api_request():
        body: dict = {"error": message}
        if field:
            body["errors"] = [{"field": field, "message": message}]
        response = jsonify(body)
        response.status_code = status
        return response
    return render_template("error.html", status=status, message=message), status
