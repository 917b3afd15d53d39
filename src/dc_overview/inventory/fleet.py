"""The service that changes the fleet: servers and their exporters."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dc_overview.inventory.db import Database
from dc_overview.inventory.errors import NotFound, ValidationFailed
from dc_overview.inventory.models import (
    EXPORTER_KINDS,
    SERVER_STATUSES,
    Exporter,
    Server,
    SshKey,
)
from dc_overview.inventory.validation import (
    ExporterInput,
    ServerCreate,
    ServerUpdate,
    parse,
)
from dc_overview.inventory.views import ServerCache, ServerView, bump_revision, load_servers

ChangeListener = Callable[[], None]


class FleetService:
    """Create, change and remove servers; every committed change notifies the listeners."""

    def __init__(self, db: Database, listeners: list[ChangeListener] | None = None) -> None:
        self.db = db
        self.listeners = listeners or []
        self.cache = ServerCache(db)

    def list_servers(self) -> list[ServerView]:
        return self.cache.servers()[1]

    def revision(self) -> int:
        return self.cache.servers()[0]

    def get(self, server_id: int) -> ServerView:
        with self.db.session() as session:
            found = load_servers(session, server_id)
        if not found:
            raise NotFound(f"no server with id {server_id}")
        return found[0]

    def find_by_name(self, name: str) -> ServerView:
        with self.db.session() as session:
            server_id = session.scalar(select(Server.id).where(Server.name == name))
        if server_id is None:
            raise NotFound(f"no server named {name!r}")
        return self.get(server_id)

    def create(self, data: Mapping[str, Any]) -> ServerView:
        spec = parse(ServerCreate, dict(data))
        with self.db.session() as session:
            _check_unique(session, spec.name, spec.server_ip, spec.ssh_port, exclude_id=None)
            _check_key(session, spec.ssh_key_id)
            fields = spec.model_dump(exclude={"exporters"})
            server = Server(**fields, status="unknown", exporters=_default_exporters(spec.has_gpu))
            _apply_exporters(server, spec.exporters)
            session.add(server)
            _flush(session)
            server_id = server.id
            bump_revision(session)
        self._notify()
        return self.get(server_id)

    def update(self, server_id: int, data: Mapping[str, Any]) -> ServerView:
        spec = parse(ServerUpdate, dict(data))
        changes = spec.model_dump(exclude_unset=True, exclude={"exporters"})
        with self.db.session() as session:
            server = _load(session, server_id)
            _check_unique(
                session,
                changes.get("name", server.name),
                changes.get("server_ip", server.server_ip),
                changes.get("ssh_port", server.ssh_port),
                exclude_id=server.id,
            )
            if "ssh_key_id" in changes:
                _check_key(session, changes["ssh_key_id"])
            for field, value in changes.items():
                setattr(server, field, value)
            _apply_exporters(server, spec.exporters or {})
            _flush(session)
            bump_revision(session)
        self._notify()
        return self.get(server_id)

    def record_contact(self, server_id: int, status: str, seen: datetime | None) -> None:
        """What the last deploy found: its outcome and, when it got in, the time of contact."""
        if status not in SERVER_STATUSES:
            raise ValueError(f"status {status!r} is not one of {SERVER_STATUSES}")
        with self.db.session() as session:
            server = _load(session, server_id)
            server.status = status
            if seen is not None:
                server.last_seen = seen
            _flush(session)
            bump_revision(session)

    def delete(self, server_id: int) -> ServerView:
        server = self.get(server_id)
        with self.db.session() as session:
            session.delete(_load(session, server_id))
            bump_revision(session)
        self._notify()
        return server

    def _notify(self) -> None:
        for listener in self.listeners:
            listener()


def _load(session: Session, server_id: int) -> Server:
    server = session.get(Server, server_id)
    if server is None:
        raise NotFound(f"no server with id {server_id}")
    return server


def _check_unique(
    session: Session, name: str, server_ip: str, ssh_port: int, exclude_id: int | None
) -> None:
    query = select(Server.id, Server.name, Server.server_ip, Server.ssh_port).where(
        (Server.name == name) | ((Server.server_ip == server_ip) & (Server.ssh_port == ssh_port))
    )
    for row in session.execute(query):
        if row.id == exclude_id:
            continue
        if row.name == name:
            raise ValidationFailed.single("name", f"a server named {name!r} already exists")
        raise ValidationFailed.single(
            "server_ip",
            f"{server_ip} port {ssh_port} is already server {row.name!r}; "
            "use a different address or SSH port",
        )


def _check_key(session: Session, key_id: int | None) -> None:
    if key_id is not None and session.get(SshKey, key_id) is None:
        raise ValidationFailed.single("ssh_key_id", f"no SSH key with id {key_id}")


def _default_exporters(has_gpu: bool) -> list[Exporter]:
    wanted = {"node": True, "dc": has_gpu, "dcgm": False, "vastai": False}
    return [
        Exporter(kind=kind, enabled=wanted[kind], installed=False, port=port)
        for kind, port in EXPORTER_KINDS.items()
    ]


def _apply_exporters(server: Server, updates: Mapping[str, ExporterInput]) -> None:
    for kind, update in updates.items():
        exporter = server.exporter(kind)
        if exporter is None:
            exporter = Exporter(
                kind=kind, enabled=False, installed=False, port=EXPORTER_KINDS[kind]
            )
            server.exporters.append(exporter)
        for field, value in update.model_dump(exclude_unset=True).items():
            setattr(exporter, field, value)


def _flush(session: Session) -> None:
    """Flush, turning a unique-constraint race into the same error the pre-check gives."""
    try:
        session.flush()
    except IntegrityError as exc:
        raise ValidationFailed.single("name", "a server with this name or address exists") from exc
