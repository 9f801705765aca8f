"""Typed settings, read from the environment (``ILA_*``) and an optional ``.env`` file.

Unsafe combinations are refused outside development mode (see :meth:`Settings.check`).
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from ila.errors import ConfigurationError


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


DEFAULT_SQLITE_PATH = Path("var") / "ila.sqlite3"
_LOOPBACK = ("127.0.0.1", "localhost", "::1")  # a local-only deployment needs no TLS


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ILA_", env_file=".env", extra="ignore")

    environment: Environment = Environment.DEVELOPMENT
    database_url: str = Field(
        default=f"sqlite:///{DEFAULT_SQLITE_PATH}",
        description="SQLAlchemy URL: a SQLite file by default, postgresql+psycopg://... in "
        "production.",
    )
    database_echo: bool = False
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    demo_login: bool = Field(default=True, description="Persona login for the embedded demo.")
    secret_key: str = Field(default="dev-only-insecure-secret-key-change-me", min_length=16)
    rules_dir: Path | None = Field(
        default=None, description="Extra directory of rule files overriding the shipped ones."
    )

    public_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Base URL clients use to reach the platform; the token endpoint's URL "
        "(this + /api/v1/oauth/token) is the audience client assertions must name.",
    )
    api_token_ttl_seconds: int = Field(
        default=300, ge=30, le=3600, description="Lifetime of API access tokens."
    )
    api_max_body_bytes: int = Field(
        default=1024 * 1024, ge=1024, description="Largest request body the API reads."
    )
    api_rate_per_second: float = Field(
        default=20.0, gt=0, description="Sustained API requests per second per client."
    )
    api_rate_burst: int = Field(
        default=100, ge=1, description="API requests a client may send at once above the rate."
    )

    @property
    def token_endpoint(self) -> str:
        return f"{self.public_url.rstrip('/')}/api/v1/oauth/token"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def check(self) -> Settings:
        """Refuse unsafe settings outside development and test."""
        if self.environment is Environment.PRODUCTION:
            if self.demo_login:
                raise ConfigurationError("ILA_DEMO_LOGIN must be false in production")
            if self.secret_key.startswith("dev-only"):
                raise ConfigurationError("ILA_SECRET_KEY must be set in production")
            url = urlsplit(self.public_url)
            if url.scheme != "https" and url.hostname not in _LOOPBACK:
                raise ConfigurationError("ILA_PUBLIC_URL must be an https:// URL in production")
        return self
