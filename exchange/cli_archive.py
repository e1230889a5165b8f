"""``licex archive``: e-archive operations for operators (retention)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

archive_app = typer.Typer(help="the personal e-archive (电子档案)", no_args_is_help=True)


@archive_app.command("purge")
def purge(data_dir: Annotated[Path, typer.Option("--data-dir", "-d", envvar="LICEX_DATA_DIR",
                                                 help="data directory")] = Path("./var/licex")) -> None:
    """Delete archived materials older than LICEX_ARCHIVE_RETENTION_DAYS whose case retention has passed."""
    from .archive.service import purge_expired
    from .cli import _context, _settings, console
    from .kit.db import unit_of_work

    ctx = _context(_settings(data_dir))
    try:
        with unit_of_work(ctx.sessions) as session:
            n = purge_expired(ctx, session)
    finally:
        ctx.close()
    console.print(f"purged {n} archived material(s) past retention "
                  f"({ctx.settings.archive_retention_days} days)")
