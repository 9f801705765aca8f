"""``ila.web.serve.BalancedServer`` in this process, on a real socket: it accepts in its turn,
never refuses for ever, and publishes its count of open connections on accept and close."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable

import uvicorn
from starlette.types import Receive, Scope, Send

from ila.web import serve


async def _hello(scope: Scope, receive: Receive, send: Send) -> None:
    assert scope["type"] == "http"
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]}
    )
    await send({"type": "http.response.body", "body": b"ok"})


def _request(port: int) -> socket.socket:
    conn = socket.create_connection(("127.0.0.1", port), timeout=10)
    conn.sendall(b"GET / HTTP/1.1\r\nHost: ila\r\n\r\n")
    answer = b""
    while not answer.endswith(b"\r\n\r\nok"):
        data = conn.recv(65536)
        assert data, f"connection closed after {answer!r}"
        answer += data
    assert answer.startswith(b"HTTP/1.1 200")
    return conn


def _eventually(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


def test_balanced_server_takes_its_turn_and_counts_connections() -> None:
    balance = serve.Balance.create(2)
    sibling = balance.of(1)
    sibling.publish(0)  # a live sibling with no connection, which never accepts any
    listener = serve.listen("127.0.0.1", 0)
    port = listener.getsockname()[1]
    config = uvicorn.Config(_hello, lifespan="off", log_level="warning")
    server = serve.BalancedServer(config, listener, balance.of(0))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        _eventually(lambda: server.started, "the server starts")
        first = _request(port)  # its turn: 0 open, like the sibling
        _eventually(lambda: balance.counts()[0] == 1, "the accept is published")
        sibling.publish(0)
        # a burst while the sibling takes nothing: the first connections are this process's
        # turn (it may be ahead by SLACK), the others wait for the sibling at most
        # MAX_DEFER_NS, once for the whole burst, then are taken here
        burst = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(8)]
        for conn in burst:
            conn.sendall(b"GET / HTTP/1.1\r\nHost: ila\r\n\r\n")
        for conn in burst:
            assert conn.recv(65536).startswith(b"HTTP/1.1 200")
        _eventually(lambda: balance.counts()[0] == 9, "the burst's accepts are published")
        assert balance.of(1).sibling_accepts() == 9
        for conn in [first, *burst]:
            conn.close()
        _eventually(lambda: balance.counts()[0] == 0, "the closes are published")
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        listener.close()
    assert not thread.is_alive()
    assert balance.counts() == [0, 0]
    assert balance.of(1).may_accept(5)  # the stopped server's entry is cleared, not waited for
