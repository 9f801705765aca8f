"""What ``ila`` prints arrives whole on a pipe, even with PYTHONUNBUFFERED set (as in many
containers) and the command stopped and continued while it writes (job control, a profiler):
CPython's unbuffered standard output drops the rest of a write that a signal cut short."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import psutil

from ila.api.app import openapi_text


def test_a_long_output_arrives_whole_when_the_command_is_stopped_and_continued() -> None:
    expected = openapi_text().encode()
    assert len(expected) > 3 * 65536  # several pipes' worth: the write waits for room
    command = subprocess.Popen(
        [sys.executable, "-m", "ila.cli", "api", "openapi", "--output", "-"],
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    process = psutil.Process(command.pid)
    done = threading.Event()
    signals = 0

    def stop_and_continue() -> None:
        nonlocal signals
        while not done.is_set():
            try:
                process.send_signal(signal.SIGSTOP)
                time.sleep(0.002)
                process.send_signal(signal.SIGCONT)
            except psutil.NoSuchProcess:
                return
            signals += 1
            time.sleep(0.003)

    pauser = threading.Thread(target=stop_and_continue)
    pauser.start()
    got = bytearray()
    try:
        assert command.stdout is not None
        while piece := command.stdout.read1(4096):  # slowly: the pipe stays full
            got += piece
            time.sleep(0.001)
    finally:
        done.set()
        pauser.join()
        command.wait(timeout=60)
        if command.stdout is not None:
            command.stdout.close()
    assert command.returncode == 0
    assert len(got) == len(expected)
    assert bytes(got) == expected
    assert signals > 10
