"""Shared pieces of the interop tests: the real IPMI Monitor fixture, services, key helpers."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from dc_overview.bootstrap import prepare
from dc_overview.services import Services, build_services
from dc_overview.settings import Settings
from tests.conftest import make_settings
from tests.support.fixtures import shared_fixtures

IPMI_FIXTURE_DIR = shared_fixtures() / "ipmi-monitor"
ROOT_SETTING = "ipmi_monitor_root"


def ipmi_fixture(name: str = "ipmi_events.db") -> Path:
    """A file of the shared ipmi-monitor 1.2.0 fixture; fails (never skips) when it is absent."""
    path = (IPMI_FIXTURE_DIR / name).resolve()
    if not path.is_file():
        pytest.fail(
            f"the shared fixture {path} is missing: these tests read the real IPMI Monitor "
            "database from ../shared/fixtures/ipmi-monitor/ next to the repository",
            pytrace=False,
        )
    return path


def fixture_public_keys() -> dict[str, tuple[str, str]]:
    """Key name -> (public key "type base64", OpenSSH SHA256 fingerprint) from the fixture."""
    keys: dict[str, tuple[str, str]] = {}
    name = fingerprint = None
    for line in ipmi_fixture("ssh_keys_public.txt").read_text().splitlines():
        header = re.match(r"# ssh_key\.id=\d+ name=(\S+) .*openssh_sha256=(\S+)", line)
        if header:
            name, fingerprint = header.groups()
        elif line.startswith("ssh-") and name and fingerprint:
            keys[name] = (" ".join(line.split()[:2]), fingerprint)
    return keys


def public_of(private_key_file: Path) -> str:
    """ "type base64" of the public half of a private key file."""
    key = serialization.load_ssh_private_key(private_key_file.read_bytes(), password=None)
    public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    return " ".join(public.decode().split()[:2])


def make_services(root: Path, **overrides) -> Services:
    services = build_services(make_settings(root, **overrides))
    prepare(services)
    return services


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    built = make_services(tmp_path / "dco")
    yield built
    built.close()


@pytest.fixture
def ipmi_root(tmp_path: Path) -> Path:
    """A folder standing for `/` where IPMI Monitor is looked for (empty until a test fills it)."""
    root = tmp_path / "root"
    root.mkdir()
    return root


@pytest.fixture
def settings(tmp_path: Path, ipmi_root: Path) -> Settings:
    """The app fixtures' settings (tests/conftest.py), looking for IPMI Monitor under ipmi_root."""
    return make_settings(tmp_path, extra={ROOT_SETTING: str(ipmi_root)})


def writable_copy(tmp_path: Path, name: str = "ipmi_events.db") -> Path:
    """A private copy of the fixture database, for tests that must lock or damage it."""
    target = tmp_path / "ipmi-copy" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(ipmi_fixture(), target)
    return target
