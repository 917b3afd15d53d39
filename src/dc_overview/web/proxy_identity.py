"""Trusting cryptolabs-proxy's signed identity header (`X-CryptoLabs-Identity`).

Behind the fleet proxy, people sign in once at the proxy, which sends each request on with
`base64url(payload) "." base64url(HMAC-SHA256(key, base64url(payload)))`, payload being JSON
`{"u": user, "r": role, "exp": epoch}`. The key is a secret file shared with the proxy
(`DC_OVERVIEW_PROXY_IDENTITY_KEY_FILE`). Without that setting the header is ignored and only
the app's own login counts; with it, a header that does not verify or has expired is refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

HEADER = "X-CryptoLabs-Identity"
MIN_KEY_LENGTH = 32
ROLES = ("admin", "viewer")

log = logging.getLogger(__name__)


class IdentityRejected(Exception):
    """The header is malformed, forged or expired, or the key cannot be used."""


@dataclass(frozen=True)
class ProxyPrincipal:
    """A person the proxy vouches for; they have no row (and no id) in this app's database."""

    username: str
    role: str
    id: None = None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class KeyFile:
    """The shared key, read again only when the file changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: tuple[int, int] | None = None
        self._key: str | None = None

    def key(self) -> str:
        try:
            stat = self.path.stat()
        except OSError as exc:
            raise IdentityRejected(f"identity key file {self.path} unreadable: {exc}") from exc
        if stat.st_mode & 0o077:
            raise IdentityRejected(f"identity key file {self.path} is readable by others")
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp != self._stamp:
            self._key = self.path.read_text().strip()
            self._stamp = stamp
        if not self._key or len(self._key) < MIN_KEY_LENGTH:
            raise IdentityRejected(f"identity key in {self.path} is shorter than {MIN_KEY_LENGTH}")
        return self._key


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def verify(value: str, key: str, now: float | None = None) -> ProxyPrincipal:
    """The principal in a header value; raises IdentityRejected unless genuine and unexpired."""
    signed, _, signature = value.strip().partition(".")
    expected = hmac.new(key.encode(), signed.encode("ascii", "replace"), hashlib.sha256).digest()
    try:
        genuine = hmac.compare_digest(_unb64(signature), expected)
    except ValueError:
        genuine = False
    if not genuine:
        raise IdentityRejected("identity signature does not verify")
    try:
        payload = json.loads(_unb64(signed))
    except (ValueError, UnicodeDecodeError) as exc:
        raise IdentityRejected("identity payload is not JSON") from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("exp"), int):
        raise IdentityRejected("identity has no expiry")
    if payload["exp"] < (time.time() if now is None else now):
        raise IdentityRejected("identity expired")
    username, role = payload.get("u"), payload.get("r")
    if not isinstance(username, str) or not username or role not in ROLES:
        raise IdentityRejected("identity names no user or an unknown role")
    return ProxyPrincipal(username=username, role=role)


def key_file_from(path: Path | None) -> KeyFile | None:
    if path is None:
        return None
    if not os.path.exists(path):
        log.warning("proxy identity key file %s does not exist: proxy identities refused", path)
    return KeyFile(path)
