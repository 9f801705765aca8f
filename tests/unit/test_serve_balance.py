"""The accept turn of ``ila serve --processes N`` (``ila.web.serve.Balance``): pure rules."""

from __future__ import annotations

import pytest

from ila.web import serve


def test_a_burst_is_dealt_out_in_turn() -> None:
    balance = serve.Balance.create(2)
    first, second = balance.of(0), balance.of(1)
    counts = [0, 0]
    first.publish(0)
    second.publish(0)
    for _ in range(9):  # each new connection goes to a process that may take it
        taker = 0 if first.may_accept(counts[0]) else 1
        assert (second if taker else first).may_accept(counts[taker])
        counts[taker] += 1
        (second if taker else first).publish(counts[taker])
    assert sorted(counts) == [4, 5]


def test_ties_accept_and_the_busier_waits() -> None:
    balance = serve.Balance.create(3)
    for slot, count in enumerate([5, 5, 7]):
        balance.of(slot).publish(count)
    assert balance.of(0).may_accept(5)
    assert balance.of(1).may_accept(5)
    assert not balance.of(2).may_accept(7)


def test_a_silent_or_stopped_sibling_is_not_waited_for(monkeypatch: pytest.MonkeyPatch) -> None:
    balance = serve.Balance.create(2)
    balance.of(0).publish(3)
    balance.of(1).publish(0)
    assert not balance.of(0).may_accept(3)
    balance.of(1).clear()  # stopped: its entry is forgotten
    assert balance.of(0).may_accept(3)
    balance.of(1).publish(0)
    now = serve.time.monotonic_ns()
    # no refresh for longer than STALE_NS: hung or gone
    monkeypatch.setattr(serve.time, "monotonic_ns", lambda: now + serve.STALE_NS + 1)
    assert balance.of(0).may_accept(3)


def test_a_never_started_sibling_is_not_waited_for() -> None:
    balance = serve.Balance.create(2)
    balance.of(0).publish(10)
    assert balance.of(0).may_accept(10)


def test_slots_are_checked() -> None:
    with pytest.raises(ValueError, match="at least one process"):
        serve.Balance.create(0)
    for slot in (2, -1):
        with pytest.raises(ValueError, match=r"outside 0\.\.1"):
            serve.Balance.create(2).of(slot)


def test_settle_heap_freezes_and_raises_the_young_threshold() -> None:
    import gc

    before = gc.get_threshold()
    try:
        serve.settle_heap()
        assert gc.get_threshold() == (serve.YOUNG_COLLECTION_THRESHOLD, *before[1:])
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
