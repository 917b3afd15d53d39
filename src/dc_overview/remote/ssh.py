"""SSH sessions to workers (asyncssh): key authentication, host keys trusted on first use.

Host keys are pinned in the inventory (`HostKey` rows). The first connection to a host pins the
key it presents (after the server has proven it holds the private half) and reports the
fingerprint; a later connection that presents another key is refused with `HostKeyMismatch`,
which names both fingerprints and the command that re-trusts the host. Host key checking is
never switched off.
"""

from __future__ import annotations

import asyncio
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import asyncssh

from dc_overview.remote.trust import HostKeyMismatch, HostTrust, PinnedKey

CONNECT_TIMEOUT = 15.0
# AES-GCM first: AES-NI makes it the cheapest for the master when pushing to many hosts.
FAST_CIPHERS = [
    "aes128-gcm@openssh.com", "aes256-gcm@openssh.com", "chacha20-poly1305@openssh.com",
    "aes128-ctr", "aes256-ctr",
]  # fmt: skip
# Host key algorithms, strongest first; a pinned key type limits the handshake to its algorithms.
HOST_KEY_ALGS = {
    "ssh-ed25519": ["ssh-ed25519"],
    "ecdsa-sha2-nistp256": ["ecdsa-sha2-nistp256"],
    "ecdsa-sha2-nistp384": ["ecdsa-sha2-nistp384"],
    "ecdsa-sha2-nistp521": ["ecdsa-sha2-nistp521"],
    "ssh-rsa": ["rsa-sha2-512", "rsa-sha2-256"],
}
COMMAND_TIMEOUT = 120.0


class SshError(RuntimeError):
    """Connecting, authenticating or running a command failed; the message says which."""


class CommandFailed(SshError):
    def __init__(self, command: str, status: int | None, output: str) -> None:
        self.status = status
        self.output = output
        super().__init__(f"`{command}` exited with {status}: {output.strip()[-600:]}")


@dataclass(frozen=True)
class SshTarget:
    """Where and as whom to connect; `name` is the inventory name (used in messages)."""

    name: str
    host: str
    port: int = 22
    user: str = "root"
    key_path: Path | None = None
    password: str | None = None


@dataclass(frozen=True)
class Result:
    status: int
    stdout: str
    stderr: str


class _PinningClient(asyncssh.SSHClient):
    """Checks the presented host key against the pinned one; remembers a new key to pin."""

    def __init__(self, target: SshTarget, pinned: list[PinnedKey]) -> None:
        self.target = target
        self.pinned = pinned
        self.presented: PinnedKey | None = None

    def validate_host_public_key(self, host: str, addr: str, port: int, key) -> bool:
        self.presented = PinnedKey(key.get_algorithm(), key.get_fingerprint("sha256"))
        if not self.pinned:
            return True  # first use: pinned once the connection is established
        return self.presented in self.pinned


class SshSession:
    """One open connection; `run` and `put` with timeouts. Use `connect()` to make one."""

    def __init__(self, target: SshTarget, conn: asyncssh.SSHClientConnection) -> None:
        self.target = target
        self.conn = conn
        self.new_fingerprint: str | None = None

    @property
    def sudo(self) -> str:
        return "" if self.target.user == "root" else "sudo -n "

    async def run(
        self,
        command: str,
        timeout: float = COMMAND_TIMEOUT,
        check: bool = True,
        as_root: bool = True,
        stdin: str | None = None,
    ) -> Result:
        full = f"{self.sudo}{command}" if as_root else command
        try:
            done = await self.conn.run(full, timeout=timeout, input=stdin)
        except asyncssh.TimeoutError as exc:
            raise SshError(f"`{command}` on {self.target.name} took over {timeout:.0f}s") from exc
        except (OSError, asyncssh.Error) as exc:
            raise SshError(f"{self.target.name}: connection lost: {_reason(exc)}") from exc
        result = Result(done.exit_status or 0, str(done.stdout or ""), str(done.stderr or ""))
        if check and result.status != 0:
            raise CommandFailed(command, done.exit_status, result.stdout + result.stderr)
        return result

    async def check_sudo(self) -> None:
        """A user other than root must have passwordless sudo: every change runs as root."""
        if not self.sudo:
            return
        done = await self.run("sudo -n true", as_root=False, check=False, timeout=30)
        if done.status != 0:
            user = self.target.user
            why = (done.stderr or done.stdout).strip().splitlines()
            raise SshError(
                f"{self.target.name}: {user} cannot run commands as root through `sudo -n` "
                f"({why[-1] if why else f'exit status {done.status}'}); "
                f"give {user} passwordless sudo or use root"
            )

    async def run_script(self, script: str, args: list[str], timeout: float = COMMAND_TIMEOUT):
        """Feed a rendered shell script to `sh -s` (nothing is left on the worker)."""
        command = "sh -s -- " + " ".join(shlex.quote(a) for a in args)
        return await self.run(command, timeout=timeout, stdin=script)

    async def put(self, local: Path, remote: str, timeout: float = COMMAND_TIMEOUT) -> None:
        try:
            async with asyncio.timeout(timeout), self.conn.start_sftp_client() as sftp:
                await sftp.put(str(local), remote)
        except TimeoutError as exc:
            raise SshError(f"upload to {self.target.name} took over {timeout:.0f}s") from exc
        except (OSError, asyncssh.Error) as exc:
            raise SshError(f"upload of {local.name} to {self.target.name}: {_reason(exc)}") from exc

    async def close(self) -> None:
        self.conn.close()
        await self.conn.wait_closed()

    async def __aenter__(self) -> SshSession:
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self.close()


