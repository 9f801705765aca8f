"""The one composition root: builds the engine, the unit-of-work factory and the rule set from
settings. Called by the web app factory, the CLI and workers; nothing is wired at import time."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from ila.config import Settings
from ila.db.uow import UnitOfWork, make_engine
from ila.rights.rules import RuleSet, load_rules


@dataclass(frozen=True)
class Container:
    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    rules: RuleSet

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.session_factory)

    @property
    def uow_factory(self) -> Callable[[], UnitOfWork]:
        return self.uow

    def close(self) -> None:
        self.engine.dispose()


def bootstrap(settings: Settings | None = None, *, engine: Engine | None = None) -> Container:
    settings = (settings or Settings()).check()
    engine = engine or make_engine(settings.database_url, echo=settings.database_echo)
    factory = sessionmaker(bind=engine, expire_on_commit=False, future=True)
    return Container(settings, engine, factory, load_rules(settings.rules_dir))
