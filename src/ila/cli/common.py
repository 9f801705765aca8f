"""Shared plumbing of the ``ila`` commands: consoles, the container, user-error exits."""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time

import typer
from rich.console import Console
from rich.markup import escape

from ila.bootstrap import Container, bootstrap
from ila.config import Settings
from ila.errors import ConfigurationError, DomainError

out = Console()
err = Console(stderr=True)


def whole_writes() -> None:
    """Put a buffer under ``sys.stdout`` when it has none (PYTHONUNBUFFERED, set in many
    containers): CPython then hands each write to the raw file and ignores how much of it the
    file took, so a write to a full pipe cut short by a signal (SIGSTOP and SIGCONT, a
    profiler's ptrace) loses its rest. A buffer writes everything; flushed at every line, the
    output comes as soon as before."""
    stream = sys.stdout
    raw = getattr(stream, "buffer", None)
    if not isinstance(raw, io.RawIOBase):
        return  # buffered already (or not a file: a test's runner)
    stream.flush()
    sys.stdout = io.TextIOWrapper(
        io.BufferedWriter(raw),
        encoding=stream.encoding,
        errors=stream.errors,
        line_buffering=True,
    )


EXIT_USER_ERROR = 2


@contextmanager
def open_container() -> Iterator[Container]:
    """Build the container and turn user-caused failures into one line + exit code 2."""
    from sqlalchemy.exc import OperationalError, ProgrammingError

    container: Container | None = None
    try:
        container = bootstrap(Settings())
        yield container
    except DomainError as exc:
        fail(f"error {exc}")
    except ConfigurationError as exc:
        fail(f"configuration error: {exc}")
    except (OperationalError, ProgrammingError) as exc:
        first = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        fail(
            f"database error: {first} (is the database reachable and upgraded? "
            "run `ila db upgrade`)"
        )
    finally:
        if container is not None:
            container.close()


def fail(message: str) -> None:
    err.print(f"[red]{escape(message)}[/red]", highlight=False, soft_wrap=True)
    raise typer.Exit(EXIT_USER_ERROR)


def parse_as_of(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        fail(f"error [invalid_date] (as_of) {value!r} is not an ISO date or date-time")
        raise  # unreachable: fail exits
    if len(value) == 10:
        parsed = datetime.combine(parsed.date(), time.max)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_date(value: str, field: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"error [invalid_date] ({field}) {value!r} is not an ISO date (YYYY-MM-DD)")
        raise  # unreachable: fail exits
