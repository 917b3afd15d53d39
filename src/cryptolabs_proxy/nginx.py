"""Rendering nginx.conf and the "service unavailable" pages, and driving the nginx binary."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from cryptolabs_proxy import __version__
from cryptolabs_proxy.catalog import ServiceSpec
from cryptolabs_proxy.config import ProxyConfig
from cryptolabs_proxy.fsutil import atomic_write
from cryptolabs_proxy.tls import Certificate

PACKAGE_DIR = Path(__file__).resolve().parent
STATIC_DIR = PACKAGE_DIR / "static"
TEMP_DIRS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")


class NginxError(RuntimeError):
    """nginx refused the config or could not be run; the message carries its output."""


def _environment(autoescape: bool) -> Environment:
    return Environment(
        loader=PackageLoader("cryptolabs_proxy", "templates"),
        autoescape=select_autoescape(["html"]) if autoescape else False,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def pages_dir(config: ProxyConfig) -> Path:
    return config.runtime_dir / "pages"


def config_path(config: ProxyConfig) -> Path:
    return config.runtime_dir / "nginx.conf"


def _listen_port(listen: str) -> int:
    return int(listen.rsplit(":", 1)[-1])


def render_config(
    config: ProxyConfig, services: Sequence[ServiceSpec], cert: Certificate, log_to: str = "stderr"
) -> str:
    """nginx.conf text for `services`; `log_to` is "stderr" (container) or a directory."""
    port = config.public_https_port
    logs = (
        ("/dev/stderr", "/dev/stdout")
        if log_to == "stderr"
        else (f"{log_to}/error.log", f"{log_to}/access.log")
    )
    return (
        _environment(autoescape=False)
        .get_template("nginx.conf.j2")
        .render(
            version=__version__,
            nginx_user=config.nginx_user,
            worker_processes="auto" if config.nginx_user else 2,
            runtime_dir=config.runtime_dir,
            error_log=logs[0],
            access_log=logs[1],
            resolver=config.resolver,
            app=config.bind,
            http_listen=config.http_listen,
            https_listen=config.https_listen,
            https_suffix="" if port == 443 else f":{port}",
            redirect_host=config.domain or "$host",
            server_name=config.domain or "_",
            cert=cert,
            acme_webroot=config.acme_webroot,
            static_dir=STATIC_DIR,
            pages_dir=pages_dir(config),
            services=list(services),
        )
    )


def render_unavailable_pages(config: ProxyConfig, services: Sequence[ServiceSpec]) -> None:
    """One static page per service (and one for the proxy itself) for nginx's error_page."""
    template = _environment(autoescape=True).get_template("unavailable.html")
    target = pages_dir(config)
    target.mkdir(parents=True, exist_ok=True)
    for spec in services:
        atomic_write(target / f"{spec.name}.html", template.render(site=config.site_name, s=spec))
    atomic_write(target / "proxy.html", template.render(site=config.site_name, s=None))


def write_runtime(
    config: ProxyConfig,
    services: Sequence[ServiceSpec],
    cert: Certificate,
    log_to: str = "stderr",
) -> Path:
    """Render everything nginx needs into the runtime dir; returns the nginx.conf path."""
    for name in TEMP_DIRS:
        (config.runtime_dir / "tmp" / name).mkdir(parents=True, exist_ok=True)
    config.acme_webroot.mkdir(parents=True, exist_ok=True)
    render_unavailable_pages(config, services)
    path = config_path(config)
    atomic_write(path, render_config(config, services, cert, log_to=log_to))
    return path


def nginx_binary() -> str:
    path = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else "")
    if not path:
        raise NginxError("nginx is not installed (apt-get install nginx)")
    return path


def base_argv(conf: Path) -> list[str]:
    """nginx with its prefix and early error log in the runtime dir, not /etc or /var/log."""
    prefix = conf.parent
    return [nginx_binary(), "-p", f"{prefix}/", "-c", str(conf), "-e", "stderr"]


def check_config(conf: Path) -> str:
    """`nginx -t` on `conf`; returns its report, raises NginxError when it fails."""
    result = subprocess.run(
        [*base_argv(conf), "-t"], capture_output=True, text=True, check=False, timeout=30
    )
    if result.returncode != 0:
        raise NginxError(f"nginx -t failed for {conf}:\n{result.stderr.strip()}")
    return result.stderr


def run_argv(conf: Path) -> list[str]:
    return [*base_argv(conf), "-g", "daemon off;"]


def reload_argv(conf: Path) -> list[str]:
    return [*base_argv(conf), "-s", "reload"]


def reload(conf: Path) -> None:
    check_config(conf)
    result = subprocess.run(reload_argv(conf), capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise NginxError(f"nginx reload failed: {result.stderr.strip()}")
