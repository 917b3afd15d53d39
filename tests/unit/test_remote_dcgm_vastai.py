"""dcgm-exporter's decision logic and rendered scripts (no GPU here), the vastai_host flag in
the inventory, the API, its OpenAPI document and the dashboard, and migration 0003."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest
from alembic import command
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from dc_overview.cli import main
from dc_overview.inventory.db import Database, alembic_config
from dc_overview.inventory.serialize import SERVER_SCHEMA
from dc_overview.remote.artifacts import ArtifactError
from dc_overview.remote.catalog import DCGM
from dc_overview.remote.dcgm import (
    DCGM_IMAGE,
    DcgmChoice,
    check_image_ref,
    dcgm_artifact,
    image_in_tarball,
    run_arguments,
)
from dc_overview.remote.scripts import render_script
from dc_overview.remote.worker import parse_facts
from tests.conftest import bearer, login, services_of

GPU_WITH_DOCKER = "nvidia_smi=/usr/bin/nvidia-smi\ndocker=/usr/bin/docker\n"


@pytest.mark.parametrize(
    ("probe", "reason"),
    [
        ("nvidia_smi=/usr/bin/nvidia-smi\ndocker=\n", "no Docker on this worker"),
        (GPU_WITH_DOCKER + "docker_daemon=no\n", "its daemon does not answer"),
        (GPU_WITH_DOCKER + "docker_daemon=yes\nnvidia_runtime=no\n", "NVIDIA container runtime"),
        ("docker=/usr/bin/docker\ndocker_daemon=yes\nnvidia_runtime=hook\n", "no NVIDIA GPU"),
        (GPU_WITH_DOCKER + "docker_daemon=yes\nnvidia_runtime=hook\n", None),
        (GPU_WITH_DOCKER + "docker_daemon=yes\nnvidia_runtime=registered\n", None),
    ],
)
def test_dcgm_is_installed_only_with_docker_and_the_nvidia_runtime(
    probe: str, reason: str | None
) -> None:
    found = parse_facts(probe).skip_reason(DCGM)
    assert found == reason if reason is None else reason in found


def test_run_command_uses_the_registered_runtime_and_publishes_9400() -> None:
    image = "nvcr.io/nvidia/k8s/dcgm-exporter:3.3.9-3.6.1-ubuntu22.04"
    registered = run_arguments(DCGM, image, "registered")
    assert registered == [
        "-d", "--name", "dc-overview-dcgm-exporter", "--restart", "unless-stopped",
        "--gpus", "all", "--runtime", "nvidia", "-p", "9400:9400",
        "--label", "dc-overview.exporter=dcgm", image,
    ]  # fmt: skip
    assert "--runtime" not in run_arguments(DCGM, image, "hook")


def test_rendered_container_scripts() -> None:
    artifact = dcgm_artifact(None, DCGM_IMAGE)
    assert artifact.path is None and artifact.version == DCGM_IMAGE
    install = render_script("install", DCGM, artifact, "registered")
    assert 'docker load -q -i "$staged"' in install
    assert f"docker pull -q {DCGM_IMAGE}" in install
    assert (
        "docker run -d --name dc-overview-dcgm-exporter --restart unless-stopped --gpus all "
        f"--runtime nvidia -p 9400:9400 --label dc-overview.exporter=dcgm {DCGM_IMAGE}" in install
    )
    assert "docker rename dc-overview-dcgm-exporter dc-overview-dcgm-exporter-previous" in install
    rollback = render_script("rollback", DCGM, artifact)
    assert "docker rename dc-overview-dcgm-exporter-previous dc-overview-dcgm-exporter" in rollback
    remove = render_script("remove", DCGM, None)
    assert "docker rm -f dc-overview-dcgm-exporter dc-overview-dcgm-exporter-previous" in remove


@pytest.mark.parametrize("ref", ["bad;rm -rf /", "UPPER/case:1", "x:1 y", "", "a" * 300])
def test_bad_image_names_are_refused_naming_the_field(ref: str) -> None:
    with pytest.raises(ArtifactError, match=r"^--dcgm-image: .* give one like nvcr\.io/"):
        check_image_ref(ref, "--dcgm-image")


def test_tarball_problems_say_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="does not exist; fix --dcgm-tarball"):
        dcgm_artifact(tmp_path / "missing.tar", DCGM_IMAGE)
    not_tar = tmp_path / "not.tar"
    not_tar.write_text("hello")
    made_how = r"not a `docker save` archive \(.*\); make one with: docker save nvcr"
    with pytest.raises(ArtifactError, match=made_how):
        image_in_tarball(not_tar)
    unnamed = tmp_path / "unnamed.tar"
    manifest = tmp_path / "manifest.json"
    manifest.write_text('[{"Config": "x.json", "RepoTags": null, "Layers": []}]')
    with tarfile.open(unnamed, "w") as archive:
        archive.add(manifest, "manifest.json")
    with pytest.raises(ArtifactError, match="without a name; save it by name"):
        image_in_tarball(unnamed)


def test_dcgm_tarball_dropped_in_the_config_dir_is_used(tmp_path: Path) -> None:
    (tmp_path / "artifacts").mkdir()
    with pytest.raises(ArtifactError, match="not a `docker save` archive"):
        (tmp_path / "artifacts" / "dcgm-exporter.tar").write_text("x")
        DcgmChoice().artifact(tmp_path)
    assert DcgmChoice(image="registry.local:5000/dcgm:1").artifact(tmp_path / "none").path is None


def test_deploy_cli_refuses_a_bad_dcgm_image(tmp_path: Path) -> None:
    dirs = ["--config-dir", str(tmp_path / "c"), "--data-dir", str(tmp_path / "d")]
    done = CliRunner().invoke(main, [*dirs, "deploy", "--all", "--dcgm-image", "x;reboot"])
    assert done.exit_code == 2
    assert "--dcgm-image: 'x;reboot' is not an image reference" in done.output


def test_vastai_host_is_in_the_api_and_documented(
    app: Flask, client: FlaskClient, admin_token: str
) -> None:
    headers = bearer(admin_token)
    created = client.post("/api/servers", json={"name": "v1", "server_ip": "10.0.0.9"},
                          headers=headers).get_json()  # fmt: skip
    assert created["vastai_host"] is False
    changed = client.patch(f"/api/servers/{created['id']}", json={"vastai_host": True},
                           headers=headers)  # fmt: skip
    assert changed.status_code == 200 and changed.get_json()["vastai_host"] is True
    listed = client.get("/api/servers", headers=headers).get_json()
    assert listed[0]["vastai_host"] is True
    wrong = client.patch(f"/api/servers/{created['id']}", json={"vastai_host": "maybe"},
                         headers=headers)  # fmt: skip
    assert wrong.status_code == 422
    assert wrong.get_json()["errors"][0]["field"] == "vastai_host"
    doc = client.get("/api/openapi.json", headers=headers).get_json()
    documented = doc["components"]["schemas"]["Server"]["properties"]
    assert set(listed[0]) == set(documented)
    assert set(listed[0]["exporters"]["node"]) == set(
        SERVER_SCHEMA["properties"]["exporters"]["additionalProperties"]["properties"]
    )
    listing = doc["paths"]["/api/servers"]["get"]["responses"]["200"]
    assert listing["content"]["application/json"]["schema"]["items"]["$ref"].endswith("/Server")
    assert "vastai" in documented["vastai_host"]["description"]


def test_dashboard_tags_vastai_hosts(app: Flask, client: FlaskClient, admin_password: str) -> None:
    fleet = services_of(app).fleet
    flagged = fleet.create({"name": "vast-01", "server_ip": "10.0.0.21"})
    fleet.update(flagged.id, {"vastai_host": True})
    fleet.create({"name": "plain-01", "server_ip": "10.0.0.22"})
    login(client, "admin", admin_password)
    page = client.get("/").get_data(as_text=True)

    def row(name: str) -> str:
        start = page.index(f'<tr data-server="{name}"')
        return page[start : page.index("</tr>", start)]

    assert "Vast.ai host" in row("vast-01")
    assert "Vast.ai host" not in row("plain-01")


def test_migration_0003_keeps_servers_and_adds_the_flag(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'old.db'}")
    config = alembic_config(db.engine)
    command.upgrade(config, "0002")
    with db.engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO servers (name, server_ip, ssh_user, ssh_port, has_gpu, labels, status,"
            " created_at, updated_at) VALUES ('old-01', '10.0.0.1', 'root', 22, 1, '{}',"
            " 'unknown', '2026-01-01', '2026-01-01')"
        ))  # fmt: skip
    db.migrate()
    with db.engine.connect() as conn:
        row = conn.execute(text("SELECT name, has_gpu, vastai_host FROM servers")).one()
    assert tuple(row) == ("old-01", 1, 0)
    command.downgrade(config, "0002")
    with db.engine.connect() as conn:
        columns = [r[1] for r in conn.execute(text("PRAGMA table_info(servers)"))]
    assert "vastai_host" not in columns and "has_gpu" in columns
