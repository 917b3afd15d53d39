"""The interactive quickstart: questions whose answers become the same data a config file holds."""

from __future__ import annotations

from typing import Any

import questionary

from dc_overview.deploy.config import QuickstartConfig


class WizardCancelled(RuntimeError):
    """The operator pressed Ctrl-C or Escape."""


def _ask(question: questionary.Question) -> Any:
    answer = question.ask()
    if answer is None:
        raise WizardCancelled("quickstart cancelled; nothing was changed")
    return answer


def _port(text: str) -> bool | str:
    return (text.isdigit() and 1 <= int(text) <= 65535) or "a port from 1 to 65535"


def ask_config(defaults: QuickstartConfig, *, ipmi_monitor: bool = False) -> dict[str, Any]:
    """Ask everything; an empty answer keeps the default (or generates a password).

    `ipmi_monitor`: IPMI Monitor was detected, so offer to import its servers and keys.
    """
    data = defaults.without_secrets()
    if ipmi_monitor:
        data["import_from_ipmi"] = _ask(
            questionary.confirm("IPMI Monitor detected. Import SSH keys and server IPs?",
                                default=True)
        )  # fmt: skip
    data["site_name"] = _ask(questionary.text("Site name:", default=defaults.site_name))
    data["admin"]["username"] = _ask(
        questionary.text("Admin user name:", default=defaults.admin.username)
    )
    admin_password = _ask(questionary.password("Admin password (empty: generate one):"))
    if admin_password:
        data["admin"]["password"] = admin_password
    grafana_password = _ask(questionary.password("Grafana admin password (empty: generate):"))
    if grafana_password:
        data["grafana"]["admin_password"] = grafana_password
    _ask_network(data, defaults)
    _ask_tls(data, defaults)
    _ask_prometheus(data, defaults)
    _ask_vastai(data, defaults)
    return data


def _ask_network(data: dict, defaults: QuickstartConfig) -> None:
    proxy = data["proxy"]
    proxy["bind_address"] = _ask(
        questionary.text("Address the proxy listens on:", default=defaults.proxy.bind_address)
    )
    for key, label in (("http_port", "HTTP port:"), ("https_port", "HTTPS port:")):
        answer = _ask(questionary.text(label, default=str(proxy[key]), validate=_port))
        proxy[key] = int(answer)


def _ask_tls(data: dict, defaults: QuickstartConfig) -> None:
    mode = _ask(
        questionary.select(
            "TLS certificate:",
            choices=["self-signed", "own", "letsencrypt"],
            default=defaults.tls.mode,
        )
    )
    data["tls"] = {"mode": mode}
    if mode == "own":
        data["tls"]["cert_file"] = _ask(questionary.path("Certificate file (PEM):"))
        data["tls"]["key_file"] = _ask(questionary.path("Private key file (PEM):"))
    elif mode == "letsencrypt":
        data["tls"]["domain"] = _ask(questionary.text("Domain name:"))
        data["tls"]["email"] = _ask(questionary.text("E-mail for Let's Encrypt:"))


def _ask_prometheus(data: dict, defaults: QuickstartConfig) -> None:
    prometheus = data["prometheus"]
    prometheus["retention"] = _ask(
        questionary.text("Prometheus retention (e.g. 30d):", default=defaults.prometheus.retention)
    )
    if _ask(questionary.confirm("Send samples to a remote_write store?", default=False)):
        remote: dict[str, Any] = {"url": _ask(questionary.text("remote_write URL:"))}
        username = _ask(questionary.text("Basic-auth user (empty: none):"))
        if username:
            remote["username"] = username
            remote["password_file"] = _ask(questionary.path("File holding its password:"))
        prometheus["remote_write"] = remote
    else:
        prometheus["remote_write"] = None


def _ask_vastai(data: dict, defaults: QuickstartConfig) -> None:
    """Optional: a file of Vast.ai API keys turns the stack's vastai-exporter on."""
    path = _ask(
        questionary.text(
            "Vast.ai API key file, 'name:key' lines, chmod 600 (empty: no Vast.ai exporter):",
            default=defaults.vastai.api_keys_file or "",
        )
    )
    data["vastai"]["api_keys_file"] = path.strip() or None
