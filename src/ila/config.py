"""Typed settings, read from the environment (``ILA_*``) and an optional ``.env`` file.

Unsafe combinations are refused outside development mode (see :meth:`Settings.check`).
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from ila.errors import ConfigurationError


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


DEFAULT_SQLITE_PATH = Path("var") / "ila.sqlite3"


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
        return self
