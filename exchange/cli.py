"""``licex``: the command line of the licence exchange.

Exit codes: 0 success / valid, 1 invalid (verification failed), 2 usage or input error.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from issuers import cli as _issuers_cli

from . import cli_exchange as _exchange_cli
from .cli_archive import archive_app
from .config import DEMO_SECRETS_FILE, Settings

app = typer.Typer(help="licex — electronic licence exchange for a no-certificate city (无证明城市)",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
licences_app = typer.Typer(help="licences in the registry", no_args_is_help=True)
trust_app = typer.Typer(help="the signed trust list", no_args_is_help=True)
app.add_typer(licences_app, name="licences")
app.add_typer(trust_app, name="trust")
app.add_typer(_exchange_cli.exchange_app, name="exchange")
app.add_typer(_issuers_cli.ca_app, name="ca")
app.add_typer(_issuers_cli.department_app, name="department")
app.add_typer(__import__("exchange.cli_log", fromlist=["log_app"]).log_app, name="log")
app.command("maintenance")(__import__("exchange.cli_log", fromlist=["maintenance"]).maintenance)
app.add_typer(archive_app, name="archive")

console = Console(stderr=True)
DataDir = Annotated[Path, typer.Option("--data-dir", "-d", envvar="LICEX_DATA_DIR", help="data directory")]
DEFAULT_DATA_DIR = Path("./var/licex")


def _demo_dirs(data_dir: Path) -> Path:
    """The demo's exchange directory; exits with the reason for a data dir from the earlier layout."""
    from .provision import ProvisionError, demo_exchange_dir

    try:
        return demo_exchange_dir(data_dir)
    except ProvisionError as exc:
        console.print(f"[red]cannot use this data dir:[/red] {exc}")
        raise typer.Exit(2) from exc


def _settings(data_dir: Path, *, demo: bool | None = None, **overrides: Any) -> Settings:
    from .provision import exchange_dir_of

    data_dir = exchange_dir_of(data_dir)
    if demo is None:
        demo = (data_dir / DEMO_SECRETS_FILE).exists() and not os.environ.get("LICEX_MASTER_KEY")
    try:
        return Settings(data_dir=data_dir, demo=demo, **overrides)
    except ValueError as exc:
        console.print(f"[red]configuration error:[/red] {exc}")
        raise typer.Exit(2) from exc


def _context(settings: Settings) -> Any:
    from .context import AppContext

    if not (settings.data_dir / "pki" / "root.crt").exists():
        console.print(f"[red]{settings.data_dir} is not initialised[/red]: run `licex init --data-dir ...` first")
        raise typer.Exit(2)
    return AppContext.build(settings)


@app.command()
def init(data_dir: DataDir = DEFAULT_DATA_DIR,
         demo: Annotated[bool, typer.Option("--demo", help="add demo departments' licences and clerks")] = False,
         citizens: Annotated[int, typer.Option(min=16, max=10_000)] = 24,
         root_cert: Annotated[Path | None, typer.Option(
             exists=True, dir_okay=False, help="production: the city root certificate to import")] = None) -> None:
    """Create the database and the exchange's keys; production imports --root-cert and writes CSRs for the
    offline CA; --demo plays every party on this machine and adds demo data. No server is started."""
    from .provision import ProvisionError, provision

    settings = _settings(_demo_dirs(data_dir) if demo else data_dir, demo=demo or None)
    try:
        report = provision(settings, demo=demo, citizens=citizens, root_cert=root_cert,
                           progress=lambda m: console.print(f"· {m}"))
    except ProvisionError as exc:
        console.print(f"[red]cannot initialise:[/red] {exc}")
        raise typer.Exit(2) from exc
    console.print(f"[green]initialised[/green] {settings.data_dir}: {len(report.departments)} departments, "
                  f"{report.licences_created} licences created, {report.licences_existing} already present")
    if report.csrs:
        console.print("certificate requests for the city CA (licex ca sign --csr F --profile exchange|seal), "
                      "then `licex exchange install-cert`:")
        for csr in report.csrs:
            console.print(f"  {csr}")


