"""Which images the stack needs, and building the ones that can be built here."""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dc_overview.deploy.buildctx import dockerfile, source_tree
from dc_overview.deploy.engine import DockerError, docker, image_exists
from dc_overview.deploy.images import build_image, ensure_base_image

OFFLINE_TAGS = {
    "prometheus": "dc-overview/prometheus:debian-bookworm",
    "node_exporter": "dc-overview/node-exporter:debian-bookworm",
}
Say = Callable[[str], None]


@dataclass(frozen=True)
class BuiltImage:
    role: str
    tag: str


def build_from_source(role: str, tag: str, base: str, say: Say) -> BuiltImage:
    """The app ("app") or the proxy ("proxy") from a source tree of the installed packages."""
    say(f"building {tag} ({role})")
    with tempfile.TemporaryDirectory(prefix="dco-build-") as tmp:
        context = source_tree(Path(tmp))
        build_image(context, tag, dockerfile(role), {"BASE_IMAGE": base})
    return BuiltImage(role, tag)


def build_app_image(tag: str, base: str, say: Say) -> BuiltImage:
    return build_from_source("app", tag, base, say)


def build_proxy_image(tag: str, base: str, say: Say) -> BuiltImage:
    return build_from_source("proxy", tag, base, say)


def build_debian_image(role: str, base: str, say: Say) -> BuiltImage:
    """Prometheus or node_exporter from Debian's packages (air-gapped sites)."""
    tag = OFFLINE_TAGS[role]
    say(f"building {tag} from Debian packages")
    with tempfile.TemporaryDirectory(prefix="dco-build-") as tmp:
        name = role.replace("_", "-")
        build_image(Path(tmp), tag, dockerfile(name), {"BASE_IMAGE": base})
    return BuiltImage(role, tag)


def pull_or_none(tag: str, timeout: float = 120) -> bool:
    """True when the image is here or could be pulled."""
    if image_exists(tag):
        return True
    try:
        docker(["pull", tag], timeout=timeout)
    except (DockerError, subprocess.TimeoutExpired, OSError):
        return False
    return image_exists(tag)


def build_images(app_tag: str, proxy_tag: str, offline: bool, say: Say) -> list[BuiltImage]:
    """App and proxy always; with `offline`, also the Debian-built Prometheus and node_exporter."""
    base = ensure_base_image(pull=not offline)
    built = [build_app_image(app_tag, base, say), build_proxy_image(proxy_tag, base, say)]
    if offline:
        built += [build_debian_image(role, base, say) for role in OFFLINE_TAGS]
    return built
