"""``ila staff``: the operator records what a person logging in with OpenID Connect works as."""

from __future__ import annotations

from sqlalchemy import select
from typer.testing import CliRunner

from ila.audit.models import AuditEvent
from ila.bootstrap import Container
from ila.cli.main import app
from ila.web.staff import active_staff
from tests import builders

runner = CliRunner()
FOREM = "0999200265"


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_grant_list_replace_and_revoke(db_url: str, app_container: Container) -> None:
    assert _run("db", "upgrade")[0] == 0
    niss = builders.fake_niss(9)
    grant = ("staff", "grant", niss, "--organisation", FOREM)
    code, out, err = _run(*grant, "--kind", "counsellor", "--function", "guidance_counsellor")
    assert code == 0, err
    assert "is counsellor of 0999200265" in out
    code, out, _ = _run("staff", "list")
    assert f"{niss}  counsellor  {FOREM}  guidance_counsellor" in out
    # a new grant replaces the earlier one
    code, out, err = _run(*grant, "--kind", "provider")
    assert code == 0, err
    with app_container.uow() as uow:
        staff = active_staff(uow.session, niss)
        assert staff is not None
        assert (staff.kind, staff.function) == ("provider", None)
        events = list(uow.session.scalars(select(AuditEvent).order_by(AuditEvent.seq)))
    assert [(e.action, e.resource, e.subject_national_number) for e in events] == [
        ("grant", "web_staff", niss),
        ("grant", "web_staff", niss),
    ]
    staff_id = events[-1].details["staff_id"]
    assert _run("staff", "revoke", str(staff_id))[0] == 0
    assert "no staff assignment" in _run("staff", "list")[1]
    for bad, code_text in (
        (("--kind", "counsellor"), "required"),  # a counsellor needs a function
        (("--kind", "janitor"), "unknown_code"),
    ):
        code, _out, err = _run(*grant, *bad)
        assert code == 2
        assert code_text in err
    code, _out, err = _run("staff", "grant", "123", "--kind", "operator", "--organisation", FOREM)
    assert code == 2
    assert "invalid_national_number" in err
    code, _out, err = _run("staff", "revoke", str(staff_id))
    assert code == 2
    assert "not_found" in err
