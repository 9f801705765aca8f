"""``ila retention`` on fresh databases, as an operator runs it."""

from __future__ import annotations

from typer.testing import CliRunner

from ila.cli.main import app

runner = CliRunner()


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_rules_dry_run_and_run(db_url: str) -> None:
    assert _run("db", "upgrade")[0] == 0
    code, out, _ = _run("retention", "rules")
    assert code == 0
    assert "fla.register" in out
    assert "api.idempotency_keys" in out
    code, out, _ = _run("retention", "run", "--dry-run")
    assert code == 0
    assert "not yet applicable" in out  # the FLA rule, before 2027
    assert "would destroy 0 rows" in out
    code, out, _ = _run("retention", "run", "--at", "2027-01-02", "--rule", "fla.register")
    assert code == 0, out
    assert "destroyed 0 rows" in out
    assert "not yet applicable" not in out
    code, _out, err = _run("retention", "run", "--rule", "nothing")
    assert code == 2
    assert "unknown_retention_rule" in err
    code, _out, err = _run("retention", "run", "--at", "tomorrow")
    assert code == 2
    assert "invalid_date" in err
    code, out, _ = _run("audit", "verify")
    assert code == 0
    assert "0 entries" in out
