"""The schema is built by migrations; the models and the migrations must agree."""

from __future__ import annotations

from sqlalchemy import Engine, inspect

from ila.db.migrate import downgrade, pending_differences, upgrade
from ila.db.models import metadata
from ila.db.uow import make_engine


def test_models_match_migrations(engine: Engine) -> None:
    assert pending_differences(engine) == []


def test_downgrade_and_upgrade_round_trip(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        upgrade(engine)
        assert set(metadata.tables) <= set(inspect(engine).get_table_names())
        downgrade(engine)
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        upgrade(engine)
        assert pending_differences(engine) == []
    finally:
        engine.dispose()
