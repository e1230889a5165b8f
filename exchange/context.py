"""The running exchange's shared objects, built once in the app's lifespan (or by the CLI).

Every dependency a service reads from the context is a named, typed field here — no string-keyed extras. Types
that belong to a feature (the proof pipeline, the proofs' data source) are imported for the type checker only,
so this module stays below the features at run time (see ``.importlinter``).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from schemas.catalogue import Catalogue, load_catalogue
from verifier.trust import TrustList

from .config import Settings
from .keyring import Keyring
from .kit.crypto import DataProtector, derive_key
from .kit.db import make_engine, make_session_factory
from .kit.tokens import TokenCodec

if TYPE_CHECKING:
    import jwt
    import numpy as np

    from verifier.tlog.note import NoteSigner

    from .kit.ratelimit import IpNetwork, RateLimits
    from .proofs.datasource import DataSource
    from .proofs.pipeline import ProofPipeline

#: Purpose label of the dynamic QR's MAC key (derived from the master key for this use only).
QR_MAC_KEY_LABEL = "licex/qr/mac/v1"


class BackgroundJob(Protocol):
    """A thread a serving process runs beside the requests (the log sequencer, the retention purge)."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


@dataclass(frozen=True)
class TrustCache:
    """The signed trust list as last built, and the certificate-table state it was built from."""

    state: tuple[Any, ...]
    trust: TrustList


@dataclass(frozen=True)
class JwksCache:
    """The identity platform's face-assertion keys, and the file stamp (path, mtime) they were read at."""

    stamp: tuple[str, int]
    keys: dict[str, jwt.PyJWK]


@dataclass(frozen=True)
class SignedStatusToken:
    """A signed Status List Token as last made: the list version and signing certificate (SHA-256) it was made
    from, when it was issued, and the compact JWT."""

    version: int
    signer: bytes
    issued_at: datetime
    token: str


@dataclass
class AppContext:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    protector: DataProtector
    tokens: TokenCodec
    keyring: Keyring
    catalogue: Catalogue
    #: HMAC key of the dynamic QR tokens (``exchange.qr.service``).
    qr_mac_key: bytes
    #: Trust list cache (``exchange.trust.service.current_trust_list``).
    trust_cache: TrustCache | None = None
    #: Face embeddings of reference photos, by licence content digest, LRU (``exchange.citizens.face``).
    face_reference_cache: OrderedDict[str, np.ndarray[Any, Any] | None] = field(default_factory=OrderedDict)
    #: Face-assertion verification keys (``exchange.citizens.assertion``).
    face_assertion_jwks: JwksCache | None = None
    #: The departments' systems of record as the proof service reads them (``exchange.proofs.datasource``).
    proof_source: DataSource | None = None
    #: The sealing worker pool, built on first use (``exchange.proofs.pipeline.pipeline_for``).
    proof_pipeline: ProofPipeline | None = None
    #: Number of sealing worker processes; None: one per CPU (up to 8), 0: seal in the calling thread.
    proof_workers: int | None = None
    #: Prefix of proof numbers (the city's code).
    proof_number_prefix: str = "CS"
    #: Request rate limits and the proxies whose X-Forwarded-For is believed, built on first use
    #: (``exchange.kit.ratelimit.rate_limits``).
    rate_limits: RateLimits | None = None
    trusted_proxies: list[IpNetwork] | None = None
    #: The transparency log's note signer, loaded on first use (``exchange.tlog.keys.log_signer``).
    tlog_signer: NoteSigner | None = None
    #: Signed Status List Tokens by list id (``exchange.status.service.signed_token``).
    status_tokens: dict[str, SignedStatusToken] = field(default_factory=dict)
    #: Removes this context's log-backlog probe from ``/metrics`` (``exchange.tlog.sequencer.install_lag_probe``).
    lag_probe: Callable[[], None] | None = None
    #: Background jobs started by ``exchange.usage.jobs.start`` (None: not started).
    background_jobs: tuple[BackgroundJob, ...] | None = None

    @classmethod
    def build(cls, settings: Settings, *, engine: Engine | None = None) -> AppContext:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = engine or make_engine(settings.sqlalchemy_url, pool_size=settings.db_pool_size)
        master = settings.master_key_bytes()
        return cls(
            settings=settings,
            engine=engine,
            sessions=make_session_factory(engine),
            protector=DataProtector(master),
            tokens=TokenCodec(master, settings.exchange_id),
            keyring=Keyring(settings.data_dir, settings.key_passphrase_bytes()),
            catalogue=load_catalogue(),
            qr_mac_key=derive_key(master, QR_MAC_KEY_LABEL),
        )

    def close(self) -> None:
        self.engine.dispose()
