"""``ila authorisations`` and ``ila directory`` on fresh databases (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from ila.cli.main import app
from ila.exchange.service import AUTHORISATIONS_FILE
from tests import builders

runner = CliRunner()
VDAB = "0999200166"


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_authorisations_load_and_list(db_url: str, tmp_path: Path) -> None:
    assert _run("db", "upgrade")[0] == 0
    code, out, _ = _run("authorisations", "load")
    assert code == 0
    assert out.count(": created") == 4
    code, out, _ = _run("authorisations", "load")
    assert out.count(": unchanged") == 4
    changed = tmp_path / "changed.toml"
    changed.write_text(
        AUTHORISATIONS_FILE.read_text("utf-8").replace(
            "[authorisations.csi-24-012-career-break]\nversion = 1",
            "[authorisations.csi-24-012-career-break]\nversion = 2\nvalid_to = 2030-12-31",
        ),
        encoding="utf-8",
    )
    code, out, _ = _run("authorisations", "load", "--file", str(changed))
    assert code == 0
    assert "csi-24-012-career-break v2: new version" in out
    code, out, _ = _run("authorisations", "list")
    assert code == 0
    assert "22/086" in out
    assert "fpie_calculation P10Y" in out
    code, out, _ = _run("authorisations", "list", "--history", "--json")
    rows = json.loads(out)
    assert len(rows) == 5
    assert sorted(r["version"] for r in rows if r["id"] == "csi-24-012-career-break") == [1, 2]
    code, _, err = _run("authorisations", "load", "--file", str(tmp_path / "missing.toml"))
    assert code == 2
    assert "unreadable_file" in err
    broken = tmp_path / "broken.toml"
    broken.write_text("[[[", encoding="utf-8")
    code, _, err = _run("authorisations", "load", "--file", str(broken))
    assert code == 2
    assert "invalid_authorisation" in err


def test_directory_commands(db_url: str) -> None:
    assert _run("db", "upgrade")[0] == 0
    assert _run("authorisations", "load")[0] == 0
    niss = builders.fake_niss(1)
    base = ("directory", "register", "--institution", VDAB, niss, "--capacity")
    code, out, _ = _run(*base, "jobseeker_guidance", "--from", "2026-01-01", "--to", "2026-12-31")
    assert code == 0, out
    assert out.startswith("registered entry 1")
    code, out, _ = _run(*base, "jobseeker_guidance", "--from", "2026-03-01", "--to", "2026-04-01")
    assert out.startswith("already covered by entry 1")
    code, _, err = _run(*base, "jobseeker_guidance", "--from", "2026-06-01")
    assert code == 2
    assert "overlapping_entry" in err
    code, out, _ = _run("directory", "list", "--institution", VDAB)
    assert code == 0
    assert niss in out
    assert "active" in out
    code, out, _ = _run(
        "directory", "unregister", "--institution", VDAB, "1", "--end", "2026-05-31"
    )
    assert code == 0
    assert "ends on 2026-05-31" in out
    code, out, _ = _run(
        "directory", "list", "--institution", VDAB, "--national-number", niss, "--limit", "1"
    )
    assert "unregistered" in out
    code, out, _ = _run("directory", "list", "--institution", VDAB, "--active-on", "2026-07-01")
    assert niss not in out
    code, _, err = _run("directory", "unregister", "--institution", VDAB, "1")
    assert code == 2
    assert "already_unregistered" in err
    assert _run(*base, "trainee", "--from", "2026-01-01")[0] == 0
    assert _run(*base, "fpie_candidate", "--from", "2026-01-01")[0] == 2  # not VDAB's
    code, out, _ = _run("directory", "list", "--institution", VDAB, "--limit", "1")
    assert "more entries" in out
