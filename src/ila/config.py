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

    # --- web interface (issue 5) ---
    oidc_issuer: str | None = Field(
        default=None,
        description="OpenID provider of the web login (the federal authentication service in "
        "production); none: only the demo persona login, when enabled.",
    )
    oidc_client_id: str = "ila"
    oidc_client_secret: str = ""
    oidc_scopes: str = "openid profile egovnrn"
    oidc_acr_values: str = Field(
        default="urn:be:fedict:iam:fas:Level500",
        description="Assurance level(s) asked for, space-separated.",
    )
    oidc_accepted_acr: list[str] = Field(
        default=["urn:be:fedict:iam:fas:Level500"],
        description="Assurance levels the platform accepts in the ID token's acr claim.",
    )
    oidc_national_number_claim: str = "egovNRN"
    # --- a person's own API access (ADR 0018): JWT access tokens of the OIDC issuer ---
    api_resource: str | None = Field(
        default=None,
        description="This API's resource identifier (RFC 8707), the `aud` a person's access "
        "token must name; none: ILA_PUBLIC_URL + /api/v1.",
    )
    api_person_token_leeway_seconds: int = Field(
        default=30, ge=0, le=300, description="Clock skew tolerated on a person token's exp/nbf."
    )
    web_session_max_age: int = Field(default=8 * 3600, ge=300, le=7 * 24 * 3600)

    # --- audit chain, retention, webhooks (issue 6) ---
    audit_signing_key_file: Path | None = Field(
        default=None,
        description="PEM Ed25519 private key signing audit checkpoints; without it, a key "
        "derived from ILA_SECRET_KEY (which production refuses to leave at its default).",
    )
    audit_checkpoint_every: int = Field(
        default=1000,
        ge=1,
        description="`ila audit checkpoint --if-due` signs after this many new entries.",
    )
    scheduler_embedded: bool = Field(
        default=True,
        description="`ila serve` runs the scheduled jobs (webhooks, audit checkpoints, "
        "retention) in a background thread; several servers may, the jobs are claimed.",
    )
    webhook_resolver: str | None = Field(
        default="ila.exchange.directory:subscribers_for",
        description="`module:function` returning the enterprise numbers to notify about a "
        "person (subscribers_for); none: events wait in the outbox.",
    )
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    webhook_max_attempts: int = Field(default=24, ge=1, le=100)
    webhook_backoff_seconds: float = Field(
        default=5.0, gt=0, description="First retry delay; doubles at each attempt."
    )
    webhook_max_backoff_seconds: float = Field(default=6 * 3600, gt=0)

    @property
    def token_endpoint(self) -> str:
        return f"{self.public_url.rstrip('/')}/api/v1/oauth/token"

    @property
    def api_resource_id(self) -> str:
        return self.api_resource or f"{self.public_url.rstrip('/')}/api/v1"

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
            if self.oidc_issuer is not None and not self.oidc_issuer.startswith("https://"):
                raise ConfigurationError("ILA_OIDC_ISSUER must be an https:// URL in production")
        return self
