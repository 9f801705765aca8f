"""`ila clients …` and `ila mandates …` on a fresh database (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from pathlib import Path

from joserfc.jwk import ECKey, OKPKey, RSAKey
from typer.testing import CliRunner

from ila.bootstrap import Container
from ila.cli.main import app
from tests import builders

runner = CliRunner()


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_clients_add_list_revoke(
    db_url: str, tmp_path: Path, keys: dict[str, RSAKey | ECKey | OKPKey]
) -> None:
    assert _run("db", "upgrade")[0] == 0
    org = builders.fake_enterprise(31)
    pem = tmp_path / "client.pem"
    pem.write_bytes(keys["rsa"].as_pem(private=False))
    jwk = tmp_path / "client.jwk"
    jwk.write_text(json.dumps(keys["okp"].as_dict(private=False)), encoding="utf-8")

    code, out, err = _run(
        "clients",
        "add",
        "--organisation",
        org,
        "--name",
        "Payroll [bot]",
        "--public-key",
        str(pem),
        "--scope",
        "employer:rights:read",
        "--scope",
        "employer:rights:write",
    )
    assert code == 0, err
    first = out.strip()
    code, out, err = _run(
        "clients",
        "add",
        "--organisation",
        org,
        "--name",
        "Second",
        "--public-key",
        str(jwk),
        "--scope",
        "employer:trainings:write",
    )
    assert code == 0, err
    second = out.strip()

    code, out, _ = _run("clients", "list", "--organisation", org)
    assert code == 0
    assert first in out
    assert second in out

    assert _run("clients", "revoke", second, "--reason", "rotated")[0] == 0
    code, _, err = _run("clients", "revoke", second)
    assert code == 2
    assert "already_revoked" in err
    code, out, _ = _run("clients", "list")
    assert first in out
    assert "revoked" in out

    private = tmp_path / "private.pem"
    private.write_bytes(keys["ec"].as_pem(private=True))
    for args, expected in (
        (("--public-key", str(private), "--scope", "employer:rights:read"), "private key"),
        (("--public-key", str(pem), "--scope", "employer:everything"), "unknown_code"),
        (
            ("--public-key", str(tmp_path / "missing.pem"), "--scope", "employer:rights:read"),
            "unreadable_file",
        ),
    ):
        code, _, err = _run("clients", "add", "--organisation", org, "--name", "x", *args)
        assert code == 2, err
        assert expected in err
        assert "Traceback" not in err
    assert "unknown_code" not in _run("clients", "list")[2]


def test_mandates_grant_list_revoke(db_url: str, app_container: Container) -> None:
    assert _run("db", "upgrade")[0] == 0
    employer = builders.employer(app_container, 32, fte="12")
    provider = builders.fake_enterprise(33)

    code, out, err = _run(
        "mandates",
        "grant",
        "--employer",
        employer,
        "--provider",
        provider,
        "--kind",
        "training_provider",
        "--from",
        "2024-01-01",
        "--to",
        "2026-12-31",
    )
    assert code == 0, err
    mandate_id = out.strip()

    code, out, _ = _run("mandates", "list", "--employer", employer)
    assert code == 0
    assert "training_provider" in out
    assert "2026-12-31" in out

    assert _run("mandates", "revoke", mandate_id, "--reason", "ended")[0] == 0
    code, out, _ = _run("mandates", "list", "--employer", employer)
    assert "ended" in out

    code, _, err = _run(
        "mandates",
        "grant",
        "--employer",
        employer,
        "--provider",
        provider,
        "--kind",
        "training_provider",
        "--from",
        "2024-13-01",
    )
    assert code == 2
    assert "invalid_date" in err
    code, _, err = _run(
        "mandates",
        "grant",
        "--employer",
        employer,
        "--provider",
        provider,
        "--kind",
        "notary",
        "--from",
        "2024-01-01",
    )
    assert code == 2
    assert "unknown_code" in err
