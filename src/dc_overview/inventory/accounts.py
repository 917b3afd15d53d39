"""Users, API tokens and the login rate limit."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select
from werkzeug.security import check_password_hash, generate_password_hash

from dc_overview.inventory.db import Database
from dc_overview.inventory.errors import NotFound, ValidationFailed
from dc_overview.inventory.models import ApiToken, LoginFailure, User, as_utc
from dc_overview.inventory.validation import TokenCreate, UserCreate, parse

TOKEN_PREFIX = "dco_"
PASSWORD_METHOD = "scrypt"
_DUMMY_HASH = generate_password_hash("not-a-real-password", method=PASSWORD_METHOD)


@dataclass(frozen=True)
class LoginPolicy:
    max_failures: int = 5
    window: timedelta = timedelta(minutes=5)


class LoginRateLimited(RuntimeError):
    """Too many failed logins from one address."""


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class AccountService:
    def __init__(self, db: Database, policy: LoginPolicy | None = None) -> None:
        self.db = db
        self.policy = policy or LoginPolicy()

    def count_users(self) -> int:
        with self.db.session() as session:
            return session.scalar(select(func.count(User.id))) or 0

    def list_users(self) -> list[User]:
        with self.db.session() as session:
            return list(session.scalars(select(User).order_by(User.username)))

    def get_user(self, user_id: int) -> User | None:
        with self.db.session() as session:
            return session.get(User, user_id)

    def create_user(self, data: dict) -> User:
        spec = parse(UserCreate, data)
        with self.db.session() as session:
            if session.scalar(select(User).where(User.username == spec.username)):
                raise ValidationFailed.single("username", f"user {spec.username!r} already exists")
            user = User(
                username=spec.username,
                password_hash=generate_password_hash(spec.password, method=PASSWORD_METHOD),
                role=spec.role,
            )
            session.add(user)
            return user

    def authenticate(self, username: str, password: str, remote_addr: str) -> User | None:
        """The user when the password is right; records failures and enforces the rate limit."""
        self._check_rate(remote_addr)
        with self.db.session() as session:
            user = session.scalar(select(User).where(User.username == username))
            stored = user.password_hash if user else _DUMMY_HASH
            if check_password_hash(stored, password) and user is not None:
                session.execute(delete(LoginFailure).where(LoginFailure.remote_addr == remote_addr))
                return user
            session.add(LoginFailure(remote_addr=remote_addr, username=username[:63]))
        return None

    def _check_rate(self, remote_addr: str) -> None:
        since = datetime.now(UTC) - self.policy.window
        with self.db.session() as session:
            session.execute(delete(LoginFailure).where(LoginFailure.at < since))
            failures = session.scalar(
                select(func.count(LoginFailure.id)).where(LoginFailure.remote_addr == remote_addr)
            )
        if (failures or 0) >= self.policy.max_failures:
            minutes = int(self.policy.window.total_seconds() // 60)
            raise LoginRateLimited(
                f"too many failed logins from this address; try again in {minutes} minutes"
            )

    def create_token(self, user_id: int, data: dict) -> tuple[ApiToken, str]:
        """A new token; the plain text is returned once and never stored."""
        spec = parse(TokenCreate, data)
        plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self.db.session() as session:
            token = ApiToken(
                user_id=user_id, name=spec.name, token_hash=hash_token(plain), prefix=plain[:10]
            )
            session.add(token)
            session.flush()
            session.refresh(token)
            return token, plain

    def list_tokens(self, user_id: int | None = None) -> list[ApiToken]:
        with self.db.session() as session:
            query = select(ApiToken).order_by(ApiToken.id)
            if user_id is not None:
                query = query.where(ApiToken.user_id == user_id)
            return list(session.scalars(query))

    def revoke_token(self, token_id: int, user_id: int | None = None) -> ApiToken:
        with self.db.session() as session:
            token = session.get(ApiToken, token_id)
            if token is None or (user_id is not None and token.user_id != user_id):
                raise NotFound(f"no API token with id {token_id}")
            token.revoked_at = token.revoked_at or datetime.now(UTC)
            return token

    def user_for_token(self, plain: str) -> User | None:
        if not plain.startswith(TOKEN_PREFIX):
            return None
        digest = hash_token(plain)
        with self.db.session() as session:
            token = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest))
            if token is None or token.revoked_at is not None:
                return None
            if not hmac.compare_digest(token.token_hash, digest):
                return None
            now = datetime.now(UTC)
            last = token.last_used_at
            if last is None or now - as_utc(last) > timedelta(minutes=1):
                token.last_used_at = now
            return token.user
