"""The `hotline` command: one Typer app composing every package's commands."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.progress import Progress
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from federation.cli import app as federation_app
from federation.cli import intent_app
from guides import CatalogError, create_environment, import_export, render_guide
from hotline.accounts import create_user, list_users, set_user_active
from hotline.catalog import get_service_version, list_current_services, service_from_row, store_services
from hotline.db import create_db_engine, create_session_factory, session_scope, upgrade_database
from hotline.errors import HotlineError
from hotline.models import Role
from hotline.search import CatalogSearch
from hotline.settings import HotlineSettings
from prereview.cli import app as prereview_app

IMPORT_BATCH_SIZE = 500

app = typer.Typer(help="12345 热线 / 12345 citizen hotline.", no_args_is_help=True, pretty_exceptions_enable=False)
app.add_typer(prereview_app, name="prereview")
app.add_typer(federation_app, name="federation")
app.add_typer(intent_app, name="intent")

db_app = typer.Typer(help="数据库 Database schema.", no_args_is_help=True)
guides_app = typer.Typer(help="办事指南目录 Service catalog.", no_args_is_help=True)
users_app = typer.Typer(help="工作人员账号 Staff accounts.", no_args_is_help=True)
submissions_app = typer.Typer(help="预审申请 Citizen submissions and their uploaded files.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(guides_app, name="guides")
app.add_typer(users_app, name="users")
app.add_typer(submissions_app, name="submissions")


class CliError(Exception):
    """A failure to report as one line with an exit code."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@contextmanager
def _database() -> Iterator[tuple[HotlineSettings, sessionmaker[Session]]]:
    settings = HotlineSettings()
    engine = create_db_engine(settings.resolved_database_url)
    try:
        yield settings, create_session_factory(engine)
    finally:
        engine.dispose()


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes")] = 1,
) -> None:
    """运行网站 Run the web server (uvicorn)."""
    import uvicorn

    HotlineSettings()  # fail fast, with one line, on bad settings
    uvicorn.run("hotline.web:create_app", factory=True, host=host, port=port, workers=workers, proxy_headers=True)


@app.command()
def worker() -> None:
    """后台任务 Run job-queue workers (pre-review of uploads, upload purge) until SIGINT/SIGTERM."""
    from hotline.jobs import run_worker

    run_worker(HotlineSettings())


@app.command()
def setup() -> None:
    """初始化 Migrate the database, load the demo catalog once, create a development admin."""
    from hotline.setup import DEV_ADMIN_USERNAME, run_setup

    with _database() as (settings, factory):
        result = run_setup(settings=settings, session_factory=factory)
    typer.echo(f"database: {settings.resolved_database_url.split('@')[-1]} (schema up to date)")
    typer.echo(
        f"demo catalog: {result.services_loaded} services loaded"
        if result.services_loaded
        else "demo catalog: already loaded"
    )
    if result.admin_password:
        typer.echo(f"development admin created — username: {DEV_ADMIN_USERNAME}  password: {result.admin_password}")
        typer.echo("(shown once; create real accounts with `hotline users create`)")
    typer.echo(result.intent_model)


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision")] = "head") -> None:
    """升级数据库 Bring the database schema up to date."""
    with _database() as (settings, factory):
        upgrade_database(factory.kw["bind"], revision)
    typer.echo(f"database schema at {revision}")


@guides_app.command("import")
def guides_import(
    file: Annotated[Path, typer.Argument(help="JSON-lines export (one service item per line)")],
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON summary as the last line")] = False,
    skip_invalid: Annotated[bool, typer.Option(help="Store the valid lines even if some fail")] = False,
    actor: Annotated[str, typer.Option(help="Name recorded in the audit log")] = "cli-import",
) -> None:
    """导入 Import an export file: each service is stored as a new version (validated before writing)."""
    started = time.perf_counter()
    if not file.is_file():
        raise CliError(f"{file}: no such file", exit_code=2)
    outcomes = list(import_export(file))
    failures = [o for o in outcomes if not o.ok]
    services = [o.service for o in outcomes if o.service is not None]
    if not outcomes:
        raise CliError(f"{file}: no records found", exit_code=2)
    if failures and not skip_invalid:
        raise CliError(
            f"{failures[0].error} ({len(failures)} of {len(outcomes)} lines invalid; nothing imported)", exit_code=2
        )
    for failure in failures:
        typer.echo(f"skipped {failure.error}", err=True)
    with _database() as (_settings, factory):
        with Progress(disable=not sys.stdout.isatty()) as progress:
            task = progress.add_task("导入 Importing", total=len(services))
            for start in range(0, len(services), IMPORT_BATCH_SIZE):
                batch = services[start : start + IMPORT_BATCH_SIZE]
                with session_scope(factory) as session:
                    store_services(session, services=batch, actor=actor)
                progress.advance(task, len(batch))
    seconds = round(time.perf_counter() - started, 3)
    summary = {
        "imported": len(services),
        "failed": len(failures),
        "seconds": seconds,
        "warnings": sum(len(o.warnings) for o in outcomes),
        "file": str(file),
    }
    if as_json:
        typer.echo(json.dumps(summary, ensure_ascii=False))
    else:
        typer.echo(f"imported {len(services)} services, {len(failures)} failed, in {seconds} s")


