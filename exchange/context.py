"""The running exchange's shared objects, built once in the app's lifespan (or by the CLI)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from schemas.catalogue import Catalogue, load_catalogue

from .config import Settings
from .keyring import Keyring
from .kit.crypto import DataProtector
from .kit.db import make_engine, make_session_factory
from .kit.tokens import TokenCodec


@dataclass
class AppContext:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    protector: DataProtector
    tokens: TokenCodec
    keyring: Keyring
    catalogue: Catalogue
    extras: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def build(cls, settings: Settings, *, engine: Engine | None = None) -> AppContext:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = engine or make_engine(settings.sqlalchemy_url)
        master = settings.master_key_bytes()
        return cls(
            settings=settings,
            engine=engine,
            sessions=make_session_factory(engine),
            protector=DataProtector(master),
            tokens=TokenCodec(master, settings.exchange_id),
            keyring=Keyring(settings.data_dir, settings.key_passphrase_bytes()),
            catalogue=load_catalogue(),
        )

    def close(self) -> None:
        self.engine.dispose()