async def connect(
    target: SshTarget,
    trust: HostTrust,
    timeout: float = CONNECT_TIMEOUT,
    on_new_key: Callable[[str], None] | None = None,
) -> SshSession:
    """Open a session; raises HostKeyMismatch or SshError with a reason an operator can act on."""
    pinned = await asyncio.to_thread(trust.pinned, target.host, target.port)
    client = _PinningClient(target, pinned)
    try:
        conn, _ = await asyncssh.create_connection(
            lambda: client,
            target.host,
            port=target.port,
            username=target.user,
            known_hosts=([], [], []),  # empty but not None: every key goes through the client
            server_host_key_algs=host_key_algs(pinned),
            client_keys=[str(target.key_path)] if target.key_path else [],
            password=target.password,
            agent_path=None,
            preferred_auth=("publickey", "password") if target.password else ("publickey",),
            encryption_algs=FAST_CIPHERS,
            compression_algs=None,  # binaries barely compress; zlib would cost master CPU
            connect_timeout=timeout,
            login_timeout=timeout,
            keepalive_interval=15,
            keepalive_count_max=2,
        )
    except (asyncssh.HostKeyNotVerifiable, asyncssh.KeyExchangeFailed) as exc:
        if client.presented and pinned and client.presented not in pinned:
            raise HostKeyMismatch(target.name, pinned[0], client.presented) from exc
        raise SshError(f"{target.name}: host key not verified: {_reason(exc)}") from exc
    except asyncssh.PermissionDenied as exc:
        raise SshError(
            f"{target.name}: {target.user}@{target.host} refused our key "
            f"({target.key_path or 'no key configured'}); install its public half "
            "or bootstrap it with a password"
        ) from exc
    except TimeoutError as exc:
        raise SshError(
            f"{target.name}: no SSH answer from {target.host}:{target.port} within {timeout:.0f}s"
        ) from exc
    except (OSError, asyncssh.Error) as exc:
        raise SshError(f"{target.name}: cannot connect to {target.host}:{target.port}: "
                       f"{_reason(exc)}") from exc  # fmt: skip
    session = SshSession(target, conn)
    if not pinned and client.presented:
        await asyncio.to_thread(trust.pin, target.host, target.port, client.presented)
        session.new_fingerprint = client.presented.fingerprint
        if on_new_key:
            on_new_key(client.presented.fingerprint)
    return session


async def bootstrap_key(
    target: SshTarget, password: str, public_key: str, trust: HostTrust
) -> str | None:
    """Install `public_key` in the user's authorized_keys with a one-time password login.

    The password is used for this one connection and never stored. Returns the fingerprint of
    a newly pinned host key, if this was the first contact.
    """
    with_password = SshTarget(target.name, target.host, target.port, target.user, None, password)
    session = await connect(with_password, trust)
    key_line = public_key.strip()
    script = (
        "umask 077; mkdir -p ~/.ssh; touch ~/.ssh/authorized_keys; "
        'grep -qxF "$KEY" ~/.ssh/authorized_keys || printf "%s\\n" "$KEY" >> ~/.ssh/authorized_keys'
    )
    try:
        await session.run(f"KEY={shlex.quote(key_line)} sh -c {shlex.quote(script)}",
                          as_root=False)  # fmt: skip
    finally:
        await session.close()
    async with await connect(target, trust) as check:
        await check.run("true", as_root=False)
    return session.new_fingerprint


def host_key_algs(pinned: list[PinnedKey]) -> list[str]:
    """The algorithms to offer: those of the pinned key types, or all known (ed25519 first)."""
    types = [p.key_type for p in pinned] or list(HOST_KEY_ALGS)
    return [alg for key_type in types for alg in HOST_KEY_ALGS.get(key_type, [key_type])]


def _reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (is sshd running?)"
    if isinstance(exc, asyncssh.ConnectionLost | asyncssh.DisconnectError):
        return f"connection lost ({text})"
    return text
