"""A small client for the Vast.ai REST API (v0). The API key travels only in the
Authorization header: never in a URL, a log line or an error message."""

from __future__ import annotations

import logging
import os
import re
import stat
import time
from dataclasses import dataclass, field
from typing import Any

import requests

from ..version import VERSION

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://console.vast.ai"
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_KEY = re.compile(r"^[A-Za-z0-9_\-.=+/]{8,512}$")


class VastApiError(Exception):
    """A failed API call; `reason` is a short label value (timeout, http_401, ...)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class KeyFileError(Exception):
    """The API key file cannot be used; the message says why (never quoting a key)."""


@dataclass(frozen=True)
class Account:
    """A Vast.ai account: a name for the labels and its API key (kept out of repr)."""

    name: str
    key: str = field(repr=False)


def load_accounts(path: str) -> tuple[Account, ...]:
    """Read "name:key" or bare "key" lines ('#' comments and blank lines are skipped)."""
    try:
        mode = os.stat(path).st_mode
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except OSError as exc:
        raise KeyFileError(f"cannot read the API key file {path}: {exc.strerror}") from exc
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("API key file %s is readable by others; chmod 600 it", path)
    accounts = []
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, key = line.partition(":")
        if not sep:
            name, key = f"account{len(accounts) + 1}", line
        name, key = name.strip(), key.strip()
        if not _NAME.match(name) or not _KEY.match(key):
            raise KeyFileError(f"{path} line {number}: expected 'name:key' or 'key'")
        accounts.append(Account(name, key))
    if not accounts:
        raise KeyFileError(f"{path} holds no API key")
    names = [account.name for account in accounts]
    if len(set(names)) != len(names):
        raise KeyFileError(f"{path}: account names must be unique")
    return tuple(accounts)


class VastClient:
    """GET requests for one account, with a timeout and no redirects."""

    def __init__(self, account: Account, base_url: str = DEFAULT_API_URL, timeout: float = 10.0):
        self.account = account
        self._base = base_url.rstrip("/")
        self._timeout = timeout
        self._session = requests.Session()
        self._session.headers.update(
            {
                "Authorization": f"Bearer {account.key}",
                "Accept": "application/json",
                "User-Agent": f"dc-overview-vastai-exporter/{VERSION}",
            }
        )

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """The decoded JSON body of GET /api/v0<path>; raises VastApiError."""
        url = f"{self._base}/api/v0{path}"
        try:
            response = self._session.get(
                url, params=params, timeout=self._timeout, allow_redirects=False
            )
        except requests.Timeout as exc:
            raise VastApiError("timeout", f"{path}: no answer within {self._timeout:g}s") from exc
        except requests.ConnectionError as exc:
            raise VastApiError("connection_error", f"{path}: cannot connect") from exc
        except requests.RequestException as exc:
            raise VastApiError("request_error", f"{path}: {type(exc).__name__}") from exc
        if response.status_code != 200:
            raise VastApiError(
                f"http_{response.status_code}", f"{path}: HTTP {response.status_code}"
            )
        try:
            return response.json()
        except ValueError as exc:
            raise VastApiError("invalid_json", f"{path}: the answer is not JSON") from exc

    def current_user(self) -> dict[str, Any]:
        """GET /users/current/: id, balance, credit, ..."""
        return _expect(self.get("/users/current/"), dict, "/users/current/")

    def machines(self) -> list[dict[str, Any]]:
        """GET /machines/: the account's hosted machines."""
        body = _expect(self.get("/machines/"), dict, "/machines/")
        return [m for m in _expect(body.get("machines"), list, "/machines/") if isinstance(m, dict)]

    def earnings(self, user_id: Any, days: float = 30.0) -> dict[str, Any]:
        """GET /users/{id}/machine-earnings/ over the last `days` days."""
        if isinstance(user_id, bool) or not isinstance(user_id, int):
            raise VastApiError("invalid_response", "/users/current/: no numeric user id")
        path = f"/users/{user_id}/machine-earnings/"
        today = time.time() / 86400.0
        params = {"sday": round(today - days, 4), "eday": round(today, 4)}
        return _expect(self.get(path, params), dict, path)

    def close(self) -> None:
        self._session.close()


def _expect(value: Any, kind: type, path: str) -> Any:
    if not isinstance(value, kind):
        raise VastApiError("invalid_response", f"{path}: unexpected answer shape")
    return value
