"""Host-key trust, command and script building, unit templates, jobs, artifacts, API and CLI."""

from __future__ import annotations

import asyncio
import hashlib
import io
import shutil
import subprocess
import tarfile
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.exc import IntegrityError

from dc_overview.bootstrap import prepare
from dc_overview.cli import main
from dc_overview.remote import artifacts
from dc_overview.remote.artifacts import ArtifactError, dc_exporter_zipapp
from dc_overview.remote.catalog import DC, NODE, specs_for
from dc_overview.remote.installer import render_script, render_unit
from dc_overview.remote.jobs import Job, JobStore, run_bounded
from dc_overview.remote.ssh import host_key_algs
from dc_overview.remote.trust import HostKeyMismatch, HostTrust, PinnedKey
from dc_overview.remote.worker import parse_facts
from dc_overview.services import Services, build_services
from dc_overview.settings import Settings
from dc_overview.templating import render
from tests.conftest import bearer, services_of
from tests.support.processes import wait_until

ED = PinnedKey("ssh-ed25519", "SHA256:old")


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    built = build_services(settings)
    prepare(built)
    yield built
    built.close()


# -- host-key trust -------------------------------------------------------------------------


def test_pin_lookup_and_forget(services: Services) -> None:
    trust = HostTrust(services.host_keys)
    assert trust.pinned("10.0.0.1", 22) == []
    trust.pin("10.0.0.1", 22, ED)
    trust.pin("10.0.0.1", 22, ED)  # a concurrent first contact pinning the same key is fine
    assert trust.pinned("10.0.0.1", 22) == [ED]
    assert trust.pinned("10.0.0.1", 2222) == []
    assert trust.forget("10.0.0.1", 22) == [ED]
    assert trust.pinned("10.0.0.1", 22) == []


def test_pinning_another_key_of_the_same_type_is_refused(services: Services) -> None:
    trust = HostTrust(services.host_keys)
    trust.pin("10.0.0.1", 22, ED)
    with pytest.raises(IntegrityError):
        trust.pin("10.0.0.1", 22, PinnedKey("ssh-ed25519", "SHA256:other"))


def test_mismatch_message_names_both_fingerprints_and_the_fix() -> None:
    error = HostKeyMismatch("gpu-07", ED, PinnedKey("ssh-ed25519", "SHA256:new"))
    text = str(error)
    assert "SHA256:old" in text and "SHA256:new" in text
    assert "`dc-overview hosts trust gpu-07`" in text
    assert "CHANGED" in text and "Nothing was done" in text


def test_host_key_algorithms_follow_the_pin() -> None:
    assert host_key_algs([ED]) == ["ssh-ed25519"]
    assert host_key_algs([PinnedKey("ssh-rsa", "x")]) == ["rsa-sha2-512", "rsa-sha2-256"]
    first_use = host_key_algs([])
    assert first_use[0] == "ssh-ed25519" and "ssh-rsa" not in first_use


# -- scripts and units -----------------------------------------------------------------------


def _artifact(kind: str = "node", version: str = "1.8.2") -> artifacts.Artifact:
    return artifacts.Artifact(kind, Path("/nonexistent"), version, "ab" * 32, "x86_64")


