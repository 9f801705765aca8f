"""``ila sources`` and ``ila flows`` on fresh databases (SQLite and PostgreSQL), as a user runs
them: the simulated sources are the same for the same seed, so every run agrees."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import func, select
from stdnum.be import nn
from typer.testing import CliRunner

from ila.audit.models import AuditEvent
from ila.bootstrap import Container
from ila.cli.main import app
from ila.employment.models import Employment
from ila.flows.models import FpieComputation
from ila.sources.employment import Sector, SimulatedEmploymentSource
from tests import builders

runner = CliRunner()
FPIE = [
    "--first-month",
    "2026-01",
    "--last-month",
    "2026-03",
    "--gross",
    "2400",
    "--organisation",
    "0999200463",
    "--role",
    "fpie_pedagogical_adviser",
    "--legal-context",
    "csi-22-086-fpie",
]


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def _count(container: Container, model: type) -> int:
    with container.uow() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(model)) or 0)


def _events(container: Container) -> list[AuditEvent]:
    with container.uow() as uow:
        return list(uow.session.scalars(select(AuditEvent).order_by(AuditEvent.id)))


def test_import_employment_is_idempotent(db_url: str, app_container: Container) -> None:
    assert _run("db", "upgrade")[0] == 0
    code, _out, err = _run("sources", "import-employment")
    assert code == 2
    assert "--all" in err
    code, out, _err = _run("sources", "import-employment", "--all", "--compute-year", "2024")
    assert code == 0, out
    assert "skipped" in out  # the public-sector employer
    assert "rights 2024" in out
    created = _count(app_container, Employment)
    assert created > 0
    source = SimulatedEmploymentSource.generated(2024)
    private = [en for en in source.employers() if source.sectors[en] is Sector.PRIVATE]
    code, out, _err = _run("sources", "import-employment", "--employer", private[0])
    assert code == 0
    assert "0 employments new, 0 updated" in out
    assert _count(app_container, Employment) == created


def test_fpie_table_json_and_refusal(db_url: str, app_container: Container) -> None:
    assert _run("db", "upgrade")[0] == 0
    niss = builders.fake_niss(1)
    code, _out, err = _run("flows", "fpie", niss, *FPIE)
    assert code == 2  # the authorisations are not loaded yet
    assert "unknown_legal_context" in err
    assert _run("authorisations", "load")[0] == 0
    code, _out, err = _run("flows", "fpie", niss, *FPIE)
    assert code == 2  # Bruxelles Formation holds no dossier for this trainee
    assert "no_directory_entry" in err
    register = ("directory", "register", niss, "--institution", "0999200463")
    code, _out, err = _run(*register, "--capacity", "fpie_candidate", "--from", "2026-01-01")
    assert code == 0, err
    code, out, err = _run("flows", "fpie", niss, *FPIE)
    assert code == 0, err
    assert "326.75" not in out  # 2400 × 13.07 % = 313.68
    assert "313.68" in out
    code, out, err = _run("flows", "fpie", niss, *FPIE, "--json")
    assert code == 0, err
    data = json.loads(out)
    assert [m["onss"] for m in data["result"]["months"]] == ["313.68"] * 3
    assert _count(app_container, FpieComputation) == 2
    computed = [
        e for e in _events(app_container) if (e.action, e.resource) == ("compute", "fpie_allowance")
    ]
    assert len(computed) == 2
    refused = [*FPIE[:-3], "guidance_counsellor", *FPIE[-2:]]
    code, _out, err = _run("flows", "fpie", niss, *refused)
    assert code == 2
    assert "role_not_allowed" in err
    assert _count(app_container, FpieComputation) == 2
    with app_container.uow() as uow:
        refusal = uow.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert refusal is not None
    assert (refusal.action, refusal.details["refused"]) == ("refused", "role_not_allowed")
    assert refusal.subject_national_number == niss


def test_career_break_table_json_and_preconditions(db_url: str) -> None:
    assert _run("db", "upgrade")[0] == 0
    source = SimulatedEmploymentSource.generated(2024)
    adult, born = next(
        (line.national_number, birth)
        for line in source.lines.values()
        if (birth := nn.get_birth_date(line.national_number)).year < 2006
    )
    code, out, err = _run("flows", "career-break", adult, "--language", "en", "--on", "2026-06-01")
    assert code == 0, err
    assert f"{adult} (private)" in out
    assert "Full time" in out
    assert "Palliative" in out
    code, out, err = _run("flows", "career-break", adult, "--json", "--on", "2026-06-01")
    assert code == 0, err
    data = json.loads(out)
    assert data["shown"] is True
    assert len(data["reasons"]) == 7
    assert data["language"] == "fr"
    day_before_18 = born.replace(year=born.year + 18) - timedelta(days=1)
    code, out, _err = _run("flows", "career-break", adult, "--on", day_before_18.isoformat())
    assert code == 0
    assert "too_young" in out
    code, _out, err = _run("flows", "career-break", "12345678901")
    assert code == 2
    assert "invalid_national_number" in err
