"""A comparable picture of the inventory, to prove a refused request changed nothing."""

from __future__ import annotations

from sqlalchemy import select

from dc_overview.inventory.models import Base
from dc_overview.services import Services

# api_tokens.last_used_at and login_failures legitimately change while a request is refused.
FLEET_TABLES = ("servers", "server_exporters", "ssh_keys", "host_keys", "users")


def inventory_snapshot(services: Services) -> dict:
    tables = {t.name: t for t in Base.metadata.sorted_tables}
    picture: dict = {}
    with services.db.session() as session:
        for name in FLEET_TABLES:
            rows = session.execute(select(tables[name])).all()
            picture[name] = sorted(tuple(map(str, row)) for row in rows)
    targets_dir = services.settings.targets_dir
    picture["target_files"] = {p.name: p.read_text() for p in sorted(targets_dir.glob("*.json"))}
    keys_dir = services.settings.ssh_keys_dir
    picture["key_files"] = sorted(p.name for p in keys_dir.iterdir())
    return picture
