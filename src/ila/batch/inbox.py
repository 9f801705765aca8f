"""A watched inbox: one folder per sender, named by its enterprise number, where files are
dropped the way SFTP uploads work. Each sweep submits the new ``*.xml`` files, moves them to
``received/``, and writes the result document of every finished batch to ``results/``.

Upload under another name (``.part``) and rename to ``.xml`` when complete: only ``*.xml``
files are taken."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from ila.batch.config import BatchSettings
from ila.batch.result import write_result
from ila.batch.service import BATCH_SCOPES, Sender, find_batch, submit
from ila.bootstrap import Container
from ila.errors import DomainError, NotFound

_SENDER_DIR = re.compile(r"[0-9]{10}")


@dataclass
class Sweep:
    submitted: list[str] = field(default_factory=list)  # tickets
    refused: list[str] = field(default_factory=list)  # file names, with an .error.txt beside
    results: list[Path] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)  # markers of no batch of their sender


def _sender_dirs(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir() and _SENDER_DIR.fullmatch(p.name))


def submit_new(container: Container, settings: BatchSettings, root: Path, sweep: Sweep) -> None:
    for folder in _sender_dirs(root):
        sender = Sender(folder.name, f"inbox:{folder.name}", BATCH_SCOPES, "inbox")
        for name in ("received", "results", "refused"):
            (folder / name).mkdir(exist_ok=True)
        for file in sorted(folder.glob("*.xml")):
            try:
                with file.open("rb") as source:
                    batch = submit(container, settings, source, file_name=file.name, sender=sender)
            except DomainError as exc:
                shutil.move(file, folder / "refused" / file.name)
                (folder / "refused" / f"{file.name}.error.txt").write_text(
                    f"{exc}\n", encoding="utf-8"
                )
                sweep.refused.append(file.name)
                continue
            shutil.move(file, folder / "received" / f"{batch.ticket}-{file.name}")
            (folder / "results" / f"{batch.ticket}.pending").touch()
            sweep.submitted.append(batch.ticket)


def write_results(container: Container, root: Path, sweep: Sweep) -> None:
    """The result document of each finished batch, once, as ``results/<file>-<ticket>.xml``.
    It is written as ``….xml.part`` and renamed when complete (the way files are dropped in):
    a sender fetching ``*.result.xml`` never gets half a document, even if this process dies
    while writing it (the next sweep writes it again)."""
    for folder in _sender_dirs(root):
        for marker in sorted((folder / "results").glob("*.pending")):
            ticket = marker.stem
            with container.uow() as uow:
                try:
                    batch = find_batch(uow.session, ticket, folder.name)
                except NotFound:  # not ours (copied in, or the database was reset)
                    marker.unlink()  # it would stop every sweep here, for ever
                    sweep.dropped.append(marker.name)
                    continue
                if batch.finished_at is None:
                    continue
                target = folder / "results" / f"{Path(batch.file_name).stem}-{ticket}.result.xml"
                part = target.with_name(f"{target.name}.part")
                with part.open("wb") as out:
                    write_result(uow.session, batch, out)
            part.replace(target)
            marker.unlink()
            sweep.results.append(target)
