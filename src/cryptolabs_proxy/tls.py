"""Certificates: self-signed on first start, the operator's files, or Let's Encrypt (webroot).

Let's Encrypt needs nginx already serving `/.well-known/acme-challenge/` on port 80, so the
proxy starts on a self-signed certificate, runs certbot, then reloads nginx onto the new one.
Renewal (`certbot renew`) reloads nginx through its deploy hook.
"""

from __future__ import annotations

import logging
import os
import shlex
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptolabs_proxy.config import ProxyConfig

log = logging.getLogger(__name__)
SELF_SIGNED_DAYS = 825


class TlsError(RuntimeError):
    """No usable certificate; the message says what to fix."""


@dataclass(frozen=True)
class Certificate:
    cert: Path
    key: Path
    source: str  # "self-signed", "own" or "letsencrypt"


def letsencrypt_paths(config: ProxyConfig) -> Certificate:
    live = config.letsencrypt_dir / "live" / str(config.domain)
    return Certificate(live / "fullchain.pem", live / "privkey.pem", "letsencrypt")


def current_certificate(config: ProxyConfig) -> Certificate:
    """The certificate nginx should use now, making a self-signed one when needed."""
    if config.tls_mode == "own":
        assert config.cert_file and config.key_file
        for path in (config.cert_file, config.key_file):
            if not path.is_file():
                raise TlsError(f"tls_mode=own: {path} does not exist (cert_file / key_file)")
        return Certificate(config.cert_file, config.key_file, "own")
    if config.tls_mode == "letsencrypt":
        issued = letsencrypt_paths(config)
        if issued.cert.is_file() and issued.key.is_file():
            return issued
    return ensure_self_signed(config.tls_dir, config.domain or "localhost")


def ensure_self_signed(directory: Path, common_name: str) -> Certificate:
    """A self-signed certificate in `directory`, made once with openssl and then kept."""
    cert = Certificate(directory / "selfsigned.crt", directory / "selfsigned.key", "self-signed")
    if cert.cert.is_file() and cert.key.is_file():
        return cert
    openssl = shutil.which("openssl")
    if openssl is None:
        raise TlsError("openssl is not installed (apt-get install openssl)")
    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    names = sorted({common_name, "localhost"})
    san = ",".join([f"DNS:{name}" for name in names] + ["IP:127.0.0.1"])
    with tempfile.TemporaryDirectory(dir=directory) as work:
        key, crt = Path(work) / "key", Path(work) / "crt"
        argv = [
            openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-days", str(SELF_SIGNED_DAYS), "-subj", f"/CN={common_name}",
            "-addext", f"subjectAltName={san}", "-keyout", str(key), "-out", str(crt),
        ]  # fmt: skip
        result = subprocess.run(argv, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise TlsError(f"openssl could not make a certificate: {result.stderr.strip()}")
        os.chmod(key, 0o600)
        os.replace(key, cert.key)
        os.replace(crt, cert.cert)
    log.info("made a self-signed certificate for %s in %s", common_name, directory)
    return cert


def certbot_argv(config: ProxyConfig, *args: str) -> list[str]:
    binary = shutil.which("certbot")
    if binary is None:
        raise TlsError("tls_mode=letsencrypt needs certbot (apt-get install certbot)")
    work = config.data_dir / "certbot"
    return [
        binary, *args, "--non-interactive",
        "--config-dir", str(config.letsencrypt_dir),
        "--work-dir", str(work / "work"), "--logs-dir", str(work / "logs"),
    ]  # fmt: skip


def obtain_letsencrypt(config: ProxyConfig) -> bool:
    """Ask Let's Encrypt for a certificate over the webroot; True when one was issued."""
    config.acme_webroot.mkdir(parents=True, exist_ok=True)
    argv = certbot_argv(
        config, "certonly", "--webroot", "-w", str(config.acme_webroot),
        "-d", str(config.domain), "--email", str(config.email),
        "--agree-tos", "--keep-until-expiring",
    )  # fmt: skip
    result = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=600)
    if result.returncode != 0:
        log.error("certbot could not get a certificate: %s", result.stderr.strip()[-2000:])
        return False
    return letsencrypt_paths(config).cert.is_file()


def renew_letsencrypt(config: ProxyConfig, reload_command: list[str]) -> bool:
    """`certbot renew`; its deploy hook reloads nginx when a certificate was renewed."""
    argv = certbot_argv(
        config, "renew", "--webroot", "-w", str(config.acme_webroot),
        "--deploy-hook", shlex.join(reload_command),
    )  # fmt: skip
    result = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=600)
    if result.returncode != 0:
        log.error("certbot renew failed: %s", result.stderr.strip()[-2000:])
    return result.returncode == 0
