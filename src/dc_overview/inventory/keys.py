"""SSH keys: generated or imported, private halves as 0600 files, never returned by the API."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from sqlalchemy import func, select

from dc_overview.fsutil import atomic_write, ensure_private_dir
from dc_overview.inventory.db import Database
from dc_overview.inventory.errors import Conflict, NotFound, ValidationFailed
from dc_overview.inventory.models import Server, SshKey
from dc_overview.inventory.validation import SshKeyGenerate, SshKeyImport, parse

PrivateKey = ed25519.Ed25519PrivateKey


def fingerprint_of(public_openssh: str) -> str:
    """OpenSSH's SHA256 fingerprint of a public key line ("ssh-ed25519 AAAA... comment")."""
    blob = base64.b64decode(public_openssh.split()[1])
    digest = base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
    return f"SHA256:{digest}"


def _load_private(text: str):
    data = text.strip().encode() + b"\n"
    loaders = (serialization.load_ssh_private_key, serialization.load_pem_private_key)
    for loader in loaders:
        try:
            return loader(data, password=None)
        except TypeError as exc:
            raise ValidationFailed.single(
                "private_key",
                "the key is protected by a passphrase; remove it first "
                "(ssh-keygen -p -N '' -f KEYFILE) or generate a new key",
            ) from exc
        except (ValueError, UnsupportedAlgorithm):
            continue
    raise ValidationFailed.single(
        "private_key", "not an OpenSSH or PEM private key (paste the whole file, BEGIN to END)"
    )


class KeyService:
    def __init__(self, db: Database, keys_dir: Path) -> None:
        self.db = db
        self.keys_dir = keys_dir

    def list_keys(self) -> list[SshKey]:
        with self.db.session() as session:
            return list(session.scalars(select(SshKey).order_by(SshKey.name)))

    def get(self, key_id: int) -> SshKey:
        with self.db.session() as session:
            key = session.get(SshKey, key_id)
            if key is None:
                raise NotFound(f"no SSH key with id {key_id}")
            return key

    def usage(self, key_id: int) -> int:
        with self.db.session() as session:
            return (
                session.scalar(select(func.count(Server.id)).where(Server.ssh_key_id == key_id))
                or 0
            )

    def generate(self, data: dict) -> SshKey:
        spec = parse(SshKeyGenerate, data)
        return self._store(spec.name, ed25519.Ed25519PrivateKey.generate())

    def import_key(self, data: dict) -> SshKey:
        spec = parse(SshKeyImport, data)
        return self._store(spec.name, _load_private(spec.private_key))

    def delete(self, key_id: int) -> SshKey:
        in_use = self.usage(key_id)
        if in_use:
            raise Conflict(
                f"SSH key {key_id} is used by {in_use} server(s); "
                "give them another key or remove them first"
            )
        with self.db.session() as session:
            key = session.get(SshKey, key_id)
            if key is None:
                raise NotFound(f"no SSH key with id {key_id}")
            session.delete(key)
        Path(key.private_key_path).unlink(missing_ok=True)
        return key

    def _store(self, name: str, private_key) -> SshKey:
        public = (
            private_key.public_key()
            .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
            .decode()
        )
        public_line = f"{public} dc-overview:{name}"
        fingerprint = fingerprint_of(public_line)
        self._check_new(name, fingerprint)
        path = ensure_private_dir(self.keys_dir) / name
        if path.exists():
            raise ValidationFailed.single(
                "name", f"{path} already exists on disk; choose another name or move that file"
            )
        pem = private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        )
        atomic_write(path, pem, mode=0o600)
        try:
            with self.db.session() as session:
                key = SshKey(
                    name=name,
                    key_type=public.split()[0],
                    public_key=public_line,
                    fingerprint=fingerprint,
                    private_key_path=str(path),
                )
                session.add(key)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return key

    def _check_new(self, name: str, fingerprint: str) -> None:
        with self.db.session() as session:
            if session.scalar(select(SshKey).where(SshKey.name == name)):
                raise ValidationFailed.single("name", f"an SSH key named {name!r} already exists")
            twin = session.scalar(select(SshKey).where(SshKey.fingerprint == fingerprint))
            if twin:
                raise ValidationFailed.single(
                    "private_key", f"this key is already stored as {twin.name!r}"
                )
