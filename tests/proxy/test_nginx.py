"""The rendered nginx config passes `nginx -t` (Debian's nginx, temp prefix) in every TLS mode."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from cryptolabs_proxy import nginx, tls
from cryptolabs_proxy.catalog import load_catalog
from cryptolabs_proxy.config import ProxyConfig
from cryptolabs_proxy.supervisor import render
from tests.proxy.support import proxy_config
from tests.support.processes import require_binary

pytestmark = pytest.mark.integration

FAKE_CERTBOT = """#!/bin/sh
# Stands in for certbot: Let's Encrypt cannot be reached from these machines.
echo "$@" >> "$FAKE_CERTBOT_LOG"
config_dir=""; domain=""; hook=""; command="$1"
while [ $# -gt 0 ]; do
  case "$1" in
    --config-dir) config_dir="$2"; shift ;;
    -d) domain="$2"; shift ;;
    --deploy-hook) hook="$2"; shift ;;
  esac
  shift
done
if [ "$command" = certonly ]; then
  mkdir -p "$config_dir/live/$domain"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 90 \\
    -subj "/CN=$domain" -keyout "$config_dir/live/$domain/privkey.pem" \\
    -out "$config_dir/live/$domain/fullchain.pem" 2>/dev/null
fi
if [ "$command" = renew ] && [ -n "$hook" ]; then sh -c "$hook"; fi
"""


@pytest.fixture(autouse=True)
def _nginx_installed() -> None:
    try:
        require_binary("nginx")
    except RuntimeError:
        pytest.fail("nginx is missing: apt-get install nginx (scripts/install-deps.sh --test)")


def _check(config: ProxyConfig) -> str:
    conf, _ = render(config, log_to=str(config.runtime_dir))
    nginx.check_config(conf)
    return conf.read_text()


def test_docker_layout_config_passes_nginx_t(tmp_path: Path) -> None:
    """The container's config: service names, Docker's resolver, ports 80/443, www-data."""
    config = proxy_config(
        tmp_path, upstreams={}, resolver="127.0.0.11", nginx_user="www-data", bind="127.0.0.1:8099"
    )
    text = _check(config)
    assert "resolver 127.0.0.11 valid=10s ipv6=off;" in text
    assert "set $upstream_dc_overview dc-overview:5001;" in text
    assert "proxy_pass http://$upstream_grafana;" in text
    assert "listen 443 ssl http2 default_server;" in text
    assert "return 301 https://$host$request_uri;" in text
    for header in ("Strict-Transport-Security", "X-Content-Type-Options", "X-Frame-Options"):
        assert f"add_header {header}" in text
    assert "frame-ancestors 'self'" in text and "Referrer-Policy" in text
    assert "location ^~ /.well-known/acme-challenge/" in text


def test_every_guarded_location_strips_client_identity_headers(tmp_path: Path) -> None:
    text = _check(proxy_config(tmp_path))
    proxied = text.count("proxy_pass http://$upstream_") + text.count("proxy_pass http://127.0.0.1")
    assert text.count("proxy_set_header X-CryptoLabs-Identity") >= proxied - text.count("/_auth/")
    grafana = text.split("location ^~ /grafana/")[1].split("location ")[0]
    assert "proxy_set_header X-WEBAUTH-USER $cl_user;" in grafana
    dc = text.split("location ^~ /dc/")[1].split("location ")[0]
    assert 'proxy_set_header X-WEBAUTH-USER "";' in dc
    assert 'proxy_set_header X-Forwarded-Prefix "/dc";' in dc
    assert "rewrite ^/dc/(.*)$ /$1 break;" in dc
    assert "rewrite" not in grafana and "rewrite" not in text.split("location ^~ /prometheus/")[1]


def test_extra_services_get_routes(tmp_path: Path) -> None:
    config = proxy_config(tmp_path)
    config.config_dir.mkdir(parents=True)
    config.services_path.write_text(
        "services:\n  - {name: vast, display_name: Vast, path: /vast/, upstream: 'vast:8622',"
        " health_path: /metrics, admin_only: true}\n"
    )
    text = _check(config)
    assert "location ^~ /vast/" in text and "auth_request /_auth/vast;" in text
    page = (nginx.pages_dir(config) / "vast.html").read_text()
    assert "Vast is not available" in page


def test_own_certificate(tmp_path: Path) -> None:
    made = tls.ensure_self_signed(tmp_path / "operator", "fleet.example.com")
    config = proxy_config(tmp_path, tls_mode="own", cert_file=made.cert, key_file=made.key)
    text = _check(config)
    assert f"ssl_certificate {made.cert};" in text
    missing = proxy_config(
        tmp_path, tls_mode="own", cert_file=tmp_path / "nope.crt", key_file=made.key
    )
    with pytest.raises(tls.TlsError, match=r"nope\.crt"):
        render(missing)


def test_letsencrypt_starts_self_signed_then_uses_the_issued_certificate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    certbot = bin_dir / "certbot"
    certbot.write_text(FAKE_CERTBOT)
    certbot.chmod(certbot.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_CERTBOT_LOG", str(tmp_path / "certbot.log"))
    config = proxy_config(
        tmp_path,
        tls_mode="letsencrypt",
        domain="fleet.example.com",
        email="ops@example.com",
        letsencrypt_dir=tmp_path / "letsencrypt",
    )
    assert "selfsigned.crt" in _check(config)
    assert tls.obtain_letsencrypt(config)
    calls = (tmp_path / "certbot.log").read_text()
    assert "certonly --webroot -w" in calls and "--agree-tos" in calls
    text = _check(config)
    assert "live/fleet.example.com/fullchain.pem" in text
    assert "return 301 https://fleet.example.com$request_uri;" in text
    hook_ran = tmp_path / "reloaded"
    assert tls.renew_letsencrypt(config, ["touch", str(hook_ran)])
    assert hook_ran.exists(), "renewal runs the deploy hook that reloads nginx"


def test_catalog_from_config_matches_rendered_pages(tmp_path: Path) -> None:
    config = proxy_config(tmp_path)
    _check(config)
    for spec in load_catalog(None, config.upstreams):
        assert (nginx.pages_dir(config) / f"{spec.name}.html").exists()
