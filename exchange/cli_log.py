"""``licex log …`` (the usage transparency log: witness, offline verify, key) and ``licex maintenance``.

Exit codes as for ``licex``: 0 success / valid, 1 invalid (tampering detected), 2 usage or input error.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

log_app = typer.Typer(help="the usage transparency log: witness, offline verification", no_args_is_help=True)
console = Console(stderr=True)
DataDir = Annotated[Path, typer.Option("--data-dir", "-d", envvar="LICEX_DATA_DIR", help="data directory")]


def _ctx(data_dir: Path) -> Any:
    from .cli import _context, _settings

    return _context(_settings(data_dir))


@log_app.command("witness")
def witness(log: Annotated[str, typer.Option("--log", help="base URL of the exchange, e.g. https://exchange")],
            state: Annotated[Path, typer.Option("--state", file_okay=False, help="witness state directory")],
            log_key: Annotated[str | None, typer.Option(help="the log's vkey (pinned on first run)")] = None,
            name: Annotated[str, typer.Option(help="witness key name")] = "witness.local/licex",
            once: Annotated[bool, typer.Option("--once", help="one round, then exit")] = False,
            interval: Annotated[float, typer.Option(min=1.0, max=3600.0)] = 10.0) -> None:
    """Follow the log's checkpoints, verify consistency and tiles, cosign. Exit 1 on a fork or rollback."""
    from .tlog.witness import run_once, witness_signer

    console.print(f"witness key: {witness_signer(state, name).verifier.vkey}")
    while True:
        try:
            result = run_once(log, state, log_key=log_key, name=name)
        except (ValueError, OSError) as exc:
            console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from exc
        except Exception as exc:  # network trouble: report and try again next round
            console.print(f"[yellow]log unreachable:[/yellow] {type(exc).__name__}: {exc}")
            if once:
                raise typer.Exit(2) from exc
        else:
            if not result.ok:
                console.print(f"[red]ALERT[/red] {result.problem} (evidence in {state})")
                raise typer.Exit(1)
            print(f"cosigned size {result.size}" + ("" if result.cosigned else " (log did not accept it)"))
        if once:
            return
        log_key = None
        time.sleep(interval)


@log_app.command("verify")
def verify(export: Annotated[Path, typer.Argument(dir_okay=False, help="file from GET /api/v1/citizen/usage/export")],
           log_key: Annotated[str | None, typer.Option(help="the log's vkey")] = None,
           trust: Annotated[Path | None, typer.Option(help="trust list file (its log key is used)")] = None,
           checkpoint: Annotated[list[Path] | None, typer.Option(help="a trusted checkpoint (e.g. cosigned or "
                                                                 "saved earlier); repeatable")] = None,
           previous: Annotated[Path | None, typer.Option(help="an earlier export of the same citizen")] = None,
           as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Check an exported usage log offline: checkpoint signature, each event's commitment and inclusion,
    consistency with trusted checkpoints, nothing deleted or changed since an earlier export."""
    from verifier.tlog.events import verify_export
    from verifier.tlog.note import NoteError, NoteVerifier

    try:
        if log_key is None and trust is not None:
            from verifier.trust import TrustList

            keys = TrustList.load(trust.read_bytes(), allow_stale=True).document.log_keys
            if not keys:
                raise ValueError("the trust list names no log key")
            log_key = keys[0]
        if log_key is None:
            raise ValueError("give --log-key VKEY or --trust FILE")
        verifier = NoteVerifier.from_vkey(log_key)
        data = json.loads(export.read_text(encoding="utf-8"))
        refs = [p.read_text(encoding="utf-8") for p in checkpoint or []]
        prev = json.loads(previous.read_text(encoding="utf-8")) if previous else None
        if not isinstance(data, dict) or (prev is not None and not isinstance(prev, dict)):
            raise ValueError("an export is a JSON object")
    except (OSError, ValueError, NoteError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    report = verify_export(data, verifier, trusted=refs, previous=prev)
    size = report.checkpoint.size if report.checkpoint else None
    if as_json:
        print(json.dumps({"valid": report.ok, "checkpoint_size": size, "verified": report.verified,
                          "pending": report.pending, "problems": report.problems}, ensure_ascii=False))
    else:
        for problem in report.problems:
            print(f"PROBLEM {problem}")
        print(f"{'VALID' if report.ok else 'INVALID'}: {report.verified} events included in checkpoint {size}"
              + (f", {report.pending} not yet sequenced" if report.pending else ""))
    raise typer.Exit(0 if report.ok else 1)


@log_app.command("key")
def key(data_dir: DataDir = Path("./var/licex")) -> None:
    """Print the log's vkey (as published in the trust list)."""
    from .tlog.service import log_key

    ctx = _ctx(data_dir)
    try:
        print(log_key(ctx).vkey)
    finally:
        ctx.close()


def maintenance(data_dir: DataDir = Path("./var/licex")) -> None:
    """Delete usage-event content past LICEX_USAGE_RETENTION_DAYS (commitments stay in the log) and sequence
    pending log entries. The server also does both on its own; this is for cron and for stopped servers."""
    from .tlog.sequencer import sequence_all
    from .usage.jobs import purge_now

    ctx = _ctx(data_dir)
    try:
        removed = purge_now(ctx)
        size = sequence_all(ctx)
    finally:
        ctx.close()
    print(f"deleted {removed} usage entries older than {ctx.settings.usage_retention_days} days; "
          f"log size {size if size is not None else '(sequencer busy elsewhere)'}")
