"""The release workflow cannot run here; it must at least be valid and match the Dockerfiles."""

from pathlib import Path

import yaml

from dc_overview.deploy.config import ImagesConfig

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "docker-build.yml"


def test_workflow_builds_the_images_the_quickstart_pins() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    assert workflow[True]["push"]["tags"] == ["v*.*.*"]  # YAML 1.1 reads the key `on` as True
    job = workflow["jobs"]["images"]
    built = {entry["image"]: entry["dockerfile"] for entry in job["strategy"]["matrix"]["include"]}
    pinned = ImagesConfig()
    for image, reference in (
        ("dc-overview", pinned.dc_overview),
        ("cryptolabs-proxy", pinned.proxy),
    ):
        assert reference.startswith(f"ghcr.io/cryptolabsza/{image}:"), reference
        assert (ROOT / built[image]).is_file(), built[image]
    assert (ROOT / "Dockerfile").resolve() == (ROOT / built["dc-overview"]).resolve()
    assert (ROOT / "proxy" / "Dockerfile").resolve() == (ROOT / built["cryptolabs-proxy"]).resolve()
    steps = [step.get("uses", step.get("name")) for step in job["steps"]]
    assert "docker/build-push-action@v6" in steps
    for step in job["steps"]:
        assert "password" not in str(step.get("run", "")).lower()
