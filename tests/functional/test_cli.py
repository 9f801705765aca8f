from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from typer.testing import CliRunner

from ila.bootstrap import Container
from ila.cli.main import app
from tests import builders

runner = CliRunner()


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_user_errors_are_one_line_without_traceback(db_url: str) -> None:
    assert _run("db", "upgrade")[0] == 0
    code, _out, err = _run(
        "rights", "explain", "85073003329", "--employer", "0403019261", "--year", "2024"
    )
    assert code == 2
    assert err.strip().count("\n") == 0
    assert "invalid_national_number" in err
    assert "Traceback" not in err
    code, _out, err = _run("rights", "compute", "--year", "2019")
    assert code == 2
    assert "invalid_period" in err


def test_database_not_upgraded_is_a_clear_error(db_url: str) -> None:
    code, _out, err = _run("rights", "compute", "--year", "2024")
    assert code == 2
    assert "ila db upgrade" in err
    assert "Traceback" not in err


def test_compute_explain_and_set(db_url: str, app_container: Container, tmp_path: Path) -> None:
    assert _run("db", "upgrade")[0] == 0
    en = builders.employer(app_container, fte="40")
    niss = builders.person(app_container, 1)
    other = builders.person(app_container, 2)
    builders.employ(app_container, niss, en, start=date(2024, 3, 29), fraction="0.8")
    builders.employ(app_container, other, en)

    code, out, _ = _run("rights", "compute", "--year", "2024")
    assert code == 0, out
    assert "2 worker-years (2 new, 0 changed, 0 unchanged, 0 opted out)" in out

    code, out, _ = _run("rights", "explain", niss, "--employer", en, "--year", "2024", "--json")
    assert code == 0
    body = json.loads(out)
    assert body["derivation"]["total"] == "10/3"
    assert body["entitlement"]["effective"]["days"] == "3.33"

    code, out, _ = _run("rights", "explain", niss, "--employer", en, "--year", "2024")
    assert code == 0
    assert "5 × 0.8 × 10/12 = 3.33" in out
    assert "statutory.ge20.2024" in out

    code, out, _ = _run(
        "rights",
        "set",
        niss,
        "--employer",
        en,
        "--year",
        "2024",
        "--days",
        "4",
        "--reason",
        "policy",
    )
    assert code == 0
    assert "accepted" in out

    sheet = tmp_path / "rights.csv"
    sheet.write_text(
        f"national_number,days,reason\n{other},6,bonus\n85073003329,1,bad\n", encoding="utf-8"
    )
    code, out, _ = _run(
        "rights", "set", "--employer", en, "--year", "2024", "--reason", "x", "--file", str(sheet)
    )
    assert code == 1
    assert "accepted" in out
    assert "invalid_national_number" in out

    code, out, _ = _run(
        "rights",
        "explain",
        other,
        "--employer",
        en,
        "--year",
        "2024",
        "--json",
        "--as-of",
        "2000-01-01",
    )
    assert code == 0
    assert json.loads(out)["entitlement"]["status"] == "preview"  # nothing recorded in 2000
    code, _out, err = _run(
        "rights", "explain", other, "--employer", en, "--year", "2024", "--as-of", "yesterday"
    )
    assert code == 2
    assert "invalid_date" in err


def test_set_needs_a_worker_or_a_file(db_url: str) -> None:
    code, _out, err = _run(
        "rights", "set", "--employer", "0403019261", "--year", "2024", "--reason", "x"
    )
    assert code == 2
    assert "national number or --file" in err


def test_demo_load_is_idempotent_and_explainable(db_url: str) -> None:
    from ila.demo import DEMO_EMPLOYER_PC200, DEMO_WORKER_NISS

    assert _run("db", "upgrade")[0] == 0
    code, out, _ = _run("demo", "load")
    assert code == 0
    assert "demo dataset loaded: 4 employers" in out
    code, out, _ = _run("demo", "load")
    assert (code, out.splitlines()[0]) == (0, "demo dataset already loaded; nothing added")
    assert "0 authorisations loaded or changed, 0 directory entries" in " ".join(out.split())
    assert _run("rights", "compute", "--year", "2024")[0] == 0
    code, out, _ = _run(
        "rights", "explain", DEMO_WORKER_NISS, "--employer", DEMO_EMPLOYER_PC200, "--year", "2024"
    )
    assert code == 0
    assert "3 × 0.8 × 10/12 = 2.00" in out


def test_verify_and_opt_out_commands(db_url: str, app_container: Container) -> None:
    assert _run("db", "upgrade")[0] == 0
    en = builders.employer(app_container, fte="40")
    niss = builders.person(app_container, 1)
    builders.employ(app_container, niss, en)
    assert _run("rights", "compute", "--year", "2024")[0] == 0

    code, out, _ = _run("rights", "verify", "--employer", en, "--year", "2024", niss)
    assert code == 0, out
    assert "accepted" in out
    code, out, _ = _run("rights", "verify", "--employer", en, "--year", "2024", "--all")
    assert (code, "unchanged" in out) == (0, True)
    code, out, _ = _run("rights", "verify", "--employer", en, "--year", "2024", "12345678901")
    assert (code, "invalid_national_number" in out) == (1, True)
    assert _run("rights", "verify", "--employer", en, "--year", "2024")[0] == 2

    code, out, _ = _run(
        "rights", "opt-out", "--employer", en, "--year", "2024", "--reason", "own accounts"
    )
    assert code == 0, out
    opt_out_id = out.strip()
    code, _, err = _run(
        "rights", "opt-out", "--employer", en, "--year", "2024", "--reason", "twice"
    )
    assert (code, "already_opted_out" in err) == (2, True)
    code, out, _ = _run("rights", "compute", "--year", "2024")
    assert "1 opted out" in out
    code, out, _ = _run(
        "rights", "opt-out-withdraw", opt_out_id, "--employer", en, "--reason", "back"
    )
    assert (code, f"opt-out {opt_out_id} withdrawn" in out) == (0, True)
