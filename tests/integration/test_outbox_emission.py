"""A change to a person's account puts a thin event in the outbox, in the change's own
transaction, and the person directory decides which institutions are told about it."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select

from ila.bootstrap import Container
from ila.exchange.demo import ACTIRIS, VDAB
from ila.exchange.directory import register_entry, subscribers_for
from ila.exchange.outbox import OutboxEvent
from ila.exchange.service import load_authorisations
from ila.exchange.webhooks import WebhookDelivery, dispatch, subscribe
from ila.rights.service import SetRight, set_rights
from ila.trainings.domain import Source
from ila.trainings.service import cancel_training, record_training, rectify_training
from tests import builders

DATA = builders.training_data(
    title="Welding", start_date=date(2024, 5, 2), end_date=date(2024, 5, 2)
)


def _events(container: Container) -> list[tuple[str, str | None, dict[str, object]]]:
    with container.uow() as uow:
        return [
            (e.type, e.subject, dict(e.data))
            for e in uow.session.scalars(select(OutboxEvent).order_by(OutboxEvent.id))
        ]


def test_changes_emit_thin_events_and_the_directory_picks_the_receivers(
    container: Container,
) -> None:
    en = builders.employer(container)
    guided, other = builders.person(container, 1), builders.person(container, 2)
    for niss in (guided, other):
        builders.employ(container, niss, en)
    load_authorisations(container.uow(), actor="test")
    register_entry(
        container.uow(),
        institution=VDAB,
        national_number=guided,
        capacity="jobseeker_guidance",
        valid_from=date(2024, 1, 1),
        valid_to=None,
        actor="test",
    )
    with container.uow() as uow:
        subscribe(uow.session, organisation=VDAB, url="https://vdab.example/hook", actor="t")
        subscribe(uow.session, organisation=ACTIRIS, url="https://actiris.example/h", actor="t")
        uow.commit()

    recorded = record_training(
        container.uow(),
        actor="hr",
        source=Source.EMPLOYER,
        sender=en,
        sender_record_id="w-1",
        national_number=guided,
        enterprise_number=en,
        data=DATA,
    )
    rectify_training(
        container.uow(),
        recorded.training_id,
        actor="hr",
        reason="typo",
        data=DATA,
        expected_version=1,
    )
    cancel_training(container.uow(), recorded.training_id, actor="hr", reason="not held")
    set_rights(
        container, enterprise_number=en, items=[SetRight(other, 2024, "3", "policy")], actor="hr"
    )
    events = _events(container)
    assert [(t, s) for t, s, _ in events] == [
        ("ila.account.training.recorded", guided),
        ("ila.account.training.rectified", guided),
        ("ila.account.training.cancelled", guided),
        ("ila.account.right.set", other),
    ]
    assert events[1][2] == {"training_id": recorded.training_id, "version": 2}
    assert events[3][2] == {"employer": en, "year": 2024, "version": 1}

    at = datetime(2024, 6, 1, tzinfo=UTC)
    with container.uow() as uow:
        assert subscribers_for(uow.session, guided, at) == [VDAB]
        assert subscribers_for(uow.session, other, at) == []
        assert subscribers_for(uow.session, guided, datetime(2023, 6, 1, tzinfo=UTC)) == []
        created = dispatch(uow.session, subscribers_for)
        uow.commit()
    assert created == 3  # the three training events, to VDAB only
    with container.uow() as uow:
        receivers = set(uow.session.scalars(select(WebhookDelivery.subscription_id)))
    assert len(receivers) == 1


def test_a_failed_change_leaves_no_event(container: Container) -> None:
    en = builders.employer(container)
    niss = builders.person(container, 1)
    builders.employ(container, niss, en)
    results = set_rights(
        container,
        enterprise_number=en,
        items=[SetRight(niss, 2024, "-1", "negative"), SetRight("123", 2024, "1", "x")],
        actor="hr",
    )
    assert [r.status for r in results] == ["rejected", "rejected"]
    assert _events(container) == []
