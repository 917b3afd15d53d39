"""The `alerts` section of the quickstart config: thresholds and Alertmanager receivers.

Every secret is a *file* (mode 0600) named by an absolute path: `bot_token_file`,
`api_url_file`, `auth_password_file`, `url_file`, `bearer_token_file`. A secret given inline
is refused with a message that says which `*_file` key to use instead.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from dc_overview.prometheus.rules import Thresholds

# Keys that would put a secret into the config, and the file key to use instead.
INLINE_SECRETS = {
    "bot_token": "bot_token_file",
    "api_url": "api_url_file",
    "auth_password": "auth_password_file",
    "password": "auth_password_file",
    "bearer_token": "bearer_token_file",
    "token": "bot_token_file",
}
_DEFAULTS = Thresholds()


def check_secret_file(value: str) -> str:
    """An absolute path to an existing regular file that only its owner can read."""
    path = Path(value)
    if not path.is_absolute():
        raise ValueError("must be an absolute path")
    if not path.is_file():
        raise ValueError(f"{value} does not exist or is not a file")
    mode = os.stat(path).st_mode & 0o777
    if mode & 0o077:
        raise ValueError(f"{value} is readable by others (mode {mode:o}); run chmod 600 {value}")
    return value


SecretFile = Annotated[str, AfterValidator(check_secret_file)]
Duration = Annotated[str, Field(pattern=r"^[1-9][0-9]*(s|m|h)$")]
Celsius = Annotated[int, Field(ge=30, le=150)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    @model_validator(mode="before")
    @classmethod
    def _no_inline_secrets(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key in data:
                if key in INLINE_SECRETS and key not in cls.model_fields:
                    wanted = INLINE_SECRETS[key]
                    raise ValueError(
                        f"{key}: secrets are not written in the config; put it in a file "
                        f"(chmod 600) and give its path as {wanted}"
                    )
        return data


RESOLVED = "Also notify when the alert is resolved."


class TelegramReceiver(Strict):
    bot_token_file: SecretFile = Field(description="File (0600) holding the bot's token.")
    chat_id: int = Field(description="Telegram chat the bot posts to.")
    send_resolved: bool = Field(True, description=RESOLVED)


class SlackReceiver(Strict):
    # The incoming-webhook URL is the secret.
    api_url_file: SecretFile = Field(description="File (0600) holding the incoming-webhook URL.")
    channel: Annotated[str, Field(min_length=1, max_length=80)] | None = Field(
        None, description="Channel to post to; unset: the webhook's own."
    )
    send_resolved: bool = Field(True, description=RESOLVED)


class EmailReceiver(Strict):
    model_config = ConfigDict(
        extra="forbid", strict=True, populate_by_name=True, serialize_by_alias=True
    )

    to: Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")] = Field(
        description="Recipient address."
    )
    sender: Annotated[str, Field(alias="from", pattern=r"^[^@\s]+@[^@\s]+$")] = Field(
        description="Sender address."
    )
    smarthost: Annotated[str, Field(pattern=r"^[A-Za-z0-9.\-\[\]:]+:[0-9]{1,5}$")] = Field(
        description="SMTP server as host:port."
    )
    auth_username: str | None = Field(None, description="SMTP user name (with the password file).")
    auth_password_file: SecretFile | None = Field(
        None, description="File (0600) holding the SMTP password."
    )
    require_tls: bool = Field(True, description="Refuse to send without STARTTLS.")
    send_resolved: bool = Field(True, description=RESOLVED)

    @model_validator(mode="after")
    def _auth_complete(self) -> EmailReceiver:
        if bool(self.auth_username) != bool(self.auth_password_file):
            raise ValueError("auth_username and auth_password_file go together")
        return self


class WebhookReceiver(Strict):
    url: Annotated[str, Field(pattern=r"^https?://\S+$")] | None = Field(
        None, description="URL to POST alerts to (give this or url_file)."
    )
    url_file: SecretFile | None = Field(
        None, description="File (0600) holding the URL, for a URL with a secret in it."
    )
    bearer_token_file: SecretFile | None = Field(
        None, description="File (0600) holding a bearer token sent with each request."
    )
    send_resolved: bool = Field(True, description=RESOLVED)

    @model_validator(mode="after")
    def _one_url(self) -> WebhookReceiver:
        if (self.url is None) == (self.url_file is None):
            raise ValueError("give exactly one of url and url_file (a URL with a secret in it)")
        return self


class AlertmanagerConfig(Strict):
    """Where alerts go; Alertmanager runs only when at least one receiver is configured."""

    telegram: TelegramReceiver | None = Field(None, description="Send alerts to Telegram.")
    slack: SlackReceiver | None = Field(None, description="Send alerts to a Slack webhook.")
    email: EmailReceiver | None = Field(None, description="Send alerts by e-mail.")
    webhook: WebhookReceiver | None = Field(None, description="POST alerts to a webhook.")
    group_wait: Duration = Field(
        "30s", description="Wait this long to batch the first alerts of a group."
    )
    group_interval: Duration = Field(
        "5m", description="Wait this long before notifying about new alerts of a group."
    )
    repeat_interval: Duration = Field(
        "4h", description="Repeat a notification for an alert still firing after this long."
    )

    @property
    def receivers(self) -> dict[str, BaseModel]:
        """The configured receivers by kind."""
        kinds = {"telegram": self.telegram, "slack": self.slack}
        kinds |= {"email": self.email, "webhook": self.webhook}
        return {kind: receiver for kind, receiver in kinds.items() if receiver is not None}


class ThresholdsConfig(Strict):
    gpu_core_temp_c: Celsius = Field(
        _DEFAULTS.gpu_core_temp_c,
        description="Alert when a GPU core is above this (°C) for 5 minutes.",
    )
    gpu_hotspot_temp_c: Celsius = Field(
        _DEFAULTS.gpu_hotspot_temp_c,
        description="Alert when a GPU hot spot is above this (°C) for 5 minutes.",
    )
    gpu_vram_temp_c: Celsius = Field(
        _DEFAULTS.gpu_vram_temp_c,
        description="Alert when GPU memory is above this (°C) for 5 minutes.",
    )
    disk_free_percent: Annotated[int, Field(ge=1, le=99)] = Field(
        _DEFAULTS.disk_free_percent,
        description="Alert when a filesystem has had less free than this (%) for 10 minutes.",
    )

    def to_thresholds(self) -> Thresholds:
        return Thresholds(**self.model_dump())


class AlertsConfig(Strict):
    thresholds: ThresholdsConfig = Field(
        default_factory=ThresholdsConfig, description="Thresholds of the Prometheus alert rules."
    )
    alertmanager: AlertmanagerConfig | None = None

    @property
    def alertmanager_enabled(self) -> bool:
        return self.alertmanager is not None and bool(self.alertmanager.receivers)
