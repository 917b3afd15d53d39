"""`cryptolabs-proxy run`: the container's main process.

Prepares users and keys, picks a certificate, renders and checks nginx.conf, then runs the
proxy's service (gunicorn on 127.0.0.1) and nginx side by side; if either exits, both stop.
With Let's Encrypt it asks for a certificate once nginx serves the ACME webroot, reloads nginx
onto it, and runs `certbot renew` twice a day (its deploy hook reloads nginx).
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

from cryptolabs_proxy import nginx, tls
from cryptolabs_proxy.catalog import ServiceSpec
from cryptolabs_proxy.config import ProxyConfig
from cryptolabs_proxy.probe import split_upstream
from cryptolabs_proxy.state import prepare

log = logging.getLogger(__name__)
RENEW_EVERY_SECONDS = 12 * 3600


def _gunicorn_knows(setting: str) -> bool:
    import gunicorn.config

    return any(known.name == setting for known in gunicorn.config.KNOWN_SETTINGS)


def gunicorn_argv(config: ProxyConfig) -> list[str]:
    # recent gunicorn opens a control socket in ~/.gunicorn, shared by every gunicorn on the host.
    quiet = ["--no-control-socket"] if _gunicorn_knows("control_socket_disable") else []
    return [
        sys.executable, "-m", "gunicorn", *quiet,
        "--bind", config.bind,
        "--workers", str(config.gunicorn_workers),
        "--threads", "4",
        "--forwarded-allow-ips", "127.0.0.1",
        "--access-logfile", "-", "--error-logfile", "-",
        "cryptolabs_proxy.app:create_app()",
    ]  # fmt: skip


def render(config: ProxyConfig, log_to: str = "stderr") -> tuple[Path, list[ServiceSpec]]:
    """Prepare state, make sure there is a certificate, write and check nginx.conf."""
    state = prepare(config)
    cert = tls.current_certificate(config)
    conf = nginx.write_runtime(config, state.catalog, cert, log_to=log_to)
    nginx.check_config(conf)
    return conf, state.catalog


@dataclass
class Supervisor:
    config: ProxyConfig
    log_to: str = "stderr"
    stopping: threading.Event = field(default_factory=threading.Event)
    children: list[subprocess.Popen] = field(default_factory=list)
    catalog: list[ServiceSpec] = field(default_factory=list)
    conf: Path | None = None

    def start(self) -> None:
        self.conf, self.catalog = render(self.config, self.log_to)
        self.children.append(subprocess.Popen(gunicorn_argv(self.config)))
        self.children.append(subprocess.Popen(nginx.run_argv(self.conf)))
        host, port = split_upstream(self.config.bind)
        log.info("cryptolabs-proxy: service on %s:%s, nginx with %s", host, port, self.conf)
        if self.config.tls_mode == "letsencrypt":
            threading.Thread(target=self._letsencrypt_loop, daemon=True).start()

    def wait(self) -> int:
        """Until a child exits or a stop is asked; then stop everything."""
        code = 0
        while not self.stopping.is_set():
            exited = [child for child in self.children if child.poll() is not None]
            if exited:
                code = exited[0].returncode or 1
                log.error("%s exited with %s; stopping", exited[0].args[0], exited[0].returncode)
                break
            self.stopping.wait(1.0)
        self.stop()
        return code

    def stop(self) -> None:
        self.stopping.set()
        for child in self.children:
            if child.poll() is None:
                child.terminate()
        for child in self.children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()

    def reload(self) -> None:
        """Re-render with the current certificate and reload nginx."""
        cert = tls.current_certificate(self.config)
        self.conf = nginx.write_runtime(self.config, self.catalog, cert, log_to=self.log_to)
        nginx.reload(self.conf)

    def _letsencrypt_loop(self) -> None:
        if self.stopping.wait(3.0):  # let nginx bind port 80 first
            return
        issued = tls.current_certificate(self.config).source == "letsencrypt"
        if not issued and tls.obtain_letsencrypt(self.config):
            self.reload()
            log.info("now serving the Let's Encrypt certificate for %s", self.config.domain)
        while not self.stopping.wait(RENEW_EVERY_SECONDS):
            assert self.conf is not None
            tls.renew_letsencrypt(self.config, nginx.reload_argv(self.conf))


def run(config: ProxyConfig, log_to: str = "stderr") -> int:
    supervisor = Supervisor(config, log_to)

    def _on_signal(signum: int, _frame: object) -> None:
        log.info("signal %s: stopping", signum)
        supervisor.stopping.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    supervisor.start()
    return supervisor.wait()