def _urls(base: str) -> dict[str, str]:
    return {"citizen": f"{base}/citizen", "apply": f"{base}/citizen/apply", "counter": f"{base}/counter",
            "kiosk": f"{base}/kiosk", "verify": f"{base}/verify", "review": f"{base}/review",
            "api_docs": f"{base}/docs", "openapi": f"{base}/openapi.json", "trust_list": f"{base}/api/v1/trust-list"}


#: Idle keep-alive connections stay open this long: longer than a client's or balancer's idle limit (httpx 5 s,
#: HAProxy's ``timeout client`` 60 s), so the client, not the server, closes them. With uvicorn's 5 s, equal to
#: httpx's, a request sent on a connection the server was closing failed with a read error now and then.
KEEP_ALIVE_S = 75


def _serve(settings: Settings, host: str, port: int, workers: int = 1) -> None:
    import uvicorn

    from .ops.serving import prepare_process_metrics

    prepare_process_metrics()  # before anything imports prometheus_client: one metrics directory per server
    json_logs = os.environ.get("LICEX_LOG_JSON", "true").lower() not in ("0", "false", "no")
    os.environ["LICEX_LOG_JSON"] = str(json_logs).lower()
    settings = settings.model_copy(update={"log_json": json_logs})
    from .app import create_app
    from .kit.ratelimit import from_settings

    limits = from_settings(settings)
    console.print(limits.describe() + (" — each worker counts alone" if workers > 1 and
                                       limits.backend == "memory" and limits.enabled else ""))

    if workers > 1:
        os.environ.update({"LICEX_DATA_DIR": str(settings.data_dir), "LICEX_DEMO": str(settings.demo).lower(),
                           "LICEX_PUBLIC_BASE_URL": settings.public_base_url})
        uvicorn.run("exchange.app:create_app", factory=True, host=host, port=port, workers=workers,
                    log_level="warning", access_log=False, timeout_keep_alive=KEEP_ALIVE_S)
        return
    uvicorn.run(create_app(settings), host=host, port=port, log_level="warning", access_log=False,
                timeout_keep_alive=KEEP_ALIVE_S)


@app.command()
def serve(data_dir: DataDir = DEFAULT_DATA_DIR, host: str = "127.0.0.1",
          port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
          workers: Annotated[int, typer.Option(min=1, max=64)] = 1) -> None:
    """Run the exchange (an initialised data directory; PostgreSQL via LICEX_DATABASE_URL)."""
    settings = _settings(data_dir, public_base_url=os.environ.get("LICEX_PUBLIC_BASE_URL",
                                                                    f"http://{host}:{port}"))
    from .kit import migrate

    migrate.upgrade(settings.sqlalchemy_url)
    console.print(json.dumps(_urls(settings.public_base_url), indent=2))
    _serve(settings, host, port, workers)


@app.command()
def demo(host: str = "127.0.0.1", port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
         data_dir: DataDir = DEFAULT_DATA_DIR,
         citizens: Annotated[int, typer.Option(min=16, max=10_000)] = 24) -> None:
    """Initialise demo data (once) on embedded SQLite and serve it; prints the URLs of every page."""
    from .provision import provision

    base = f"http://{host}:{port}"
    settings = _settings(_demo_dirs(data_dir), demo=True, public_base_url=base)
    report = provision(settings, demo=True, citizens=citizens, progress=lambda m: console.print(f"· {m}"))
    root = settings.data_dir.parent
    console.print(f"[green]demo ready[/green] in {root} ({report.licences_created} new licences): city CA in "
                  f"{root / 'ca'}, departments in {root / 'departments'}, the exchange alone in "
                  f"{settings.data_dir} (`licex serve --data-dir {settings.data_dir}`)")
    for name, url in _urls(base).items():
        print(f"{name:>10}: {url}", flush=True)
    _serve(settings, host, port)


