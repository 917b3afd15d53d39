"""Shared test helpers for the exporters: fixture captures, promtool, exposition parsing,
synthetic sysfs PCI trees."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.fixtures import shared_fixtures

FIXTURES = shared_fixtures()
XML_DIR = FIXTURES / "nvidia-smi"

# promtool findings that dcgm-exporter's own names cause (kept for dashboard compatibility):
# the camelCase label `modelName`, and the name DCGM_FI_DEV_PCIE_REPLAY_COUNTER.
DCGM_LINT = (
    "label names should be written in 'snake_case' not 'camelCase'",
    "DCGM_FI_DEV_PCIE_REPLAY_COUNTER metric name should not include type 'counter'",
)


def xml_dir() -> Path:
    """The shared nvidia-smi captures; fails (never skips) when the folder is missing."""
    if not XML_DIR.is_dir():
        pytest.fail(
            f"fixture folder {XML_DIR.resolve()} is missing: the exporter tests read the "
            "nvidia-smi captures from ../shared/fixtures next to the repository"
        )
    return XML_DIR


def capture_names() -> list[str]:
    """Names of every XML capture (collected at import; an empty list fails the test run)."""
    if not XML_DIR.is_dir():
        return ["<missing ../shared/fixtures/nvidia-smi>"]
    return sorted(path.name for path in XML_DIR.glob("*.xml"))


def capture(name: str) -> Path:
    path = xml_dir() / name
    if not path.is_file():
        pytest.fail(f"capture {path} is missing")
    return path


def samples(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Parse an exposition (Prometheus text format) into name -> [(labels, value)]."""
    result: dict[str, list[tuple[dict[str, str], float]]] = defaultdict(list)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            result[sample.name].append((dict(sample.labels), sample.value))
    return dict(result)


def value_of(parsed: dict, name: str, **labels: str) -> float | None:
    """The value of the one sample of `name` whose labels include `labels`, or None."""
    found = [
        v for lab, v in parsed.get(name, []) if all(lab.get(k) == x for k, x in labels.items())
    ]
    assert len(found) <= 1, f"{name}{labels} matches {len(found)} samples"
    return found[0] if found else None


def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail("promtool is not installed (Debian package 'prometheus'); see .ci/run")
    return path


def promtool_findings(text: str) -> tuple[int, list[str]]:
    """Run `promtool check metrics`; (exit status, problem lines)."""
    run = subprocess.run(
        [promtool(), "check", "metrics"], input=text.encode(), capture_output=True, timeout=60
    )
    output = (run.stdout + run.stderr).decode()
    return run.returncode, [line for line in output.splitlines() if line.strip()]


def assert_promtool_passes(text: str, allowed: tuple[str, ...] = DCGM_LINT) -> None:
    """promtool parses the exposition and finds nothing beyond the `allowed` lint messages."""
    status, problems = promtool_findings(text)
    assert status in (0, 3), f"promtool failed ({status}): {problems}"
    unexpected = [line for line in problems if not any(a in line for a in allowed)]
    assert not unexpected, f"promtool findings: {unexpected}"


def make_pci_device(
    root: Path, address: str, device_id: int, driver: str = "nvidia", pci_class: int = 0x030000
) -> Path:
    """A synthetic /sys/bus/pci/devices/<address> directory."""
    device = root / address
    device.mkdir(parents=True)
    (device / "vendor").write_text("0x10de\n")
    (device / "device").write_text(f"0x{device_id:04x}\n")
    (device / "class").write_text(f"0x{pci_class:06x}\n")
    if driver:
        drivers = root.parent / "drivers" / driver
        drivers.mkdir(parents=True, exist_ok=True)
        os.symlink(drivers, device / "driver")
    return device


def write_bar0(device_dir: Path, words: dict[int, int], size: int = 0x40000) -> Path:
    """A sparse synthetic BAR0 `resource0` file with 32-bit little-endian words at offsets."""
    path = device_dir / "resource0"
    with open(path, "wb") as handle:
        handle.truncate(size)
        for offset, word in words.items():
            handle.seek(offset)
            handle.write(word.to_bytes(4, "little"))
    return path


def self_signed(directory: Path, name: str = "server") -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (cryptography is a project dependency)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)  # noqa: UP017
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / f"{name}.crt", directory / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def exporter_binary(name: str) -> str:
    """The console script installed next to the interpreter running the tests."""
    path = Path(sys.executable).parent / name
    if not path.exists():
        pytest.fail(f"{path} is missing: install the project (pip install -e .[test])")
    return str(path)


def wait_until(check, timeout: float = 20.0, interval: float = 0.05):
    """Poll `check()` until it returns something truthy; fail with its last value."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout}s (last: {result!r})")
        time.sleep(interval)
