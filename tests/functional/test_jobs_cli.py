"""``ila jobs`` on fresh databases, as an operator (or cron) runs it."""

from __future__ import annotations

from typer.testing import CliRunner

from ila.cli.main import app

runner = CliRunner()


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_run_once_then_list(db_url: str) -> None:
    assert _run("db", "upgrade")[0] == 0
    code, out, _ = _run("jobs", "list")
    assert code == 0
    assert "at the first run" in out
    code, out, _ = _run("jobs", "run", "--once", "--job", "retention.run")
    assert code == 0, out
    assert "retention.run: ok — destroyed 0" in out
    code, out, _ = _run("jobs", "run", "--once", "--job", "retention.run")
    assert code == 0
    assert "nothing due" in out  # daily: not again at once
    code, out, _ = _run("jobs", "list")
    assert "retention.run" in out
    assert "destroyed 0" in out
    code, _out, err = _run("jobs", "run", "--once", "--job", "nope")
    assert code == 2
    assert "unknown_job" in err
