"""Which certificate signed each licence, so that a compromised or retired key's licences can be listed
(``signed-by``) and re-issued."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from ..kit.db import Base

HASH = String(64)


class LicenceSigner(Base):
    __tablename__ = "licence_signers"
    licence_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    department_id: Mapped[str] = mapped_column(String(32))
    cert_fingerprint: Mapped[str] = mapped_column(HASH, index=True)
