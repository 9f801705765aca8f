"""``ila webhooks`` on fresh databases: subscribe, deliver to a real receiver on loopback,
inspect the delivery state, retry, unsubscribe."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import update
from typer.testing import CliRunner

from ila.bootstrap import Container
from ila.cli.main import app
from ila.exchange.outbox import emit
from ila.exchange.webhooks import FAILED, WebhookDelivery
from tests.builders import fake_enterprise
from tests.integration.test_webhooks import ORG_A, P1, Receiver

runner = CliRunner()


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_subscribe_deliver_inspect(
    db_url: str, app_container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _run("db", "upgrade")[0] == 0
    receiver = Receiver()
    try:
        code, out, _ = _run("webhooks", "subscribe", "--organisation", ORG_A, "--url", receiver.url)
        assert code == 0
        sub_id, secret = out.split()
        assert secret.startswith("whsec_")
        code, _out, err = _run(
            "webhooks", "subscribe", "--organisation", fake_enterprise(9), "--url", "ftp://x"
        )
        assert code == 2
        assert "invalid_url" in err
        code, out, _ = _run("webhooks", "list")
        assert code == 0
        assert ORG_A in out
        assert "active" in out
        with app_container.uow() as uow:
            event_id = emit(uow.session, "be.ila.account.changed", P1, {"training": 1})
            uow.commit()

        monkeypatch.setenv("ILA_WEBHOOK_RESOLVER", "")  # the default is the directory's
        code, out, err = _run("webhooks", "deliver", "--once")
        assert (code, "ILA_WEBHOOK_RESOLVER is not set" in err) == (0, True)
        assert "0 dispatched" in out
        monkeypatch.setenv("ILA_WEBHOOK_RESOLVER", "tests.integration.test_webhooks:resolver")
        code, out, _ = _run("webhooks", "deliver", "--once")
        assert code == 0
        assert "1 dispatched, 1 attempted, 1 delivered" in out
        assert receiver.ids() == [event_id]
        code, out, _ = _run("webhooks", "deliveries", "--status", "delivered")
        assert code == 0
        assert "delivered" in out
        code, out, _ = _run("webhooks", "deliveries", "--json")
        (row,) = json.loads(out)
        assert (row["event_id"], row["status"], row["attempts"]) == (event_id, "delivered", 1)

        with app_container.engine.begin() as conn:
            conn.execute(update(WebhookDelivery).values(status=FAILED, last_error="HTTP 503"))
        code, out, _ = _run("webhooks", "deliveries", "--json", "--status", "failed")
        assert json.loads(out)[0]["last_error"] == "HTTP 503"
        assert _run("webhooks", "retry", "1")[0] == 0
        assert _run("webhooks", "retry", "1")[0] == 2  # no longer failed
        receiver.statuses = [500]
        code, out, err = _run("webhooks", "deliver", "--once")
        assert "1 to retry" in out
        assert "HTTP 500" in err
        code, out, _ = _run("webhooks", "unsubscribe", sub_id)
        assert code == 0
        code, out, _ = _run("webhooks", "list")
        assert "disabled" in out
        assert _run("webhooks", "unsubscribe", sub_id)[0] == 2
    finally:
        receiver.stop()
