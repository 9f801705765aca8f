"""The schema is built by migrations; the models and the migrations must agree."""

from __future__ import annotations

from sqlalchemy import Engine, inspect

from ila.db.migrate import downgrade, pending_differences, upgrade
from ila.db.models import metadata
from ila.db.uow import make_engine

QUEUE_PREFIX = "procrastinate_"
"""procrastinate's tables (migration 0011, PostgreSQL only, ADR 0017) belong to procrastinate,
not to our models: their differences are left out, and nothing else is."""


def _ours(engine: Engine) -> list[object]:
    kept: list[object] = []
    for diff in pending_differences(engine):
        if isinstance(diff, tuple) and diff[0] in {"remove_table", "remove_index"}:
            table = diff[1] if diff[0] == "remove_table" else diff[1].table
            if table.name.startswith(QUEUE_PREFIX):
                continue
        kept.append(diff)
    return kept


def test_models_match_migrations(engine: Engine) -> None:
    assert _ours(engine) == []


def test_downgrade_and_upgrade_round_trip(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        upgrade(engine)
        tables = set(inspect(engine).get_table_names())
        assert set(metadata.tables) <= tables
        queue = {"procrastinate_jobs", "procrastinate_workers", "procrastinate_events"}
        assert queue <= tables if engine.dialect.name == "postgresql" else not queue & tables
        downgrade(engine)
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        upgrade(engine)
        assert _ours(engine) == []
    finally:
        engine.dispose()
