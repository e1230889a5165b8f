"""The demo plays every party, but each in its own directory side by side (``<root>/ca``,
``<root>/departments/<id>``, ``<root>/exchange``): under ``<root>/exchange`` and in the exchange's database there
is no root or department licence-signing private key (every key found is loaded and its public key compared)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from sqlalchemy import inspect, text

from exchange.provision import demo_ca_dir, demo_department_dir
from issuers import pki
from tests.fixtures.exchange import ExchangeEnv


def _spki(key: Any) -> bytes:
    data: bytes = key.public_key().public_bytes(serialization.Encoding.DER,
                                                serialization.PublicFormat.SubjectPublicKeyInfo)
    return data


def _keys_in(blob: bytes, passphrase: bytes) -> list[Any]:
    found = []
    for password in (None, passphrase):
        for load in (serialization.load_pem_private_key, serialization.load_der_private_key):
            try:
                found.append(load(blob, password=password))
            except (ValueError, TypeError):
                continue
    return found


def test_demo_exchange_part_holds_no_root_or_department_key(exchange: ExchangeEnv) -> None:
    data, passphrase = exchange.settings.data_dir, exchange.settings.key_passphrase_bytes()
    root = data.parent
    assert data.name == "exchange" and demo_ca_dir(data) == root / "ca"
    forbidden = {_spki(pki.load_private_key(root / "ca" / "root.key", passphrase))}
    for dept in exchange.ctx.catalogue.departments:
        assert demo_department_dir(data, dept) == root / "departments" / dept
        forbidden.add(_spki(pki.load_private_key(root / "departments" / dept / "licence.key", passphrase)))
    assert len(forbidden) == 1 + len(exchange.ctx.catalogue.departments)
    opened, elsewhere = 0, 0
    for path in root.rglob("*"):
        if not path.is_file():
            continue
        keys = {_spki(k) for k in _keys_in(path.read_bytes(), passphrase)}
        if data not in path.parents:
            elsewhere += len(keys & forbidden)
            continue
        opened += len(keys)
        assert not keys & forbidden, path
    # the scan sees keys: in the exchange's directory its own (trust-list signer, seals), beside it the parties'
    assert opened >= 2 and elsewhere == len(forbidden)
    with exchange.ctx.engine.connect() as conn:
        for name in inspect(conn).get_table_names():
            for row in conn.execute(text(f'SELECT * FROM "{name}"')):  # noqa: S608 - names from the schema
                for value in row:
                    blob = value.encode() if isinstance(value, str) else value
                    if isinstance(blob, bytes | memoryview) and b"PRIVATE KEY" in bytes(blob):
                        assert not {_spki(k) for k in _keys_in(bytes(blob), passphrase)} & forbidden, name
    assert not Path(data / "pki" / "root.key").exists() and not (data / "ca").exists()
    assert not (data / "departments").exists() and not (data / "issuers").exists()
