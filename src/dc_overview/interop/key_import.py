"""IPMI Monitor's private keys into our key store (0600 files), deduplicated by fingerprint."""

from __future__ import annotations

import re

from cryptography.hazmat.primitives import serialization

from dc_overview.interop.report import Outcome
from dc_overview.interop.source import IpmiKey
from dc_overview.inventory.errors import ValidationFailed
from dc_overview.inventory.keys import KeyService, _load_private, fingerprint_of
from dc_overview.inventory.validation import SshKeyImport, check_name, parse

TWIN_RE = re.compile(r"already stored as '(?P<name>[^']+)'")


def valid_name(original: str, fallback: str) -> str:
    """`original` when it is a valid name here, else a close valid one (or `fallback`)."""
    try:
        return check_name(original)
    except ValueError:
        pass
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", original.strip()).strip("-._")[:63].rstrip("-._")
    return slug or fallback


def key_fingerprint(content: str) -> str:
    """OpenSSH SHA256 fingerprint of a private key, through the same checks as an upload."""
    parse(SshKeyImport, {"name": "key", "private_key": content})
    public = (
        _load_private(content)
        .public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        .decode()
    )
    return fingerprint_of(public)


class KeyImporter:
    """Brings each IPMI Monitor key in once; remembers which of our keys each one became."""

    def __init__(self, service: KeyService, dry_run: bool) -> None:
        self.service = service
        self.dry_run = dry_run
        stored = service.list_keys()
        self.by_fingerprint = {k.fingerprint: (k.id, k.name) for k in stored}
        self.names = {k.name for k in stored}
        self.done: dict[str, Outcome] = {}
        self.placeholders = 0

    def bring(self, key: IpmiKey) -> tuple[Outcome, bool]:
        """The key's outcome, and whether it is new to this import (to be reported)."""
        if key.origin in self.done:
            return self.done[key.origin], False
        outcome = self._bring(key)
        self.done[key.origin] = outcome
        return outcome, True

    def _bring(self, key: IpmiKey) -> Outcome:
        try:
            fingerprint = key_fingerprint(key.content)
        except ValidationFailed as exc:
            return Outcome("key", key.name, "skipped", _reason(exc), key.origin)
        known = self.by_fingerprint.get(fingerprint)
        if known:
            return self._unchanged(key, *known)
        try:
            name = self._free_name(key.name)
        except ValidationFailed as exc:
            return Outcome("key", key.name, "skipped", _reason(exc), key.origin)
        if self.dry_run:
            self.placeholders -= 1
            key_id = self.placeholders
        else:
            try:
                key_id = self.service.import_key({"name": name, "private_key": key.content}).id
            except ValidationFailed as exc:
                twin = TWIN_RE.search(exc.fields().get("private_key", ""))
                if twin:  # stored meanwhile by someone else: reuse it
                    found = next(k for k in self.service.list_keys() if k.name == twin["name"])
                    return self._unchanged(key, found.id, found.name)
                return Outcome("key", key.name, "skipped", _reason(exc), key.origin)
        self.by_fingerprint[fingerprint] = (key_id, name)
        self.names.add(name)
        renamed = f"; IPMI Monitor calls it {key.name!r}" if name != key.name else ""
        return Outcome(
            "key", name, "imported", f"new key {fingerprint}{renamed}", key.origin, [], key_id
        )

    def _unchanged(self, key: IpmiKey, key_id: int, name: str) -> Outcome:
        reason = f"already stored as {name!r}" if name != key.name else "already stored"
        return Outcome("key", name, "unchanged", reason, key.origin, [], key_id)

    def _free_name(self, wanted: str) -> str:
        """A valid name used neither by a stored key nor by a file in the key folder."""
        base = valid_name(wanted, "ipmi-key")
        suffixes = ["-ipmi", *(f"-ipmi-{n}" for n in range(2, 100))]
        candidates = [base, *(base[: 63 - len(suffix)] + suffix for suffix in suffixes)]
        for name in candidates:
            if name not in self.names and not (self.service.keys_dir / name).exists():
                return name
        raise ValidationFailed.single("name", f"no free name for key {wanted!r}")


def _reason(exc: ValidationFailed) -> str:
    return "; ".join(f"{e.field}: {e.message}" for e in exc.errors)
