"""``ila audit`` on fresh databases: verify names the first bad entry with a non-zero exit,
concurrent writers keep one linear chain, the migration chains rows written before it."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from ila.audit.service import record_event
from ila.bootstrap import Container
from ila.cli.main import app
from ila.db.migrate import upgrade
from ila.db.uow import make_engine

runner = CliRunner()


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def _events(container: Container, n: int, actor: str = "test") -> None:
    for i in range(n):
        with container.uow() as uow:
            record_event(
                uow.session,
                actor=actor,
                action="test",
                resource="thing",
                request_id=f"{actor}-{i}",
                details={"i": i},
            )
            uow.commit()


def test_verify_and_checkpoint_from_the_command_line(
    db_url: str, app_container: Container, tmp_path: Path
) -> None:
    assert _run("db", "upgrade")[0] == 0
    code, out, _ = _run("audit", "verify")
    assert code == 0
    assert "0 entries" in out
    _events(app_container, 5)
    code, out, _ = _run("audit", "checkpoint", "--if-due")
    assert code == 0
    assert "no checkpoint: 5 new entries" in out  # ILA_AUDIT_CHECKPOINT_EVERY is 1000
    code, out, _ = _run("audit", "checkpoint")
    assert code == 0
    assert json.loads(out)["seq"] == 5
    code, out, _ = _run("audit", "verify")
    assert code == 0, out
    assert "5 entries (seq 1–5), 1 signed checkpoints verified" in out

    with app_container.engine.begin() as conn:
        conn.execute(text("UPDATE audit_events SET request_id = 'x' WHERE seq = 3"))
    code, _out, err = _run("audit", "verify")
    assert code == 1
    assert "first bad entry seq 3" in err
    assert "altered" in err
    code, out, _ = _run("audit", "verify", "--json")
    assert code == 1
    body = json.loads(out)
    assert body["intact"] is False
    assert body["problems"][0]["seq"] == 3

    with app_container.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_events WHERE seq = 2"))
    code, _out, err = _run("audit", "verify")
    assert code == 1
    assert "first bad entry seq 2: deleted" in err
    assert "further problem" in err


def test_checkpoints_with_a_key_file(
    db_url: str, app_container: Container, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _run("db", "upgrade")[0] == 0
    key = tmp_path / "audit.pem"
    code, public, _ = _run("audit", "keygen", str(key))
    assert code == 0
    assert public.startswith("-----BEGIN PUBLIC KEY-----")
    assert key.stat().st_mode & 0o777 == 0o600
    assert _run("audit", "keygen", str(key))[0] == 2  # never overwritten
    monkeypatch.setenv("ILA_AUDIT_SIGNING_KEY_FILE", str(key))
    assert _run("audit", "public-key")[1] == public
    _events(app_container, 2)
    assert _run("audit", "checkpoint")[0] == 0
    assert _run("audit", "verify")[0] == 0
    # another key configured: the old checkpoint is trusted only with its public key
    other = tmp_path / "other.pem"
    assert _run("audit", "keygen", str(other))[0] == 0
    (tmp_path / "old.pub").write_text(public)
    monkeypatch.setenv("ILA_AUDIT_SIGNING_KEY_FILE", str(other))
    code, _out, err = _run("audit", "verify")
    assert code == 1
    assert "unknown key" in err
    assert _run("audit", "verify", "--public-key", str(tmp_path / "old.pub"))[0] == 0
    (tmp_path / "bad.pem").write_text("not a key")
    code, _out, err = _run("audit", "verify", "--public-key", str(tmp_path / "bad.pem"))
    assert code == 2
    assert "not a PEM key" in err
    monkeypatch.setenv("ILA_AUDIT_SIGNING_KEY_FILE", str(tmp_path / "bad.pem"))
    code, _out, err = _run("audit", "checkpoint")
    assert code == 2
    assert "cannot read the audit signing key" in err


def test_concurrent_writers_keep_one_linear_chain(db_url: str, app_container: Container) -> None:
    upgrade(app_container.engine)
    errors: list[BaseException] = []

    def writer(name: str) -> None:
        try:
            _events(app_container, 40, actor=name)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(f"w{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    code, out, _ = _run("audit", "verify")
    assert code == 0, out
    assert "80 entries (seq 1–80)" in out


def test_the_migration_chains_existing_rows(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        upgrade(engine, "0006")
        with engine.begin() as conn:
            for i in range(3):
                conn.execute(
                    text(
                        "INSERT INTO audit_events (occurred_at, actor, organisation, action, "
                        "resource, request_id, details) VALUES (:at, 'c', '0999000123', 'read', "
                        "'account', :r, :d)"
                    ),
                    {
                        "at": "2026-11-20 10:00:00.123456"
                        if engine.dialect.name == "sqlite"
                        else "2026-11-20 10:00:00.123456+00",
                        "r": f"old-{i}",
                        "d": json.dumps({"year": 2024, "listed": i}),
                    },
                )
        upgrade(engine)
        code, out, _ = _run("audit", "verify")
        assert code == 0, out
        assert "3 entries (seq 1–3)" in out
    finally:
        engine.dispose()