@app.command("import")
def import_(file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
            data_dir: DataDir = DEFAULT_DATA_DIR,
            batch_size: Annotated[int, typer.Option(min=1, max=10_000)] = 500) -> None:
    """Import signed licences from JSONL (one SD-JWT or {"credential": ...} per line). Resumable."""
    from .licences.importer import import_jsonl

    ctx = _context(_settings(data_dir))
    try:
        with Progress(TextColumn("[bold]importing"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                      console=console, disable=not console.is_terminal and os.environ.get("CI") == "true") as bar:
            task = bar.add_task("import", total=None)

            def tick(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            report = import_jsonl(ctx, file, batch_size=batch_size, progress=tick)
    finally:
        ctx.close()
    print(json.dumps(report.__dict__), flush=True)
    if report.rejected:
        console.print(f"[yellow]{report.rejected} line(s) rejected[/yellow]; see {data_dir}/imports/")


@app.command()
def issue(type_key: Annotated[str, typer.Option("--type", help="licence type key, e.g. resident_id_card")],
          fields_file: Annotated[Path, typer.Option("--fields", exists=True, dir_okay=False)],
          department: Annotated[str, typer.Option(help="issuing department id")],
          serial: Annotated[str, typer.Option(help="serial within the issuer, [0-9A-Z]{1,32}")],
          data_dir: DataDir = DEFAULT_DATA_DIR,
          out: Annotated[Path | None, typer.Option(help="also write the SD-JWT here")] = None) -> None:
    """Sign a licence with a department's key (department side) and register it (exchange side)."""
    from datetime import UTC, datetime

    from issuers.department import DepartmentSigner, SigningError
    from issuers.drafts import LicenceDraft

    from .kit.db import unit_of_work
    from .kit.errors import ExchangeError
    from .licences import service
    from .provision import demo_department_dir
    from .status import service as status_lists
    from .trust.service import current_trust_list

    settings = _settings(data_dir)
    ctx = _context(settings)
    try:
        lt = ctx.catalogue.licence_types.get(type_key)
        dept = ctx.catalogue.departments.get(department)
        if lt is None or dept is None:
            console.print("[red]unknown licence type or department[/red]")
            raise typer.Exit(2)
        fields = json.loads(fields_file.read_text(encoding="utf-8"))
        today = datetime.now(UTC).date()
        draft = LicenceDraft(
            type_key=lt.key, department_id=dept.id, holder_code=str(fields.get(lt.holder_code_field, "")),
            holder_name=str(fields.get(lt.holder_name_field, "")), licence_no=str(fields.get(lt.licence_no_field, "")),
            serial=serial, fields=fields, issued_on=today, valid_from=today,
            valid_until=lt.validity_until(today, fields))
        signer = DepartmentSigner.load(demo_department_dir(settings.data_dir, dept.id), dept,
                                       settings.key_passphrase_bytes())
        with unit_of_work(ctx.sessions) as session:
            ref = status_lists.allocate(ctx, session, owner=dept.id)[0]  # the entry before the signature
            credential = signer.sign(draft, status_list=(ref.idx, ref.uri))
            prepared = service.prepare(credential, trust=current_trust_list(ctx, session), catalogue=ctx.catalogue,
                                       pushing_department=dept.id)
            result = service.store(session, prepared, ctx.protector, ctx=ctx)
    except ExchangeError as exc:
        console.print(f"[red]{exc.code}[/red] {exc.field or ''}: {exc.detail}")
        raise typer.Exit(2) from exc
    except SigningError as exc:
        console.print(f"[red]{exc.code}[/red]: {exc.detail}")
        raise typer.Exit(2) from exc
    except (ValueError, UnicodeDecodeError) as exc:
        console.print(f"[red]bad --fields file[/red]: {exc}")
        raise typer.Exit(2) from exc
    finally:
        ctx.close()
    if out:
        out.write_text(credential)
    print(json.dumps(result.__dict__, ensure_ascii=False))


@app.command()
def revoke(licence_id: str, reason: Annotated[str, typer.Option(min=1)], data_dir: DataDir = DEFAULT_DATA_DIR,
           action: Annotated[str, typer.Option(help="revoke | suspend | reinstate")] = "revoke") -> None:
    """Revoke, suspend or reinstate a licence (operator action, recorded with the reason)."""
    from .kit.db import unit_of_work
    from .kit.errors import ExchangeError
    from .licences import service

    ctx = _context(_settings(data_dir))
    try:
        with unit_of_work(ctx.sessions) as session:
            row = service.change_status(session, licence_id, action, reason, department_id=None, actor="cli")
            view = service.status_view(row)
    except ExchangeError as exc:
        console.print(f"[red]{exc.code}[/red]: {exc.detail}")
        raise typer.Exit(2) from exc
    finally:
        ctx.close()
    print(json.dumps(view, ensure_ascii=False))


@app.command()
def proof(type_key: Annotated[str, typer.Argument(help="instant proof type, e.g. realty_query, hpf_deposit")],
          holder: Annotated[str, typer.Option("--holder", help="the holder's citizen ID number")],
          out: Annotated[Path, typer.Option("--out", dir_okay=False, help="where to write the sealed PDF")],
          data_dir: DataDir = DEFAULT_DATA_DIR,
          mask_id: Annotated[bool, typer.Option(help="print ID numbers masked")] = False) -> None:
    """Make an instant proof from the department's records, seal it and record it (in the usage log too)."""
    from .kit.db import unit_of_work
    from .kit.errors import ExchangeError
    from .proofs import service
    from .proofs.datasource import install_default
    from .usage.service import Actor

    ctx = _context(_settings(data_dir))
    ctx.proof_workers = 0  # one proof: seal in this process, no worker pool
    install_default(ctx)
    try:
        with unit_of_work(ctx.sessions) as session:
            issued = service.create_instant(ctx, session, type_key=type_key, id_number=holder,
                                            requester=Actor("system", "licex proof"), mask_id=mask_id)
    except ExchangeError as exc:
        console.print(f"[red]{exc.code}[/red] {exc.field or ''}: {exc.detail}")
        raise typer.Exit(2) from exc
    finally:
        ctx.close()
    out.write_bytes(issued.pdf)
    print(json.dumps({"proof_id": issued.proof.id, "type": issued.proof.type_key, "out": str(out),
                      "verify_url": service.verify_url(ctx, issued.proof.id),
                      "expires_at": issued.proof.expires_at.isoformat()}, ensure_ascii=False))


@licences_app.command("export")
def licences_export(out: Annotated[Path, typer.Option(file_okay=False)], data_dir: DataDir = DEFAULT_DATA_DIR) -> None:
    """Write one <identifier>.sd-jwt file per licence in the registry."""
    from sqlalchemy import select

    from .licences.service import credential_of
    from .models import Licence

    ctx = _context(_settings(data_dir))
    out.mkdir(parents=True, exist_ok=True)
    n = 0
    try:
        with ctx.sessions() as session:
            for row in session.scalars(select(Licence).order_by(Licence.id)).yield_per(500):
                (out / f"{row.licence_id}.sd-jwt").write_text(credential_of(row, ctx.protector))
                n += 1
    finally:
        ctx.close()
    console.print(f"exported {n} licences to {out}")


@licences_app.command("signed-by")
def licences_signed_by(cert: Annotated[Path, typer.Option(exists=True, dir_okay=False,
                                                          help="the key's certificate (PEM)")],
                       data_dir: DataDir = DEFAULT_DATA_DIR) -> None:
    """List (JSON) every registered licence signed by the key of this certificate, e.g. after a compromise."""
    from cryptography import x509

    from verifier.trust import fingerprint

    from .licences.service import signed_by

    try:
        certificate = x509.load_pem_x509_certificate(cert.read_bytes())
    except ValueError as exc:
        console.print(f"[red]not a PEM certificate[/red]: {cert}")
        raise typer.Exit(2) from exc
    ctx = _context(_settings(data_dir))
    try:
        with ctx.sessions() as session:
            ids = signed_by(session, fingerprint(certificate))
    finally:
        ctx.close()
    print(json.dumps({"fingerprint": fingerprint(certificate), "count": len(ids), "licences": ids}))


@trust_app.command("export")
def trust_export(out: Annotated[Path, typer.Option(dir_okay=False)], data_dir: DataDir = DEFAULT_DATA_DIR,
                 with_status: Annotated[bool, typer.Option(
                     "--with-status", help="write a bundle: the trust list plus every current status list")] = False
                 ) -> None:
    """Write the signed trust list (or, --with-status, a bundle with the status lists) for offline verifiers."""
    from .trust.service import current_trust_list

    ctx = _context(_settings(data_dir))
    try:
        with ctx.sessions() as session:
            trust_bytes = current_trust_list(ctx, session).to_bytes()
            if with_status:
                from .status.service import export_tokens

                bundle = {"format": "licex-trust-bundle/1",
                          "exported_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
                          "trust_list": trust_bytes.decode("ascii"), "status_lists": export_tokens(ctx, session)}
                out.write_text(json.dumps(bundle, indent=1))
            else:
                out.write_bytes(trust_bytes)
    finally:
        ctx.close()
    console.print(f"{'trust bundle' if with_status else 'trust list'} written to {out}")


@app.command()
def verify(file: Annotated[Path, typer.Argument(dir_okay=False)],
           trust: Annotated[Path | None, typer.Option(
               help="trust list file, or a bundle with status lists (licex trust export [--with-status])")] = None,
           as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
           status_url: Annotated[str | None, typer.Option(
               help="learn the status online from this exchange (its base URL)")] = None,
           no_status: Annotated[bool, typer.Option(
               "--no-status", help="accept without checking revocation/suspension (said in the output)")] = False,
           max_status_age: Annotated[int, typer.Option(
               min=1, help="offline bundle: refuse status lists older than this many hours")] = 24,
           allow_stale: Annotated[bool, typer.Option(help="accept a trust list past next_update")] = False) -> None:
    """Verify a licence (.sd-jwt) or a sealed proof (PDF). Exit 0 valid, 1 invalid or status unknown, 2 input
    error. The status must be learnt (--status-url, or a bundle from `licex trust export --with-status`)
    unless --no-status says to skip it: otherwise the result is INDETERMINATE (STATUS_UNAVAILABLE), exit 1."""
    from verifier.errors import VerifierError

    try:
        if trust is None:
            raise VerifierError("--trust FILE is required (licex trust export)", code="USAGE")
        if no_status and status_url:
            raise VerifierError("--no-status and --status-url exclude each other", code="USAGE")
        trust_list, status = _verifier_inputs(trust.read_bytes(), status_url, allow_stale=allow_stale,
                                              max_age_hours=max_status_age)
        require = not no_status
        data = file.read_bytes()
        if data.startswith(b"%PDF"):
            from verifier.proof import verify_proof_pdf

            result: Any = verify_proof_pdf(data, trust_list, status=status, require_status=require)
        else:
            from verifier.licence import verify_licence

            result = verify_licence(data.decode("ascii").strip(), trust_list, status=status,
                                    require_status=require)
    except (OSError, UnicodeDecodeError, VerifierError) as exc:
        if as_json:
            print(json.dumps({"valid": False, "error": getattr(exc, "code", type(exc).__name__),
                              "detail": str(exc)}))
        else:
            console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    status_checked = result.details.get("status") != "not_checked"
    if as_json:
        print(json.dumps({"valid": result.valid, "outcome": result.outcome, "codes": list(result.codes),
                          "verdict": result.verdict, "status_checked": status_checked,
                          "issuer": result.issuer, "subject": result.subject,
                          "details": _jsonable(dict(result.details))}, ensure_ascii=False))
    else:
        print(result.verdict)
        if not status_checked:
            print("WARNING: status not checked (--no-status): revocation and suspension are unknown")
    raise typer.Exit(0 if result.valid else 1)


def _verifier_inputs(raw: bytes, status_url: str | None, *, allow_stale: bool,
                     max_age_hours: int) -> tuple[Any, Any]:
    """(trust list, status source or None) from a trust list file or a status bundle."""
    from datetime import timedelta

    from verifier.errors import VerifierError
    from verifier.status_list import StatusListClient, load_bundle
    from verifier.trust import TrustList

    status: Any = None
    if raw.lstrip().startswith(b"{"):
        trust_bytes, tokens, _exported = load_bundle(raw)
        trust_list = TrustList.load(trust_bytes, allow_stale=allow_stale)
        status = StatusListClient.from_bundle(tokens, trust_list, max_age=timedelta(hours=max_age_hours))
    else:
        trust_list = TrustList.load(raw, allow_stale=allow_stale)
    if status_url:
        from verifier.status import ExchangeStatusSource

        try:
            status = ExchangeStatusSource(status_url, trust_list)
        except ValueError as exc:
            raise VerifierError(str(exc), code="USAGE") from exc
    return trust_list, status


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str, ensure_ascii=False))


def main() -> None:  # pragma: no cover - console entry
    sys.exit(app())
