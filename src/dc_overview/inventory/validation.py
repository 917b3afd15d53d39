"""Validation of everything that enters the inventory: used by the API, the CLI and importers.

Invalid input is refused whole: `ValidationFailed` carries one entry per offending field.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError

from dc_overview.inventory.errors import FieldError, ValidationFailed
from dc_overview.inventory.models import EXPORTER_KINDS, ROLES

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
SSH_USER_RE = re.compile(r"^[a-z_][a-z0-9_.-]{0,31}$")
LABEL_NAME_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]{0,62}$")
HOST_LABEL_RE = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
RESERVED_LABELS = {"instance", "job", "server_ip", "server", "exporter"}
MIN_PASSWORD_LENGTH = 10


def check_name(value: str) -> str:
    if not NAME_RE.match(value):
        raise ValueError(
            "must be 1-63 characters: letters, digits, '.', '_' or '-', starting with a "
            "letter or digit"
        )
    return value


def check_address(value: str) -> str:
    """An IPv4 or IPv6 address or an RFC 1123 hostname; returns the normalised form."""
    value = value.strip()
    if not value:
        raise ValueError("must not be empty")
    try:
        address = ipaddress.ip_address(value.strip("[]"))
    except ValueError:
        return _check_hostname(value)
    if address.is_unspecified or address.is_multicast:
        raise ValueError(f"{value} cannot be a server address (unspecified or multicast)")
    return str(address)


def _check_hostname(value: str) -> str:
    if re.fullmatch(r"[0-9.]+", value) or ":" in value:
        raise ValueError(f"{value!r} is not a valid IPv4 or IPv6 address")
    labels = value.rstrip(".").split(".")
    if len(value) > 253 or not all(HOST_LABEL_RE.match(label) for label in labels):
        raise ValueError(f"{value!r} is not a valid IP address or hostname")
    return value.rstrip(".").lower()


def check_ssh_user(value: str) -> str:
    if not SSH_USER_RE.match(value):
        raise ValueError("must be a Linux user name: lower-case letters, digits, '_', '-', '.'")
    return value


def check_labels(value: dict[str, str]) -> dict[str, str]:
    if len(value) > 32:
        raise ValueError("at most 32 labels")
    for key, label_value in value.items():
        if not LABEL_NAME_RE.match(key) or key.startswith("__"):
            raise ValueError(f"label name {key!r} must match [a-zA-Z_][a-zA-Z0-9_]* (no '__')")
        if key in RESERVED_LABELS:
            raise ValueError(f"label name {key!r} is reserved")
        if len(label_value) > 256:
            raise ValueError(f"label {key!r}: value longer than 256 characters")
    return value


def check_password(value: str) -> str:
    if len(value) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"must be at least {MIN_PASSWORD_LENGTH} characters")
    return value


Name = Annotated[str, Field(max_length=63), AfterValidator(check_name)]
Address = Annotated[str, Field(max_length=255), AfterValidator(check_address)]
Port = Annotated[int, Field(ge=1, le=65535)]
SshUser = Annotated[str, Field(max_length=32), AfterValidator(check_ssh_user)]
Labels = Annotated[dict[str, Annotated[str, Field(max_length=256)]], AfterValidator(check_labels)]
Version = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._+-]+$")]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class ExporterInput(StrictModel):
    enabled: bool | None = None
    installed: bool | None = None
    port: Port | None = None
    version: Version | None = None


ExporterMap = dict[str, ExporterInput]


def _check_exporter_kinds(value: ExporterMap) -> ExporterMap:
    unknown = sorted(set(value) - set(EXPORTER_KINDS))
    if unknown:
        raise ValueError(f"unknown exporter {unknown[0]!r}; known: {', '.join(EXPORTER_KINDS)}")
    return value


Exporters = Annotated[ExporterMap, AfterValidator(_check_exporter_kinds)]


class ServerCreate(StrictModel):
    name: Name
    server_ip: Address
    ssh_user: SshUser = "root"
    ssh_port: Port = 22
    ssh_key_id: int | None = None
    bmc_ip: Address | None = None
    has_gpu: bool = False
    vastai_host: bool = False
    labels: Labels = Field(default_factory=dict)
    exporters: Exporters = Field(default_factory=dict)


class ServerUpdate(StrictModel):
    name: Name | None = None
    server_ip: Address | None = None
    ssh_user: SshUser | None = None
    ssh_port: Port | None = None
    ssh_key_id: int | None = None
    bmc_ip: Address | None = None
    has_gpu: bool | None = None
    vastai_host: bool | None = None
    labels: Labels | None = None
    exporters: Exporters | None = None


class SshKeyGenerate(StrictModel):
    name: Name


class SshKeyImport(StrictModel):
    name: Name
    private_key: Annotated[str, Field(min_length=1, max_length=16384)]


class UserCreate(StrictModel):
    username: Name
    password: Annotated[str, Field(max_length=1024), AfterValidator(check_password)]
    role: Annotated[str, AfterValidator(lambda r: _check_choice(r, ROLES))] = "viewer"


class TokenCreate(StrictModel):
    name: Name


def _check_choice(value: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ValueError(f"must be one of: {', '.join(choices)}")
    return value


Model = TypeVar("Model", bound=BaseModel)


def parse(model: type[Model], data: Any) -> Model:
    """Validate `data` against `model`, raising `ValidationFailed` with every field named."""
    if not isinstance(data, dict):
        raise ValidationFailed.single("body", "must be a JSON object")
    try:
        return model.model_validate(data)
    except PydanticValidationError as exc:
        raise ValidationFailed([_field_error(err) for err in exc.errors()]) from None


def _field_error(error: Any) -> FieldError:
    field = ".".join(str(part) for part in error["loc"]) or "body"
    kind = error["type"]
    if kind == "extra_forbidden":
        return FieldError(field, "unknown field; remove it")
    message = error["msg"].removeprefix("Value error, ")
    if kind == "missing":
        message = "is required"
    return FieldError(field, message)
