"""Every `dc-overview …` command shown in README.md and docs/index.md is a real CLI command."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from dc_overview.cli import main

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = (ROOT / "README.md", ROOT / "docs" / "index.md")
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.DOTALL | re.MULTILINE)
SHELLS = {"sh", "bash", "shell", "console"}
SPAN = re.compile(r"`([^`\n]+)`")
STOP = {"#", "|", "&&", ";", ">", "2>&1"}


def commands_in(text: str) -> list[str]:
    """Command lines from shell blocks and inline code that start with `dc-overview`."""
    blocks = [body for lang, body in FENCE.findall(text) if lang in SHELLS]
    lines = [line for block in blocks for line in block.splitlines()]
    lines += SPAN.findall(FENCE.sub("", text))
    found = []
    for line in lines:
        line = line.strip().removeprefix("sudo ").replace("\\|", " ")
        if line == "dc-overview" or line.startswith("dc-overview "):
            found.append(line)
    return found


def _tokens(command: str) -> list[str]:
    tokens = []
    for raw in command.split()[1:]:
        if raw in STOP:
            break
        token = raw.strip("[](),")
        if token:
            tokens.append(token)
    return tokens


def _option(commands: list[click.Command], name: str) -> click.Option | None:
    for command in commands:
        for param in command.params:
            if isinstance(param, click.Option) and name in (*param.opts, *param.secondary_opts):
                return param
    return None


def resolve(command: str) -> list[str]:
    """The subcommand path of `command`; AssertionError naming an unknown command or option."""
    current: click.Command = main
    chain, path = [main], []
    tokens = _tokens(command)
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token.startswith("-"):
            option = _option(chain, token.split("=", 1)[0])
            assert option is not None, f"{command!r}: {token} is not an option"
            if not option.is_flag and "=" not in token:
                index += 1  # its value
        elif isinstance(current, click.Group):
            sub = current.get_command(click.Context(current), token)
            assert sub is not None, f"{command!r}: {' '.join([*path, token])} is not a command"
            current, path = sub, [*path, token]
            chain.append(sub)
        index += 1
    return path


def _documented() -> list[tuple[str, str]]:
    return sorted({(doc.name, cmd) for doc in DOCUMENTS for cmd in commands_in(doc.read_text())})


def test_the_documents_show_commands() -> None:
    shown = {cmd.split()[1] for _, cmd in _documented() if len(cmd.split()) > 1}
    assert {"quickstart", "deploy", "hosts", "down", "upgrade", "import"} <= shown


@pytest.mark.parametrize(("document", "command"), _documented())
def test_documented_command_exists(document: str, command: str) -> None:
    path = resolve(command)
    # This code's own help, even on a machine whose quickstart stack would take the command.
    result = CliRunner(env={"DC_OVERVIEW_DATA": "/nonexistent"}).invoke(main, [*path, "--help"])
    assert result.exit_code == 0, f"{document}: `{command}`: {result.output}"
    assert "Usage: " in result.output


@pytest.mark.parametrize(
    "command",
    ["dc-overview stack upgrade", "dc-overview down --purge", "dc-overview hosts forget gpu-01"],
)
def test_an_invented_command_is_caught(command: str) -> None:
    with pytest.raises(AssertionError):
        resolve(command)