@guides_app.command("list")
def guides_list(
    department: Annotated[str | None, typer.Option(help="Only this department's services")] = None,
) -> None:
    """列出事项 List current services (code, version, department, name)."""
    with _database() as (_settings, factory), session_scope(factory) as session:
        for row in list_current_services(session, department=department):
            typer.echo(f"{row.code}\tv{row.version}\t{row.department}\t{row.name}")


@guides_app.command("render")
def guides_render(
    code: Annotated[str, typer.Argument(help="Service code")],
    version: Annotated[int | None, typer.Option(min=1, help="A past version (default: current)")] = None,
) -> None:
    """输出指南 Print a service's guide as a standalone HTML page."""
    with _database() as (_settings, factory), session_scope(factory) as session:
        service = service_from_row(get_service_version(session, code=code, version=version))
    typer.echo(render_guide(service, env=create_environment(inline_css=True)))


@guides_app.command("search")
def guides_search(
    query: Annotated[str, typer.Argument(help="What the citizen said")],
    limit: Annotated[int, typer.Option(min=1, max=100)] = 10,
) -> None:
    """搜索事项 Search the catalog (code, score, department, name)."""
    with _database() as (_settings, factory), session_scope(factory) as session:
        hits = CatalogSearch(background=False).search(session, query=query, limit=limit)
    if not hits:
        typer.echo("没有找到相关事项 / no matching services")
    for hit in hits:
        typer.echo(f"{hit.service.code}\t{hit.score:.3f}\t{hit.service.department}\t{hit.service.name}")


@users_app.command("create")
def users_create(
    username: Annotated[str, typer.Argument(help="Sign-in name")],
    role: Annotated[Role, typer.Option(help="admin or clerk")],
    department: Annotated[list[str] | None, typer.Option(help="Department of a clerk (repeatable)")] = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from stdin")] = False,
) -> None:
    """创建账号 Create a staff account (password asked for, or read from stdin)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("密码 Password", hide_input=True, confirmation_prompt=True)
    with _database() as (_settings, factory), session_scope(factory) as session:
        user = create_user(
            session, username=username, password=password, role=role, departments=department or (), actor="cli"
        )
        departments = user.departments
    typer.echo(f"created {role.value} {username}" + (f" for {', '.join(departments)}" if departments else ""))


@users_app.command("list")
def users_list() -> None:
    """列出账号 List staff accounts: username, role, active, departments."""
    with _database() as (_settings, factory), session_scope(factory) as session:
        for user in list_users(session):
            state = "active" if user.is_active else "disabled"
            typer.echo(f"{user.username}\t{user.role}\t{state}\t{', '.join(user.departments)}")


@users_app.command("disable")
def users_disable(username: Annotated[str, typer.Argument(help="Sign-in name")]) -> None:
    """停用账号 Stop an account from signing in (its sessions end at the next request)."""
    with _database() as (_settings, factory), session_scope(factory) as session:
        set_user_active(session, username=username, active=False, actor="cli")
    typer.echo(f"disabled {username}")


@users_app.command("enable")
def users_enable(username: Annotated[str, typer.Argument(help="Sign-in name")]) -> None:
    """启用账号 Allow a disabled account to sign in again."""
    with _database() as (_settings, factory), session_scope(factory) as session:
        set_user_active(session, username=username, active=True, actor="cli")
    typer.echo(f"enabled {username}")


@submissions_app.command("purge")
def submissions_purge(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only report what would be deleted")] = False,
) -> None:
    """清理过期材料 Delete uploaded files and page images of closed submissions past HOTLINE_UPLOAD_RETENTION_DAYS."""
    from hotline.submissions import blob_store, purge_expired_uploads

    with _database() as (settings, factory):
        report = purge_expired_uploads(
            factory, store=blob_store(settings), retention_days=settings.upload_retention_days, dry_run=dry_run,
            actor="cli-purge",
        )
    if report.blobs_failed:
        raise CliError(report.line())
    typer.echo(report.line())


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ")
        return f"invalid setting HOTLINE_{field.upper()}: {message}" if field else f"invalid settings: {message}"
    if isinstance(exc, HotlineError):
        return f"{exc.code}: {exc.message}"
    if isinstance(exc, SQLAlchemyError):
        return f"database error: {str(exc.orig if hasattr(exc, 'orig') and exc.orig else exc).splitlines()[0]}"
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def main() -> None:
    """Console-script entry point: every expected failure is one line on stderr, never a traceback."""
    try:
        app()
    except CliError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except (CatalogError, ValidationError, HotlineError, SQLAlchemyError, OSError) as exc:
        typer.echo(f"error: {_one_line(exc)}", err=True)
        sys.exit(2)
    except Exception as exc:  # noqa: BLE001 — the last line of defence for operators
        typer.echo(f"error: unexpected {type(exc).__name__}: {_one_line(exc)}", err=True)
        sys.exit(1)
