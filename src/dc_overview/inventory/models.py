"""SQLAlchemy models of the inventory. Schema changes go through Alembic migrations."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Server.status: the outcome of the last deploy or remove there ("unknown" before any).
SERVER_STATUSES = ("unknown", "ok", "failed", "unreachable", "host key changed")
EXPORTER_KINDS: dict[str, int] = {"node": 9100, "dc": 9835, "dcgm": 9400, "vastai": 8622}
ROLES = ("admin", "viewer")


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes (stored as UTC); PostgreSQL aware ones."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class InventoryRevision(Base):
    """One row whose counter rises with every change to the fleet (cache invalidation)."""

    __tablename__ = "inventory_revision"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, default=0)


class SshKey(Base):
    __tablename__ = "ssh_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(63), unique=True)
    key_type: Mapped[str] = mapped_column(String(32))
    public_key: Mapped[str] = mapped_column(Text)
    fingerprint: Mapped[str] = mapped_column(String(128), unique=True)
    private_key_path: Mapped[str] = mapped_column(String(1024))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Server(Base):
    __tablename__ = "servers"
    __table_args__ = (UniqueConstraint("server_ip", "ssh_port", name="uq_servers_address"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(63), unique=True)
    server_ip: Mapped[str] = mapped_column(String(253))
    ssh_user: Mapped[str] = mapped_column(String(32), default="root")
    ssh_port: Mapped[int] = mapped_column(Integer, default=22)
    ssh_key_id: Mapped[int | None] = mapped_column(
        ForeignKey("ssh_keys.id", ondelete="RESTRICT"), nullable=True
    )
    bmc_ip: Mapped[str | None] = mapped_column(String(253), nullable=True)
    has_gpu: Mapped[bool] = mapped_column(Boolean, default=False)
    # The Vast.ai host daemon (vastai_kaalia) runs there: the vastai exporter applies (deploy).
    vastai_host: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    labels: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    # How the last deploy went on this server (SERVER_STATUSES); last_seen: its last SSH contact.
    status: Mapped[str] = mapped_column(String(16), default="unknown")
    last_seen: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )

    ssh_key: Mapped[SshKey | None] = relationship(lazy="joined")
    exporters: Mapped[list[Exporter]] = relationship(
        back_populates="server",
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by="Exporter.kind",
    )

    def exporter(self, kind: str) -> Exporter | None:
        return next((e for e in self.exporters if e.kind == kind), None)


class Exporter(Base):
    """One exporter on one server: whether it is wanted, installed (verified) and which version."""

    __tablename__ = "server_exporters"
    __table_args__ = (UniqueConstraint("server_id", "kind", name="uq_exporter_kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    server_id: Mapped[int] = mapped_column(ForeignKey("servers.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    installed: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[str | None] = mapped_column(String(64), nullable=True)
    port: Mapped[int] = mapped_column(Integer)

    server: Mapped[Server] = relationship(back_populates="exporters")

    @property
    def scraped(self) -> bool:
        """Prometheus is told about an exporter only once it is both wanted and installed."""
        return self.enabled and self.installed


class HostKey(Base):
    """A worker's SSH host key, trusted on first use and pinned."""

    __tablename__ = "host_keys"
    __table_args__ = (UniqueConstraint("host", "port", "key_type", name="uq_host_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    host: Mapped[str] = mapped_column(String(253))
    port: Mapped[int] = mapped_column(Integer)
    key_type: Mapped[str] = mapped_column(String(64))
    fingerprint: Mapped[str] = mapped_column(String(128))
    first_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(63), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="viewer")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class ApiToken(Base):
    """A bearer token for scripts; only its SHA-256 is stored, the token is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(63))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    user: Mapped[User] = relationship(lazy="joined")


class LoginFailure(Base):
    """Failed logins, kept in the database so every gunicorn worker sees the same rate limit."""

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    remote_addr: Mapped[str] = mapped_column(String(64), index=True)
    username: Mapped[str] = mapped_column(String(63))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
