"""alertmanager.yml and the secret files it reads, written into `<config dir>/alertmanager/`.

The operator names secret files on the host; each is copied (0600) into the folder's
`secrets/`, which the container sees read-only at /etc/alertmanager/secrets/. The rendered
file points at those copies and holds no secret itself.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from pydantic import BaseModel

from dc_overview.alerting.receivers import AlertmanagerConfig
from dc_overview.fsutil import atomic_write, ensure_private_dir, read_secret
from dc_overview.templating import render

TEMPLATE = "alertmanager/alertmanager.yml.j2"
CONFIG_FILE = "alertmanager.yml"
RECEIVER = "dc-overview"
CONTAINER_VIEW = Path("/etc/alertmanager")
# (receiver kind, field) -> name of the copy in secrets/.
SECRET_FIELDS = {
    ("telegram", "bot_token_file"): "telegram_bot_token",
    ("slack", "api_url_file"): "slack_api_url",
    ("email", "auth_password_file"): "email_auth_password",
    ("webhook", "url_file"): "webhook_url",
    ("webhook", "bearer_token_file"): "webhook_bearer_token",
}


def secret_sources(config: AlertmanagerConfig) -> dict[str, Path]:
    """Copy name -> the operator's file, for every secret the configured receivers use."""
    found = {}
    for (kind, field), name in SECRET_FIELDS.items():
        receiver = config.receivers.get(kind)
        source = getattr(receiver, field, None) if receiver is not None else None
        if source:
            found[name] = Path(source)
    return found


def _with_secret_paths(kind: str, receiver: BaseModel, secrets_dir: Path) -> dict:
    data = receiver.model_dump(by_alias=False)
    for (secret_kind, field), name in SECRET_FIELDS.items():
        if secret_kind == kind and data.get(field):
            data[field] = str(secrets_dir / name)
    return data


def render_alertmanager_config(config: AlertmanagerConfig, view: Path = CONTAINER_VIEW) -> str:
    """alertmanager.yml as Alertmanager sees it from `view` (its config folder)."""
    secrets_dir = view / "secrets"
    receivers = {
        kind: _with_secret_paths(kind, receiver, secrets_dir)
        for kind, receiver in config.receivers.items()
    }
    return render(
        TEMPLATE,
        receiver=RECEIVER,
        secrets_dir=str(secrets_dir),
        group_wait=config.group_wait,
        group_interval=config.group_interval,
        repeat_interval=config.repeat_interval,
        telegram=receivers.get("telegram"),
        slack=receivers.get("slack"),
        email=receivers.get("email"),
        webhook=receivers.get("webhook"),
    )


def write_alertmanager(
    config: AlertmanagerConfig, directory: Path, view: Path = CONTAINER_VIEW
) -> Path:
    """Copy the secrets (0600, in a 0700 folder) and write alertmanager.yml (0644)."""
    secrets_dir = ensure_private_dir(directory / "secrets")
    wanted = secret_sources(config)
    for name, source in wanted.items():
        value = read_secret(source)
        if value is None:
            raise FileNotFoundError(f"alerts.alertmanager: {source} does not exist")
        atomic_write(secrets_dir / name, value, mode=0o600)  # no newline: read as is
    for stale in secrets_dir.iterdir():
        if stale.name not in wanted:
            stale.unlink()
    path = directory / CONFIG_FILE
    atomic_write(path, render_alertmanager_config(config, view))
    return path


def remove_alertmanager(directory: Path) -> None:
    """Receivers all gone: drop the config and the secret copies with it."""
    shutil.rmtree(directory, ignore_errors=True)


def give_to(directory: Path, uid: int) -> bool:
    """Make the folder readable by the Alertmanager container's user; False when not root."""
    if os.geteuid() != 0 or not directory.exists():
        return False
    for root, dirs, files in os.walk(directory):
        for name in [*dirs, *files]:
            os.chown(Path(root) / name, uid, uid)
    os.chown(directory, uid, uid)
    return True
