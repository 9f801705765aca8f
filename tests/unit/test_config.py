from __future__ import annotations

import pytest

from ila.config import Environment, Settings
from ila.errors import ConfigurationError


def test_defaults_are_embedded_sqlite() -> None:
    s = Settings(_env_file=None)  # type: ignore[call-arg]
    assert s.is_sqlite
    assert s.check() is s


def test_production_refuses_demo_login() -> None:
    with pytest.raises(ConfigurationError, match="DEMO_LOGIN"):
        Settings(
            environment=Environment.PRODUCTION,
            demo_login=True,
            secret_key="a-real-secret-of-enough-length",
        ).check()


def test_production_refuses_default_secret() -> None:
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        Settings(environment=Environment.PRODUCTION, demo_login=False).check()


def test_production_with_safe_settings() -> None:
    s = Settings(
        environment=Environment.PRODUCTION,
        demo_login=False,
        secret_key="a-real-secret-of-enough-length",
        database_url="postgresql+psycopg://x@h/db",
    )
    assert not s.is_sqlite
    assert s.check() is s
