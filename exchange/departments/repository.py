from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import ApiClient, Department, DepartmentCertificate


def get_client(session: Session, client_id: str) -> ApiClient | None:
    return session.get(ApiClient, client_id)


def get_department(session: Session, department_id: str) -> Department | None:
    return session.get(Department, department_id)


def list_departments(session: Session) -> list[Department]:
    return list(session.scalars(select(Department).order_by(Department.id)))


def certificates(session: Session, *, department_id: str | None = None, use: str | None = None
                 ) -> list[DepartmentCertificate]:
    stmt = select(DepartmentCertificate).order_by(DepartmentCertificate.id)
    if department_id is not None:
        stmt = stmt.where(DepartmentCertificate.department_id == department_id)
    if use is not None:
        stmt = stmt.where(DepartmentCertificate.use == use)
    return list(session.scalars(stmt))


def certificate_by_fingerprint(session: Session, fingerprint: str) -> DepartmentCertificate | None:
    return session.scalars(select(DepartmentCertificate).where(DepartmentCertificate.fingerprint == fingerprint)
                           ).first()
