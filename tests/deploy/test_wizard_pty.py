"""The interactive quickstart, driven through its prompts in a real terminal (pexpect)."""

from pathlib import Path

import pexpect
import pytest

from tests.support.docker_engine import ensure_docker
from tests.support.processes import cli_binary

pytestmark = pytest.mark.docker

ENTER, CLEAR_LINE = "\r", "\x15"  # Ctrl-U empties a prompt_toolkit line


def _answer(child: pexpect.spawn, prompt: str, text: str | None = None) -> None:
    child.expect(prompt, timeout=30)
    if text is not None:
        child.send(CLEAR_LINE + text)
    child.send(ENTER)


def test_wizard_reaches_the_review_with_the_answers(tmp_path: Path) -> None:
    ensure_docker()
    config_dir = tmp_path / "config"
    child = pexpect.spawn(
        cli_binary(), ["--config-dir", str(config_dir), "quickstart", "--no-pull"],
        encoding="utf-8", dimensions=(50, 120), timeout=60,
    )  # fmt: skip
    try:
        _answer(child, "Site name", "Rack Room 7")
        _answer(child, "Admin user name", "ops")
        _answer(child, "Admin password", "")
        _answer(child, "Grafana admin password", "")
        _answer(child, "Address the proxy listens on", "127.0.0.1")
        _answer(child, "HTTP port", "18081")
        _answer(child, "HTTPS port", "18444")
        _answer(child, "TLS certificate")  # the default, self-signed
        _answer(child, "retention", "7d")
        child.expect("remote_write store", timeout=30)
        child.send("n")
        _answer(child, "Vast.ai API key file", "")  # none: no Vast.ai exporter
        child.expect("Review", timeout=60)
        child.expect("Apply this", timeout=60)
        review = child.before
        child.send("n\r")
        child.expect(pexpect.EOF, timeout=30)
    finally:
        child.close(force=True)
    for expected in ("Rack Room 7", "ops", "127.0.0.1 :18081 / :18444", "self-signed", "7d"):
        assert expected in review, f"{expected!r} not in review:\n{review}"
    assert child.exitstatus == 1
    assert not (config_dir / "quickstart.yaml").exists(), "declining must change nothing"
