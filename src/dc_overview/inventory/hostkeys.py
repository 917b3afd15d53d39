"""Trusted SSH host keys (trust on first use, then pinned)."""

from __future__ import annotations

from sqlalchemy import delete, select

from dc_overview.inventory.db import Database
from dc_overview.inventory.models import HostKey


class HostKeyStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def lookup(self, host: str, port: int, key_type: str) -> HostKey | None:
        with self.db.session() as session:
            return session.scalar(
                select(HostKey).where(
                    HostKey.host == host, HostKey.port == port, HostKey.key_type == key_type
                )
            )

    def trust(self, host: str, port: int, key_type: str, fingerprint: str) -> HostKey:
        with self.db.session() as session:
            key = HostKey(host=host, port=port, key_type=key_type, fingerprint=fingerprint)
            session.add(key)
            return key

    def forget(self, host: str, port: int) -> int:
        """Drop every pinned key of host:port (the operator re-trusts a rebuilt server)."""
        with self.db.session() as session:
            result = session.execute(
                delete(HostKey).where(HostKey.host == host, HostKey.port == port)
            )
            return result.rowcount or 0
