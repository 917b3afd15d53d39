"""An IPMI Monitor 1.2.0 installation on the engine before DC Overview: its container on the
shared network, its data volume holding a database written through its own models.

The release calls its vendor's services; its containers get `--dns 127.0.0.1` (the database is
written with no network at all), so nothing leaves the machine. Everything made here carries
TEST_LABEL; a container or volume of that name without it belongs to a real installation and
is never touched.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from dc_overview.deploy.engine import DockerError, docker
from dc_overview.interop.detect import CONTAINER, CONTAINER_DATA, DATA_VOLUME
from tests.proxy.docker_support import build_ipmi_image

TEST_LABEL = "dc-overview-test=ipmi-scenario"
SCRIPTS = Path(__file__).resolve().parents[1] / "interop"
# (server_name, bmc_ip, server_ip, status): the deprecated one is not imported.
SERVERS = (
    ("ipmi-node-01", "10.88.0.11", "10.89.0.11", "active"),
    ("ipmi-node-02", "10.88.0.12", "10.89.0.12", "active"),
    ("ipmi-node-03", "10.88.0.13", "10.89.0.13", "active"),
    ("ipmi-retired", "10.88.0.14", "10.89.0.14", "deprecated"),
)
KEY_NAME = "ipmi-fleet-ed25519"


def _labels(kind: str, name: str) -> dict | None:
    """The labels of a container or volume, or None when there is none of that name."""
    try:
        info = json.loads(docker([kind, "inspect", name]))[0]
    except (DockerError, ValueError, IndexError):
        return None
    return (info.get("Config") or {}).get("Labels") or info.get("Labels") or {}


def remove_stale() -> None:
    """What an earlier failed run left; fails when a real IPMI Monitor is there."""
    key, value = TEST_LABEL.split("=")
    for kind, name in (("container", CONTAINER), ("volume", DATA_VOLUME)):
        labels = _labels(kind, name)
        if labels is not None and labels.get(key) != value:
            pytest.fail(f"a real IPMI Monitor {kind} {name!r} is on this engine; not touching it")
        if labels is not None:
            docker([kind, "rm", "-f", name] if kind == "container" else ["volume", "rm", name])


def new_key() -> tuple[str, str]:
    """(OpenSSH private key text, "ssh-ed25519 BASE64" public half)."""
    key = ed25519.Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                serialization.NoEncryption())  # fmt: skip
    public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    return private.decode().strip(), public.decode()


def database_spec(private_key: str) -> dict:
    servers = [{"server_name": n, "bmc_ip": b, "server_ip": ip, "status": s,
                "reason": "replaced" if s == "deprecated" else None}
               for n, b, ip, s in SERVERS]  # fmt: skip
    configs = [{"bmc_ip": b, "server_name": n, "ssh_user": "root", "ssh_port": 22,
                "ssh_key_name": KEY_NAME} for n, b, _, s in SERVERS if s == "active"]  # fmt: skip
    return {
        "keys": [{"name": KEY_NAME, "key_content": private_key}],
        "servers": servers,
        "configs": configs,
        "settings": {"default_ssh_key_id": KEY_NAME},
    }


def install(network: str, subnet: str, private_key: str) -> None:
    """Network, volume with the database, and the running `ipmi-monitor` container."""
    image = build_ipmi_image()
    docker(["network", "create", "--driver", "bridge", "--subnet", subnet,
            "--label", TEST_LABEL, network])  # fmt: skip
    docker(["volume", "create", "--label", TEST_LABEL, DATA_VOLUME])
    written = subprocess.run(
        ["docker", "run", "--rm", "-i", "--network", "none", "--label", TEST_LABEL,
         "-v", f"{DATA_VOLUME}:{CONTAINER_DATA}", "-v", f"{SCRIPTS}:/scripts:ro",
         "-e", f"DATA_DIR={CONTAINER_DATA}", image,
         "python", "/scripts/make_ipmi_db.py", CONTAINER_DATA],
        input=json.dumps(database_spec(private_key)), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert written.returncode == 0, f"ipmi-monitor's models failed:\n{written.stderr[-3000:]}"
    docker(["run", "-d", "--name", CONTAINER, "--label", TEST_LABEL, "--network", network,
            "--dns", "127.0.0.1", "-v", f"{DATA_VOLUME}:{CONTAINER_DATA}", image])  # fmt: skip


def uninstall(network: str) -> list[str]:
    """Remove the container, volume and network; returns those that are still there."""
    subprocess.run(["docker", "rm", "-f", "-v", CONTAINER], capture_output=True, timeout=120)
    subprocess.run(["docker", "volume", "rm", DATA_VOLUME], capture_output=True, timeout=60)
    subprocess.run(["docker", "network", "rm", network], capture_output=True, timeout=60)
    left = [f"container {CONTAINER}"] if _labels("container", CONTAINER) is not None else []
    left += [f"volume {DATA_VOLUME}"] if _labels("volume", DATA_VOLUME) is not None else []
    left += [f"network {network}"] if _labels("network", network) is not None else []
    return left
