"""Settings for the exchange, read from the environment (prefix ``LICEX_``).

Nothing heavy happens at import. Secrets have no defaults: outside demo mode the exchange refuses to start
without ``LICEX_MASTER_KEY`` and ``LICEX_KEY_PASSPHRASE``. In demo mode they are generated once and kept in
``<data_dir>/demo-secrets.json`` (mode 0600) so that a restarted demo can still read what it stored.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEMO_SECRETS_FILE = "demo-secrets.json"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LICEX_", extra="ignore")

    data_dir: Path = Field(default=Path("./var/licex"), description="keys, certificates and the SQLite file")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; default sqlite in data_dir")
    demo: bool = False
    master_key: SecretStr | None = Field(default=None, description="≥32 bytes, hex or base64; derives data keys")
    key_passphrase: SecretStr | None = Field(default=None, description="encrypts private keys at rest")
    public_base_url: str = "http://127.0.0.1:8000"
    exchange_id: str = "licex:changsha"
    city_name: str = "长沙市"
    division_code: str = "430100"

    max_body_bytes: int = 1_048_576
    max_upload_bytes: int = 20 * 1_048_576
    access_token_ttl_s: int = 600
    client_assertion_max_ttl_s: int = 300
    citizen_session_ttl_s: int = 900
    qr_ttl_s: int = 60
    qr_refresh_s: int = 30
    consent_ttl_s: int = 1800
    clerk_session_ttl_s: int = 8 * 3600
    face_threshold: float = 0.5  # measured: same person ≤0.39, different ≥0.625 (exchange/face/engine.py)
    face_max_failures: int = 50  # hard lock: failures from addresses never used successfully (far above a person)
    face_lockout_s: int = 3600
    face_mode: Literal["local", "assertion", "both"] = "local"
    face_assertion_jwks_file: Path | None = None
    face_assertion_issuer: str | None = None
    face_assertion_audience: str | None = None
    usage_retention_days: int = Field(default=365, ge=180, description="usage-event content kept (≥ 180 days)")
    log_origin: str = Field(default="licex.local/changsha/usage-log", pattern=r"^[^\s+]{1,200}$",
                            description="origin line and key name of the usage transparency log")
    log_witnesses: str = Field(default="", description="comma-separated witness vkeys (C2SP cosignature keys)")
    log_sequence_interval_s: float = Field(default=0.5, gt=0, le=60)
    log_sequencer: bool = Field(default=True, description="run the log sequencer in this process")
    archive_max_bytes: int = 5 * 1_048_576  # one archived material (PDF, JPEG, PNG)
    archive_case_retention_days: int = 365  # a case's filed materials outlive deletion requests this long
    archive_retention_days: int = 1825  # any archived material is purged after this (5 years)
    # Rate limits (exchange/kit/ratelimit.py): `limits` strings; shared in Redis when redis_url is set.
    redis_url: str | None = Field(default=None, description="redis://host:port/db for shared rate limits")
    rate_limits: bool = True
    rate_limit_prefix: str = "licex"
    trusted_proxies: list[str] = Field(default_factory=list, description="proxy addresses/networks whose "
                                       "X-Forwarded-For is believed")
    rate_face_client: str = "60/minute;1200/hour"  # face challenge/login per client address (kiosks, NAT)
    rate_face_id_client: str = "30/minute;300/hour"  # face challenge+login per (ID number, client address)
    rate_face_id_new: str = "60/minute;600/hour"  # face challenges per ID number from addresses never used by it
    face_fail_throttle: str = "3/minute;6/10minute;10/hour;20/day"  # failures per (ID, client): growing waits
    rate_login_user: str = "10/minute;50/hour"  # clerk/reviewer login per username
    rate_login_client: str = "60/minute"  # clerk/reviewer login per client address (a hall behind NAT)
    rate_token_client: str = "120/minute"  # noqa: S105 - a rate, not a secret: token endpoint per address
    rate_public_client: str = "120/minute;3000/hour"  # /verify/check and /v/{id} per client address
    rate_status_allocation: str = "600/minute"  # status-entry allocation requests per department
    rate_status_entries: str = "200000/hour;1000000/day"  # status entries reserved per department (1 M = a shard)
    db_pool_size: int = Field(default=20, ge=1, le=500, description=(
        "PostgreSQL connections each server process keeps open (plus up to as many again under bursts): at least "
        "the requests one process runs at once, or connections are opened and closed per request"))
    log_level: str = "INFO"
    log_json: bool = False  # JSON lines with request ids (``licex serve`` turns it on)

    @model_validator(mode="after")
    def _check_secrets(self) -> Settings:
        if self.demo:
            return self
        missing = [n for n in ("master_key", "key_passphrase") if getattr(self, n) is None]
        if missing:
            names = ", ".join("LICEX_" + m.upper() for m in missing)
            raise ValueError(f"missing secret settings: {names} (only demo mode generates its own)")
        return self

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'exchange.sqlite').resolve()}"

    def master_key_bytes(self) -> bytes:
        return _decode_secret(self._secret("master_key"), "LICEX_MASTER_KEY")

    def key_passphrase_bytes(self) -> bytes:
        return self._secret("key_passphrase").encode()

    def _secret(self, name: str) -> str:
        value: SecretStr | None = getattr(self, name)
        if value is not None:
            return value.get_secret_value()
        if self.demo:
            return _demo_secrets(self.data_dir)[name]
        raise RuntimeError(f"LICEX_{name.upper()} is not set")


def _decode_secret(raw: str, name: str) -> bytes:
    import base64
    import binascii

    text = raw.strip()
    try:
        data = bytes.fromhex(text)
    except ValueError:
        try:
            data = base64.b64decode(text, validate=True)
        except binascii.Error as exc:
            raise ValueError(f"{name} must be hex or base64") from exc
    if len(data) < 32:
        raise ValueError(f"{name} must hold at least 32 bytes")
    return data


def _demo_secrets(data_dir: Path) -> dict[str, str]:
    path = data_dir / DEMO_SECRETS_FILE
    if path.exists():
        loaded: dict[str, str] = json.loads(path.read_text())
        return loaded
    data_dir.mkdir(parents=True, exist_ok=True)
    values = {"master_key": secrets.token_hex(32), "key_passphrase": secrets.token_urlsafe(24)}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(values, fh)
    return values
