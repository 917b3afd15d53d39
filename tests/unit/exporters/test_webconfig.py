"""node_exporter-style web config: parsing, refusals with clear messages, basic auth."""

from __future__ import annotations

import sys
from pathlib import Path

import bcrypt
import pytest

from dc_overview.exporters.web import parse_listen
from dc_overview.exporters.webconfig import BasicAuth, WebConfigError, load_web_config
from tests.unit.exporters.helpers import self_signed


def test_tls_paths_are_relative_to_the_file(tmp_path: Path) -> None:
    self_signed(tmp_path)
    config_file = tmp_path / "web.yml"
    config_file.write_text("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n")
    config = load_web_config(str(config_file))
    assert config.tls is not None and config.tls.cert_file == str(tmp_path / "server.crt")
    assert config.tls.context().minimum_version.name == "TLSv1_2"
    assert config.basic_auth_users == {}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("tls_server_config:\n  cert_file: a.crt\n", "key_file is required"),
        ("tls_server_config:\n  cert_file: a\n  key_file: b\n  bogus: 1\n", "unknown"),
        ("tls_server_config:\n  cert_file: a\n  key_file: b\n", "cannot load TLS files"),
        ("something_else: 1\n", "unknown keys"),
        ("- a list\n", "must hold a mapping"),
        ("basic_auth_users: [a]\n", "must map user names"),
        (
            "tls_server_config:\n  cert_file: a\n  key_file: b\n  min_version: TLS99\n",
            "min_version",
        ),
        (
            "tls_server_config:\n  cert_file: a\n  key_file: b\n"
            "  client_auth_type: RequireAndVerifyClientCert\n",
            "needs client_ca_file",
        ),
        ("key: [unclosed\n", "not valid YAML"),
    ],
)
def test_bad_files_are_refused(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "web.yml"
    path.write_text(content)
    with pytest.raises(WebConfigError, match=message):
        load_web_config(str(path))


def test_basic_auth_without_bcrypt_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "bcrypt", None)
    path = tmp_path / "web.yml"
    path.write_text("basic_auth_users:\n  prometheus: $2b$10$abcdefghijklmnopqrstuv\n")
    with pytest.raises(WebConfigError, match="needs the Python module 'bcrypt'"):
        load_web_config(str(path))


def test_missing_yaml_module_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "yaml", None)
    (tmp_path / "web.yml").write_text("{}\n")
    with pytest.raises(WebConfigError, match="needs PyYAML"):
        load_web_config(str(tmp_path / "web.yml"))


def real_hash(password: bytes, prefix: str = "$2b$") -> str:
    """A real bcrypt hash; 4 rounds keeps the tests fast."""
    hashed = bcrypt.hashpw(password, bcrypt.gensalt(rounds=4)).decode()
    return prefix + hashed[len("$2b$") :]


def test_basic_auth_checks_and_caches(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real_checkpw = bcrypt.checkpw

    def counting_checkpw(password: bytes, hashed: bytes) -> bool:
        calls.append(hashed)
        return real_checkpw(password, hashed)

    monkeypatch.setattr(bcrypt, "checkpw", counting_checkpw)
    auth = BasicAuth({"prometheus": real_hash(b"s3cret")})
    assert auth.check("prometheus", "s3cret")
    assert auth.check("prometheus", "s3cret")
    assert len(calls) == 1  # the second check came from the cache
    assert not auth.check("prometheus", "wrong")
    assert not auth.check("prometheus", "")
    assert not auth.check("nobody", "s3cret")  # unknown users still pay for a check
    assert len(calls) == 4
    assert calls[-1].startswith(b"$2b$10$")  # a real-cost dummy hash, not a quick refusal
    # bcrypt 5 raises ValueError for passwords over 72 bytes: refused, not an error.
    assert not auth.check("prometheus", "s3cret" + "x" * 100)


@pytest.mark.parametrize("prefix", ["$2a$", "$2b$", "$2y$"])
def test_web_config_users_with_real_hashes(tmp_path: Path, prefix: str) -> None:
    path = tmp_path / "web.yml"
    path.write_text(f"basic_auth_users:\n  prometheus: '{real_hash(b's3cret', prefix)}'\n")
    config = load_web_config(str(path))
    auth = BasicAuth(config.basic_auth_users)
    assert auth.check("prometheus", "s3cret")
    assert not auth.check("prometheus", "wrong")


def test_users_need_bcrypt_hashes(tmp_path: Path) -> None:
    path = tmp_path / "web.yml"
    path.write_text("basic_auth_users:\n  prometheus: plaintext\n")
    with pytest.raises(WebConfigError, match="not a bcrypt hash"):
        load_web_config(str(path))


@pytest.mark.parametrize(
    ("listen", "address"),
    [(":9835", ("", 9835)), ("127.0.0.1:8622", ("127.0.0.1", 8622)), ("[::1]:9", ("::1", 9))],
)
def test_parse_listen(listen: str, address: tuple[str, int]) -> None:
    assert parse_listen(listen) == address


@pytest.mark.parametrize("listen", ["9835", "host:port", ":99999", ""])
def test_parse_listen_refuses(listen: str) -> None:
    with pytest.raises(ValueError, match="--listen"):
        parse_listen(listen)
