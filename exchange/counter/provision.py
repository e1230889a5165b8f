"""Demo clerks (demo mode only).

``ensure_demo_clerks`` creates, once, two counter clerks at 长沙市政务服务中心 (windows A01 and A02) and a
proof reviewer in the public security bureau. Their passwords are never in the code: each is generated at
random the first time and kept in ``<data_dir>/demo-clerks.json`` (mode 0600, next to ``demo-secrets.json``),
where the demo's operator, the browser tests and the benchmark read them. ``LICEX_DEMO_CLERK_PASSWORD``, when
set, is used for all three instead (handy for a screen-recorded demo). Production accounts are created by an
administrator with their own passwords; this module refuses to run outside demo mode.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from sqlalchemy.orm import Session

from ..auth.clerk import hash_password
from ..context import AppContext
from ..models import Clerk
from . import repository

DEMO_CLERKS_FILE: Final = "demo-clerks.json"
PASSWORD_ENV: Final = "LICEX_DEMO_CLERK_PASSWORD"  # noqa: S105 - the variable name, not a password
HALL: Final = "长沙市政务服务中心"


@dataclass(frozen=True)
class DemoClerk:
    username: str
    display_name: str
    role: str
    hall: str
    window: str
    department_id: str | None


DEMO_CLERKS: Final = (
    DemoClerk("clerk01", "陈晓梅", "clerk", HALL, "A01", None),
    DemoClerk("clerk02", "刘志远", "clerk", HALL, "A02", None),
    DemoClerk("review_psb", "黄建国", "reviewer", "长沙市公安局", "R01", "psb"),
)


def demo_clerk_passwords(data_dir: Path) -> dict[str, str]:
    """username → password of the demo clerks (empty if the demo has not made them)."""
    path = data_dir / DEMO_CLERKS_FILE
    if not path.exists():
        return {}
    data: dict[str, str] = json.loads(path.read_text())
    return data


def _write_passwords(path: Path, passwords: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(passwords, fh, ensure_ascii=False, indent=1)
    os.replace(tmp, path)


def ensure_demo_clerks(session: Session, ctx: AppContext) -> list[str]:
    """Create the demo clerks that do not exist yet; returns every demo clerk's username."""
    if not ctx.settings.demo:
        raise RuntimeError("demo clerks are created in demo mode only")
    path = ctx.settings.data_dir / DEMO_CLERKS_FILE
    passwords = demo_clerk_passwords(ctx.settings.data_dir)
    override = os.environ.get(PASSWORD_ENV)
    changed = False
    for spec in DEMO_CLERKS:
        if repository.clerk_by_username(session, spec.username) is not None:
            continue
        password = override or passwords.get(spec.username) or secrets.token_urlsafe(12)
        if passwords.get(spec.username) != password:
            passwords[spec.username] = password
            changed = True
        session.add(Clerk(username=spec.username, display_name=spec.display_name,
                          password_hash=hash_password(password), role=spec.role,
                          department_id=spec.department_id, hall=spec.hall, window=spec.window, active=True))
    session.flush()
    if changed:
        _write_passwords(path, passwords)
    return [spec.username for spec in DEMO_CLERKS]
