"""`hotline prereview ...`: check an application's files against a service, or inspect files alone."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from guides import Service, load_catalog, load_demo_catalog
from prereview.pipeline import Pipeline
from prereview.report import Report
from prereview.settings import PrereviewSettings

app = typer.Typer(help="文件预审 Document pre-review.", no_args_is_help=True)

VERDICT_TEXT = {"pass": "通过 pass", "needs_fix": "需补正 needs fix", "needs_review": "需人工复核 needs review"}
STATUS_TEXT = {"ok": "齐全", "missing": "缺少", "defective": "有问题", "uncertain": "待核对"}


def _fail(message: str) -> None:
    typer.echo(f"错误 error: {message}", err=True)
    raise typer.Exit(code=2)


def _read_files(paths: list[Path]) -> list[tuple[str, bytes]]:
    files = []
    for path in paths:
        if not path.is_file():
            _fail(f"file not found: {path}")
        files.append((path.name, path.read_bytes()))
    return files


def _find_service(code: str, catalog_dir: Path | None) -> Service:
    try:
        services = load_catalog(catalog_dir) if catalog_dir else load_demo_catalog()
    except (ValueError, OSError) as error:
        _fail(f"cannot load catalog: {error}")
    for service in services:
        if service.code == code:
            return service
    known = ", ".join(sorted(s.code for s in services)[:12])
    _fail(f"unknown service {code!r}; known services include: {known}")
    raise AssertionError("unreachable")


def _json_object(text: str | None, what: str) -> dict[str, Any]:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        _fail(f"{what} is not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})")
    if not isinstance(value, dict):
        _fail(f"{what} must be a JSON object")
    return value


def _pipeline() -> Pipeline:
    try:
        return Pipeline.create(settings=PrereviewSettings())
    except (ValueError, RuntimeError) as error:
        _fail(f"cannot start the OCR engine: {error}")
    raise AssertionError("unreachable")


def _print(report: Report, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(report.to_json_dict(), ensure_ascii=False, indent=2))
        return
    console = Console()
    console.print(f"[bold]结论 Verdict:[/bold] {VERDICT_TEXT[report.verdict]}"
                  + (f"    事项 Service: {report.service}" if report.service else ""))
    if report.materials is not None:
        table = Table(title="材料 Materials")
        for column in ("材料 material", "状态 status", "页面 pages"):
            table.add_column(column)
        for material in report.materials:
            table.add_row(material.material, f"{STATUS_TEXT[material.status]} {material.status}",
                          ", ".join(f"{file}#{page}" for file, page in material.pages))
        console.print(table)
    table = Table(title="问题 Findings")
    for column in ("级别 severity", "代码 code", "文件 file", "说明 message"):
        table.add_column(column)
    for finding in report.findings:
        where = f"{finding.file}#{finding.page}" if finding.file else (finding.material or "")
        table.add_row(finding.severity, finding.code.value, where, finding.message)
    console.print(table if report.findings else "无问题 No findings.")


@app.command()
def check(
    files: Annotated[list[Path], typer.Argument(help="Uploaded files (images or PDF).")],
    service: Annotated[str, typer.Option("--service", help="Service code, e.g. scjg-gtgsh-sl.")],
    form: Annotated[Path | None, typer.Option("--form", help="JSON file with the applicant's form data.")] = None,
    facts: Annotated[str | None, typer.Option("--facts", help='Applicant facts as JSON, e.g. {"is_agent": true}.')] = None,
    date: Annotated[str | None, typer.Option("--date", help="Application date YYYY-MM-DD (default today).")] = None,
    catalog: Annotated[Path | None, typer.Option("--catalog", help="Folder of catalog YAML files.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report JSON.")] = False,
) -> None:
    """Pre-review an application's files against a service's material list."""
    target = _find_service(service, catalog)
    form_data: dict[str, Any] = {}
    if form is not None:
        if not form.is_file():
            _fail(f"form file not found: {form}")
        form_data = _json_object(form.read_text(encoding="utf-8"), f"form file {form}")
    facts_data = _json_object(facts, "--facts")
    application_date = None
    if date:
        try:
            application_date = dt.date.fromisoformat(date)
        except ValueError:
            _fail(f"--date must be YYYY-MM-DD, got {date!r}")
    uploads = _read_files(files)
    report = _pipeline().check(service=target, files=uploads, form=form_data, facts=facts_data,
                               application_date=application_date)
    _print(report, as_json)


@app.command()
def inspect(
    files: Annotated[list[Path], typer.Argument(help="Files to inspect (images or PDF).")],
    date: Annotated[str | None, typer.Option("--date", help="Reference date YYYY-MM-DD for validity checks.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report JSON.")] = False,
) -> None:
    """Check files on their own: quality, document type, ID numbers, credit codes, validity."""
    reference = None
    if date:
        try:
            reference = dt.date.fromisoformat(date)
        except ValueError:
            _fail(f"--date must be YYYY-MM-DD, got {date!r}")
    uploads = _read_files(files)
    _print(_pipeline().inspect(files=uploads, application_date=reference), as_json)
