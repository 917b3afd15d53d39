"""Inventory commands on a master that runs the stack go to the app container.

The quickstart keeps the inventory (servers, keys, users, tokens, jobs) in the app container's
data volume. The same commands run on the host would open a second, empty database under
/var/lib/dc-overview, so on such a host they run inside the container (`docker exec`) instead,
where the stack's app, Prometheus targets and deploy artifacts are.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import click

from dc_overview.deploy.engine import DockerError, docker
from dc_overview.deploy.quickstart import APP_CONTAINER, SAVED_CONFIG
from dc_overview.settings import DEFAULT_CONFIG_DIR

# Commands that read or write the inventory database.
INVENTORY_COMMANDS = frozenset(
    {"servers", "keys", "users", "tokens", "hosts", "deploy", "import", "render"}
)
CONTAINER_CONFIG_DIR = Path("/etc/dc-overview")
# Any of these set means the database is chosen explicitly: use it, here. The app container's
# own CLI is such a case (its compose environment sets DC_OVERVIEW_DATA).
LOCAL_DATABASE_VARIABLES = ("DC_OVERVIEW_DATA", "DATABASE_URL")


class StackUnreachable(click.ClickException):
    """The stack is configured here but its app container cannot run the command."""


@dataclass(frozen=True)
class Stack:
    config_dir: Path


def stack_for(command: str, config_dir: Path | None, data_dir: Path | None) -> Stack | None:
    """The stack whose app must run `command`, or None to run it here."""
    if command not in INVENTORY_COMMANDS or data_dir is not None:
        return None
    if any(os.environ.get(name) for name in LOCAL_DATABASE_VARIABLES):
        return None
    config_dir = (config_dir or _env_config_dir()).resolve()
    if not (config_dir / SAVED_CONFIG).is_file():
        return None
    return Stack(config_dir)


def _env_config_dir() -> Path:
    return Path(os.environ.get("DC_OVERVIEW_CONFIG_DIR") or DEFAULT_CONFIG_DIR)


def container_args(stack: Stack, args: list[str]) -> list[str]:
    """Host paths in `args` as the container sees them; a path it cannot see is refused."""
    return [_container_arg(stack, arg) for arg in args]


def _container_arg(stack: Stack, arg: str) -> str:
    if arg.startswith("--") and "=" in arg:
        option, value = arg.split("=", 1)
        return f"{option}={_container_path(stack, value)}"
    return arg if arg.startswith("-") else _container_path(stack, arg)


def _container_path(stack: Stack, value: str) -> str:
    if "/" not in value or not Path(value).exists():
        return value
    path = Path(value).resolve()
    if path == stack.config_dir or stack.config_dir in path.parents:
        return str(CONTAINER_CONFIG_DIR / path.relative_to(stack.config_dir))
    raise StackUnreachable(
        f"{value}: the stack's app (container {APP_CONTAINER}) cannot see this path. Copy it "
        f"into {stack.config_dir / 'artifacts'}/ (the container sees {stack.config_dir}) and "
        "pass that path."
    )


def check_container(stack: Stack) -> None:
    """The running app container must be the one serving this config dir."""
    try:
        container = json.loads(docker(["inspect", APP_CONTAINER]))[0]
    except (DockerError, ValueError, IndexError) as exc:
        raise StackUnreachable(
            f"the stack in {stack.config_dir} keeps its inventory in the {APP_CONTAINER} "
            f"container, which cannot be reached ({exc}). Start it with `dc-overview start` "
            "(or `docker start dc-overview`); to use a local database instead pass --data-dir."
        ) from exc
    mounts = container.get("Mounts") or []
    sources = {m.get("Source") for m in mounts if m.get("Destination") == str(CONTAINER_CONFIG_DIR)}
    if str(stack.config_dir) not in sources:
        raise StackUnreachable(
            f"the running {APP_CONTAINER} container belongs to another config dir "
            f"({', '.join(sorted(filter(None, sources))) or 'none'}), not {stack.config_dir}"
        )
    if not container.get("State", {}).get("Running"):
        raise StackUnreachable(
            f"the {APP_CONTAINER} container is stopped: `dc-overview start`, then run this again"
        )


def run_in_stack(stack: Stack, argv: list[str]) -> int:
    """`docker exec` the command in the app container, with this terminal when there is one."""
    check_container(stack)
    interactive = ["-i", "-t"] if sys.stdin.isatty() and sys.stdout.isatty() else ["-i"]
    command = ["docker", "exec", *interactive, APP_CONTAINER, "dc-overview", *argv]
    return subprocess.run(command).returncode


class StackAwareGroup(click.Group):
    """A group that hands inventory commands to the stack's app container when there is one."""

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name, command, rest = super().resolve_command(ctx, args)
        if name is None:
            return name, command, rest
        stack = stack_for(name, ctx.params.get("config_dir"), ctx.params.get("data_dir"))
        if stack is None:
            return name, command, rest
        return name, _delegate(stack, name), rest


def _delegate(stack: Stack, name: str) -> click.Command:
    settings = {"ignore_unknown_options": True, "allow_extra_args": True}

    def forward(ctx: click.Context) -> None:
        sys.exit(run_in_stack(stack, [name, *container_args(stack, list(ctx.args))]))

    return click.Command(
        name, callback=click.pass_context(forward), context_settings=settings,
        add_help_option=False,
    )  # fmt: skip