@pytest.mark.parametrize("action", ["install", "commit", "rollback", "remove"])
@pytest.mark.parametrize("spec", [NODE, DC], ids=["node", "dc"])
def test_worker_scripts_are_valid_shell(action: str, spec, tmp_path: Path) -> None:
    script = render_script(action, spec, _artifact(spec.kind))
    path = tmp_path / f"{action}.sh"
    path.write_text(script)
    done = subprocess.run(["sh", "-n", str(path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "{{" not in script


def test_install_script_creates_the_user_and_embeds_the_unit() -> None:
    script = render_script("install", NODE, _artifact())
    assert "useradd --system" in script and "dc-node-exporter" in script
    assert "--shell /usr/sbin/nologin" in script
    assert "/opt/dc-overview/node/1.8.2/node_exporter" in script
    unit_start = script.index("<<'DC_OVERVIEW_UNIT'\n") + len("<<'DC_OVERVIEW_UNIT'\n")
    unit = script[unit_start : script.index("DC_OVERVIEW_UNIT\n", unit_start)]
    assert unit == render_unit(NODE, _artifact())
    assert "systemctl enable --quiet dc-overview-node-exporter.service" in script


def test_remove_script_leaves_no_unit_files_or_user() -> None:
    script = render_script("remove", NODE, None)
    assert "rm -f /etc/systemd/system/dc-overview-node-exporter.service" in script
    assert "rm -rf /opt/dc-overview/node" in script
    assert "userdel dc-node-exporter" in script


def test_probe_script_checks_every_port() -> None:
    script = render("scripts/probe.sh.j2", exporters=specs_for(["node", "dc"]))
    assert "sport = :9100" in script and "sport = :9835" in script
    assert "/proc/driver/nvidia" in script and "vastai_kaalia" in script


@pytest.mark.parametrize("spec", [NODE, DC], ids=["node", "dc"])
def test_units_are_hardened_and_pass_systemd_analyze(spec, tmp_path: Path) -> None:
    binary = tmp_path / spec.binary_name
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    text = render(
        spec.unit_template, user=spec.user, binary=str(binary), port=spec.port,
        python=shutil.which("python3"), version="1", version_note="",
    )  # fmt: skip
    for line in ("NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes",
                 "PrivateTmp=yes", "CapabilityBoundingSet=\n", f"User={spec.user}"):  # fmt: skip
        assert line in text, line
    if spec is DC:
        assert "DevicePolicy=closed" in text and "DeviceAllow=/dev/nvidiactl rw" in text
    else:
        assert "PrivateDevices=yes" in text
    unit = tmp_path / spec.unit
    unit.write_text(text)
    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze is part of the test dependencies (systemd package)"
    done = subprocess.run(
        [analyze, "verify", "--man=no", str(unit)], capture_output=True, text=True
    )
    problems = [line for line in (done.stdout + done.stderr).splitlines() if spec.unit in line]
    assert done.returncode == 0, done.stderr
    assert problems == [], problems


def test_parse_facts() -> None:
    facts = parse_facts(
        "arch=x86_64\nsystemd=yes\nnvidia_smi=/usr/bin/nvidia-smi\nnvidia_proc=no\n"
        "vastai=yes\ndocker=\nnvidia_runtime=no\npython=3.8\n"
        "installed.node=1.5.0\nactive.node=active\nport.node=ours\n"
        'installed.dc=\nactive.dc=inactive\nport.dc=busy users:(("python3",pid=7,fd=3))\n'
    )
    assert facts.has_gpu and facts.vastai and facts.systemd and not facts.dcgm_possible
    assert facts.exporters["node"].port_free_or_ours and facts.exporters["node"].active
    assert not facts.exporters["dc"].port_free_or_ours
    assert "3.9" in facts.skip_reason(DC)
    assert facts.skip_reason(NODE) is None
    assert "no NVIDIA GPU" in parse_facts("python=3.11").skip_reason(DC)


# -- jobs --------------------------------------------------------------------------------------


def test_bounded_concurrency_and_one_failure_does_not_stop_the_rest() -> None:
    job = Job.create("deploy", [f"h{i}" for i in range(10)])
    running, peak = 0, 0

    async def work(name: str) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        job.update(name, "installing", node="installing")
        await asyncio.sleep(0.02)
        running -= 1
        if name == "h3":
            raise RuntimeError("disk full")

    asyncio.run(run_bounded(job, work, limit=3))
    assert peak == 3
    assert job.failed == ["h3"]
    assert job.hosts["h3"].message == "disk full"
    assert job.counts == {"done": 9, "failed": 1}
    assert job.finished_at is not None


def test_job_store_round_trip(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "jobs")
    job = store.attach(Job.create("deploy", ["a", "b"]))
    job.update("a", "failed", "refused", node="failed: x")
    job.pinned("b", "SHA256:abc")
    loaded = store.load(job.id)
    assert loaded["hosts"][0] == {**loaded["hosts"][0], "stage": "failed", "message": "refused"}
    assert loaded["hosts"][1]["host_key"] == "SHA256:abc"
    assert (tmp_path / "jobs" / f"{job.id}.json").stat().st_mode & 0o777 == 0o600
    assert store.load("../etc/passwd") is None and store.load(123) is None
    with pytest.raises(ValueError, match="unknown stage"):
        job.update("a", "exploding")


# -- artifacts ----------------------------------------------------------------------------------


class _Release(BaseHTTPRequestHandler):
    files: dict[str, bytes] = {}

    def do_GET(self) -> None:
        body = self.files.get(self.path)
        self.send_response(200 if body is not None else 404)
        self.end_headers()
        self.wfile.write(body or b"")

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def release_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Release)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def _tarball(stem: str) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        data = b"#!/bin/sh\necho node_exporter, version 9.9.9\n"
        info = tarfile.TarInfo(f"{stem}/node_exporter")
        info.size, info.mode = len(data), 0o755
        archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_download_is_checked_against_the_release_sums(release_server: str, tmp_path: Path):
    stem = "node_exporter-9.9.9.linux-amd64"
    tarball = _tarball(stem)
    digest = hashlib.sha256(tarball).hexdigest()
    _Release.files = {
        "/v9.9.9/sha256sums.txt": f"{digest}  {stem}.tar.gz\n0000  other.tar.gz\n".encode(),
        f"/v9.9.9/{stem}.tar.gz": tarball,
    }
    got = artifacts.downloaded_node_exporter(tmp_path, "x86_64", "9.9.9", release_server)
    assert got.version == "9.9.9" and got.path.read_bytes().startswith(b"#!/bin/sh")
    assert got.path.stat().st_mode & 0o777 == 0o755
    _Release.files = {}  # cached: no second download
    assert artifacts.downloaded_node_exporter(tmp_path, "x86_64", "9.9.9", release_server) == got


def test_checksum_mismatch_is_refused(release_server: str, tmp_path: Path) -> None:
    stem = "node_exporter-9.9.9.linux-amd64"
    _Release.files = {
        "/v9.9.9/sha256sums.txt": f"{'0' * 64}  {stem}.tar.gz\n".encode(),
        f"/v9.9.9/{stem}.tar.gz": _tarball(stem),
    }
    with pytest.raises(ArtifactError, match="checksum mismatch"):
        artifacts.downloaded_node_exporter(tmp_path, "x86_64", "9.9.9", release_server)
    assert not list(tmp_path.rglob("node_exporter"))


def test_local_node_exporter_from_file_or_directory(tmp_path: Path) -> None:
    debian = Path("/usr/bin/prometheus-node-exporter")
    by_file = artifacts.local_node_exporter(debian)
    assert by_file.version.startswith("1.") and by_file.arch == "x86_64"
    (tmp_path / "node_exporter").symlink_to(debian)
    assert artifacts.local_node_exporter(tmp_path).sha256 == by_file.sha256
    with pytest.raises(ArtifactError, match="no node_exporter"):
        artifacts.local_node_exporter(tmp_path / "missing")


def test_dc_exporter_zipapp_runs_on_the_system_python(tmp_path: Path) -> None:
    first = dc_exporter_zipapp(tmp_path / "a")
    again = dc_exporter_zipapp(tmp_path / "b")
    assert first.sha256 == again.sha256, "the zipapp is built deterministically"
    done = subprocess.run(["/usr/bin/python3", str(first.path), "--version"],
                          capture_output=True, text=True, timeout=30)  # fmt: skip
    assert done.stdout.strip() == f"dc-exporter {first.version}"
    with zipfile.ZipFile(first.path) as archive:
        assert "pynvml.py" in archive.namelist(), "NVML, the default backend, travels along"


# -- API and CLI --------------------------------------------------------------------------------


def test_install_api_validates_and_reports_progress(app: Flask, client: FlaskClient,
                                                    admin_token: str) -> None:  # fmt: skip
    headers = bearer(admin_token)
    bad = client.post("/api/exporters/install", json={"servers": ["x"], "exporters": ["foo"]},
                      headers=headers)  # fmt: skip
    assert bad.status_code == 422 and bad.get_json()["errors"][0]["field"] == "exporters"
    missing = client.post("/api/exporters/install", json={"servers": ["nope"]}, headers=headers)
    assert missing.status_code == 404
    services_of(app).fleet.create({"name": "gpu-01", "server_ip": "127.0.0.1"})
    started = client.post("/api/exporters/install", json={"all": True}, headers=headers)
    assert started.status_code == 202
    url = started.get_json()["url"]

    def finished():
        body = client.get(url, headers=headers).get_json()
        return body if body["finished"] else None

    body = wait_until(finished, 20, "the job to finish")
    assert body["hosts"][0]["stage"] == "failed"
    assert "has no SSH key" in body["hosts"][0]["message"]
    assert client.get("/api/jobs/999999999999", headers=headers).status_code == 404


def test_viewer_cannot_start_a_job(client: FlaskClient, viewer_token: str) -> None:
    answer = client.post("/api/exporters/install", json={"all": True},
                         headers=bearer(viewer_token))  # fmt: skip
    assert answer.status_code == 403


def test_deploy_cli_needs_servers_or_all(settings: Settings) -> None:
    runner = CliRunner()
    args = ["--config-dir", str(settings.config_dir), "--data-dir", str(settings.data_dir)]
    done = runner.invoke(main, [*args, "deploy"])
    assert done.exit_code == 2 and "--all" in done.output
    done = runner.invoke(main, [*args, "deploy", "--all", "--exporters", "bogus"])
    assert done.exit_code == 2 and "unknown exporter 'bogus'" in done.output
