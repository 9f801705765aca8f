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
    takers = []
    for _ in range(64):  # each new connection goes to a process that may take it
        taker = 0 if first.may_accept(counts[0]) else 1
        assert (second if taker else first).may_accept(counts[taker])
        counts[taker] += 1
        (second if taker else first).publish(counts[taker])
        takers.append(taker)
    assert abs(counts[0] - counts[1]) <= serve.SLACK + 1
    # taken in runs of a few, not one process taking the whole burst
    assert takers[: serve.SLACK + 2] == [0] * (serve.SLACK + 1) + [1]


def test_within_the_slack_accept_and_the_busier_waits() -> None:
    balance = serve.Balance.create(3)
    for slot, count in enumerate([5, 5 + serve.SLACK, 6 + serve.SLACK]):
        balance.of(slot).publish(count)
    assert balance.of(0).may_accept(5)
    assert balance.of(1).may_accept(5 + serve.SLACK)  # ahead by the slack: still takes
    assert not balance.of(2).may_accept(6 + serve.SLACK)  # beyond it: waits


def test_a_silent_or_stopped_sibling_is_not_waited_for(monkeypatch: pytest.MonkeyPatch) -> None:
    balance = serve.Balance.create(2)
    busy = serve.SLACK + 3
    balance.of(0).publish(busy)
    balance.of(1).publish(0)
    assert not balance.of(0).may_accept(busy)
    balance.of(1).clear()  # stopped: its entry is forgotten
    assert balance.of(0).may_accept(busy)
    balance.of(1).publish(0)
    now = serve.time.monotonic_ns()
    # no refresh for longer than STALE_NS: hung or gone
    monkeypatch.setattr(serve.time, "monotonic_ns", lambda: now + serve.STALE_NS + 1)
    assert balance.of(0).may_accept(busy)


def test_a_never_started_sibling_is_not_waited_for() -> None:
    balance = serve.Balance.create(2)
    balance.of(0).publish(10)
    assert balance.of(0).may_accept(10)


def test_accepts_are_counted_per_process() -> None:
    balance = serve.Balance.create(3)
    balance.of(1).publish(1, accepted=True)
    balance.of(2).publish(1, accepted=True)
    balance.of(2).publish(2, accepted=True)
    balance.of(2).publish(1)  # a close: no accept
    assert balance.counts() == [0, 1, 1]
    assert balance.of(0).sibling_accepts() == 3
    assert balance.of(2).sibling_accepts() == 1
    balance.of(2).clear()
    assert balance.of(0).sibling_accepts() == 1


MS = 1_000_000  # ns


def _busier(processes: int = 2) -> tuple[serve.Balance, serve.Turn]:
    """Process 0 holds 5 connections, its live sibling 1 holds none."""
    balance = serve.Balance.create(processes)
    balance.of(1).publish(0)
    return balance, serve.Turn(balance.of(0))


def test_a_waiting_connection_is_left_to_the_least_busy_for_a_while() -> None:
    balance, turn = _busier()
    start = 10_000 * MS
    assert turn.defer(5, start)
    assert turn.defer(5, start + 99 * MS)
    assert not turn.defer(5, start + 100 * MS)  # the sibling never came: taken here
    balance.of(1).publish(5)
    assert not turn.defer(5, start + 101 * MS)  # a tie: this process's turn too


def test_a_stalled_sibling_delays_a_burst_once_not_each_connection() -> None:
    _balance, turn = _busier()
    start = 10_000 * MS
    assert turn.defer(5, start)
    assert not turn.defer(5, start + 100 * MS)  # first connection: after the full wait
    # the next ones of the burst: the sibling still took none, so they are taken at once
    for taken in range(6, 20):
        assert not turn.defer(taken, start + 100 * MS + taken * MS)


def test_a_sibling_that_accepts_again_gets_its_turns_again() -> None:
    balance, turn = _busier()
    start = 10_000 * MS
    assert turn.defer(5, start)
    assert not turn.defer(5, start + 100 * MS)
    balance.of(1).publish(1, accepted=True)  # the sibling is back
    assert turn.defer(6, start + 101 * MS)
    assert turn.defer(6, start + 200 * MS)  # a full wait counted from its accept
    assert not turn.defer(6, start + 201 * MS)


def test_a_new_burst_starts_with_a_full_wait() -> None:
    _balance, turn = _busier()
    start = 10_000 * MS
    assert turn.defer(5, start)
    assert not turn.defer(5, start + 100 * MS)  # the sibling stalled in this burst
    later = start + 100 * MS + serve.BURST_GAP_NS
    assert turn.defer(6, later)  # the next burst: it is given its turn again
    assert not turn.defer(6, later + 100 * MS)


def test_its_own_turn_restarts_the_wait() -> None:
    balance, turn = _busier()
    start = 10_000 * MS
    assert turn.defer(5, start)
    assert not turn.defer(5, start + 100 * MS)
    balance.of(1).publish(7)  # closes here, or the sibling is busier now: our turn
    assert not turn.defer(5, start + 101 * MS)
    balance.of(1).publish(0)
    assert turn.defer(6, start + 102 * MS)  # the next wait is counted afresh


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
