"""Host-key trust on first use over the inventory's HostKey table."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from dc_overview.inventory.hostkeys import HostKeyStore
from dc_overview.inventory.models import HostKey


@dataclass(frozen=True)
class PinnedKey:
    key_type: str
    fingerprint: str


class HostKeyMismatch(RuntimeError):
    """The host presented another key than the pinned one: refused, never overridden silently."""

    def __init__(self, server: str, pinned: PinnedKey, presented: PinnedKey) -> None:
        self.server = server
        self.pinned = pinned
        self.presented = presented
        super().__init__(
            f"host key of {server} CHANGED: pinned {pinned.key_type} {pinned.fingerprint}, "
            f"now {presented.key_type} {presented.fingerprint}. Nothing was done. If the server "
            f"was reinstalled, check the new fingerprint on its console and run "
            f"`dc-overview hosts trust {server}`"
        )


class HostTrust:
    """Reads and pins host keys (all key types of host:port) through the HostKeyStore."""

    def __init__(self, store: HostKeyStore) -> None:
        self.store = store

    def pinned(self, host: str, port: int) -> list[PinnedKey]:
        with self.store.db.session() as session:
            rows = session.scalars(
                select(HostKey)
                .where(HostKey.host == host, HostKey.port == port)
                .order_by(HostKey.id)
            )
            return [PinnedKey(row.key_type, row.fingerprint) for row in rows]

    def pin(self, host: str, port: int, key: PinnedKey) -> None:
        """Pin `key`; a concurrent first contact that pinned the same key first is fine."""
        try:
            self.store.trust(host, port, key.key_type, key.fingerprint)
        except IntegrityError:
            existing = self.store.lookup(host, port, key.key_type)
            if existing is None or existing.fingerprint != key.fingerprint:
                raise

    def forget(self, host: str, port: int) -> list[PinnedKey]:
        old = self.pinned(host, port)
        self.store.forget(host, port)
        return old
