"""The schema is built by migrations; the models and the migrations must agree."""

from __future__ import annotations

from sqlalchemy import Engine, inspect, text

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


def test_applied_record_ids_move_to_their_results_and_back(db_url: str) -> None:
    """0016: the sender and digest of every applied record id end on the accepted result of
    the same record (and nowhere else); downgrading brings the table of applied ids back."""
    engine = make_engine(db_url)
    batch = (
        "INSERT INTO batches (id, ticket, sender, reference, channel, actor, scopes, status, "
        "file_name, file_bytes, file_sha256, done, accepted, unchanged, rejected, received_at, "
        "attempts) VALUES (:id, :ticket, '0800000174', :ticket, 'cli', 'cli:x', '', 'done', "
        "'f.xml', 1, '', 0, 0, 0, 0, '2026-11-24 10:00:00', 1)"
    )
    result = (
        "INSERT INTO batch_records (batch_id, seq, line, record_id, kind, status, training_id, "
        "version) VALUES (:batch, :seq, :seq, :rid, 'trainingCreate', :status, :tid, 1)"
    )
    applied = (
        "INSERT INTO batch_sender_records (sender, record_id, digest, batch_id, training_id, "
        "version) VALUES ('0800000174', :rid, :digest, :batch, :tid, 1)"
    )
    try:
        upgrade(engine, "0015")
        with engine.begin() as conn:
            for n in (1, 2):
                conn.execute(text(batch), {"id": n, "ticket": f"t{n}"})
            # batch 1 applies a and b; batch 2 sends a again (unchanged) and refuses c
            conn.execute(
                text(result), {"batch": 1, "seq": 1, "rid": "a", "status": "accepted", "tid": 7}
            )
            conn.execute(
                text(result), {"batch": 1, "seq": 2, "rid": "b", "status": "accepted", "tid": 8}
            )
            conn.execute(
                text(result), {"batch": 2, "seq": 1, "rid": "a", "status": "unchanged", "tid": 7}
            )
            conn.execute(
                text(result), {"batch": 2, "seq": 2, "rid": "c", "status": "rejected", "tid": None}
            )
            for rid, tid in (("a", 7), ("b", 8)):
                conn.execute(
                    text(applied), {"rid": rid, "digest": rid * 32, "batch": 1, "tid": tid}
                )
        upgrade(engine)
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT batch_id, record_id, status, sender, digest FROM batch_records "
                    "ORDER BY batch_id, seq"
                )
            ).all()
        assert [tuple(r) for r in rows] == [
            (1, "a", "accepted", "0800000174", "a" * 32),
            (1, "b", "accepted", "0800000174", "b" * 32),
            (2, "a", "unchanged", None, None),
            (2, "c", "rejected", None, None),
        ]
        assert "batch_sender_records" not in inspect(engine).get_table_names()
        downgrade(engine, "0015")
        with engine.connect() as conn:
            back = conn.execute(
                text(
                    "SELECT sender, record_id, digest, batch_id, training_id, version "
                    "FROM batch_sender_records ORDER BY record_id"
                )
            ).all()
        assert [tuple(r) for r in back] == [
            ("0800000174", "a", "a" * 32, 1, 7, 1),
            ("0800000174", "b", "b" * 32, 1, 8, 1),
        ]
        upgrade(engine)
        assert _ours(engine) == []
    finally:
        engine.dispose()
