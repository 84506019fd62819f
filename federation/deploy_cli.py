"""`hotline federation` deployment commands: PKI, SuperLink, SuperNodes, runs, registry, audit, ledger."""

from __future__ import annotations

import datetime as dt
import json
import signal
import time
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import typer

from federation.audit import AuditError, append_rounds, verify
from federation.deploy import DeployError, FlwrCli, ManagedProcess, stage_app, start_superlink, start_supernode
from federation.pki import PkiError, PkiLayout, init_pki, load_audit_private_key, load_audit_public_key
from federation.registry import ModelRegistry, RegistryError, read_rounds, sha256_of_dir
from federation.task import TaskConfig, TaskConfigError, check_dual_config

__all__ = ["deploy_app", "department_state_dir", "read_node_names"]

deploy_app = typer.Typer(help="联邦部署 Federation deployment: SuperLink, SuperNodes, runs, registry, audit.", no_args_is_help=True)
registry_app = typer.Typer(help="模型仓库 Model registry: list and promote versions.", no_args_is_help=True)
audit_app = typer.Typer(help="审计记录 Signed round audit trail.", no_args_is_help=True)
deploy_app.add_typer(registry_app, name="registry")
deploy_app.add_typer(audit_app, name="audit")

NODES_FILE = "nodes.json"
SUPERLINK_FILE = "superlink.json"
AUDIT_FILE = "audit.jsonl"

PKI_OPTION = typer.Option(Path("federation-pki"), "--pki", envvar="HOTLINE_FEDERATION_PKI_DIR", help="PKI directory (init-pki --out).")
STATE_OPTION = typer.Option(
    Path("federation-state"), "--state-dir", envvar="HOTLINE_FEDERATION_STATE_DIR", help="Deployment state directory."
)


def _fail(code: str, message: str) -> NoReturn:
    typer.echo(f"错误 error [{code}]: {message}", err=True)
    raise typer.Exit(1)


@contextmanager
def _errors() -> Iterator[None]:
    """Turn the deployment modules' errors into one clear CLI line."""
    try:
        yield
    except (DeployError, PkiError, RegistryError, AuditError) as exc:
        _fail(exc.code, str(exc))
    except OSError as exc:
        _fail("os_error", str(exc))


def department_state_dir(state_dir: Path, department_id: str) -> Path:
    """Where a department's SuperNode keeps its DP ledger and egress log (node config `state-dir`)."""
    return state_dir / f"supernode-{department_id}" / "dp-state"


def read_node_names(state_dir: Path) -> dict[str, str]:
    """Registered Flower node ids mapped to department ids (written by `superlink`/`register`)."""
    path = state_dir / NODES_FILE
    if not path.is_file():
        return {}
    return {str(k): str(v) for k, v in json.loads(path.read_text(encoding="utf-8")).items()}


def _write_node_names(state_dir: Path, names: dict[str, str]) -> None:
    state_dir.mkdir(parents=True, exist_ok=True)
    tmp = state_dir / f".{NODES_FILE}.tmp"
    tmp.write_text(json.dumps(names, ensure_ascii=False, indent=2), encoding="utf-8")
    tmp.replace(state_dir / NODES_FILE)


def _superlink_address(state_dir: Path, override: str | None) -> str:
    if override:
        return override
    path = state_dir / SUPERLINK_FILE
    if not path.is_file():
        _fail("superlink_unknown", f"未找到 SuperLink 信息 no {path}; start `superlink` first or pass --superlink HOST:PORT")
    return str(json.loads(path.read_text(encoding="utf-8"))["address"])


def _operator_cli(pki: Path, state_dir: Path, superlink: str | None) -> FlwrCli:
    layout = PkiLayout(pki)
    if not layout.ca_cert.is_file():
        _fail("pki_file_missing", f"缺少 CA 证书 missing CA certificate {layout.ca_cert}")
    return FlwrCli(flwr_home=state_dir / "operator", superlink_address=_superlink_address(state_dir, superlink), ca_cert=layout.ca_cert)


def _register_departments(cli: FlwrCli, layout: PkiLayout, state_dir: Path, departments: list[str]) -> list[str]:
    """Register departments' public keys that this state dir has not registered yet."""
    names = read_node_names(state_dir)
    done = set(names.values())
    added = []
    for department in departments:
        if department in done:
            continue
        public_key = layout.node_public_key(department)
        if not public_key.is_file():
            raise PkiError("node_key_missing", f"部门 {department} 没有公钥 no public key at {public_key}")
        node_id = cli.register_node(public_key=public_key, name=department)
        names[str(node_id)] = department
        _write_node_names(state_dir, names)
        added.append(department)
    return added


class _Stopped(BaseException):
    """SIGINT/SIGTERM arrived: unwind so every started process is stopped."""


@contextmanager
def _stop_on_signal() -> Iterator[None]:
    """Turn SIGINT/SIGTERM into `_Stopped` for the duration (foreground, systemd-style services)."""

    def handler(signum: int, frame: object) -> None:
        raise _Stopped()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    except _Stopped:
        pass
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _serve(process: ManagedProcess) -> None:
    """Wait until a signal (raises `_Stopped`) or the process dies; always stop it."""
    try:
        while process.alive():
            time.sleep(0.5)
    finally:
        died = not process.alive()
        code = process.stop()
    if died:
        _fail("process_exited", f"{process.name} 意外退出 exited with code {code}:\n{process.log_tail()}")


@deploy_app.command("init-pki")
def init_pki_command(
    out: Path = typer.Option(..., "--out", help="PKI directory to create or complete."),
    department: list[str] = typer.Option([], "--department", "-d", help="Department id (repeatable)."),
    hostname: list[str] = typer.Option([], "--hostname", help="Extra SuperLink host name or IP for the certificate (repeatable)."),
) -> None:
    """Create the CA, SuperLink TLS certificate, audit signing key and one SuperNode key pair per department."""
    with _errors():
        layout = init_pki(pki_dir=out, departments=department, hostnames=hostname or None)
    typer.echo(json.dumps({"pki": str(out), "ca_cert": str(layout.ca_cert), "departments": layout.departments()}, ensure_ascii=False))


@deploy_app.command("superlink")
def superlink_command(
    pki: Path = PKI_OPTION,
    state_dir: Path = STATE_OPTION,
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (Fleet, Control and Runtime APIs share one port)."),
    port: int = typer.Option(9093, "--port", help="HTTPS port."),
    register: bool = typer.Option(True, "--register/--no-register", help="Register every department key in the PKI."),
) -> None:
    """Run the SuperLink (TLS, SuperNode authentication) in the foreground until stopped."""
    with _errors(), _stop_on_signal():
        layout = PkiLayout(pki)
        process = start_superlink(pki_dir=pki, state_dir=state_dir, host=host, port=port)
        try:
            connect_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
            address = f"{connect_host}:{port}"
            (state_dir / SUPERLINK_FILE).write_text(json.dumps({"address": address, "pid": process.pid}), encoding="utf-8")
            if register:
                cli = FlwrCli(flwr_home=state_dir / "operator", superlink_address=address, ca_cert=layout.ca_cert)
                added = _register_departments(cli, layout, state_dir, layout.departments())
                typer.echo(f"已注册部门 registered departments: {', '.join(added) or '-'}", err=True)
        except BaseException:
            process.stop()
            raise
        typer.echo(f"SuperLink 运行中 running on {address} (pid {process.pid}); log: {process.log_path}", err=True)
        _serve(process)


@deploy_app.command("register")
def register_command(
    department: list[str] = typer.Option(..., "--department", "-d", help="Department id whose public key to register (repeatable)."),
    pki: Path = PKI_OPTION,
    state_dir: Path = STATE_OPTION,
    superlink: str | None = typer.Option(None, "--superlink", help="SuperLink HOST:PORT (default: from the state dir)."),
) -> None:
    """Register departments' SuperNode public keys with the running SuperLink."""
    with _errors():
        cli = _operator_cli(pki, state_dir, superlink)
        added = _register_departments(cli, PkiLayout(pki), state_dir, department)
    typer.echo(json.dumps({"registered": added}, ensure_ascii=False))


@deploy_app.command("join")
def join_command(
    department: str = typer.Option(..., "--department", "-d", help="This department's id."),
    data: Path = typer.Option(..., "--data", help="The department's training CSV (stays on this machine)."),
    superlink: str = typer.Option(..., "--superlink", help="SuperLink HOST:PORT."),
    pki: Path = PKI_OPTION,
    state_dir: Path = STATE_OPTION,
    runtime_port: int = typer.Option(9094, "--runtime-port", help="Local port of the SuperNode's runtime API."),
) -> None:
    """Run this department's SuperNode in the foreground: TLS, its authentication key, its own data."""
    if not data.is_file():
        _fail("data_missing", f"找不到部门数据 department data not found: {data}")
    with _errors(), _stop_on_signal():
        process = start_supernode(
            pki_dir=pki,
            department_id=department,
            superlink_address=superlink,
            data_path=data.resolve(),
            state_dir=state_dir,
            runtime_port=runtime_port,
            extra_node_config={"state-dir": str(department_state_dir(state_dir, department).resolve())},
        )
        typer.echo(f"SuperNode {department} 已连接 connected to {superlink} (pid {process.pid}); log: {process.log_path}", err=True)
        _serve(process)


def _parse_config(pairs: list[str]) -> dict[str, str | int | float | bool]:
    config: dict[str, str | int | float | bool] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            _fail("run_config_invalid", f"运行配置应为 KEY=VALUE expected KEY=VALUE, got {pair!r}")
        try:
            value = tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw
        config[key.strip()] = value
    return config


def _default_app_dir() -> Path:
    return Path(__file__).resolve().parent.parent


@deploy_app.command("run")
def run_command(
    pki: Path = PKI_OPTION,
    state_dir: Path = STATE_OPTION,
    registry: Path = typer.Option(Path("federation-registry"), "--registry", envvar="HOTLINE_FEDERATION_REGISTRY_DIR", help="Model registry directory."),
    rounds: int | None = typer.Option(None, "--rounds", min=1, help="num-server-rounds for this run."),
    config: list[str] = typer.Option([], "--config", "-c", help="Run-config override KEY=VALUE (repeatable)."),
    timeout_s: float = typer.Option(3600.0, "--timeout-s", help="Give up (and stop the run) after this many seconds."),
    superlink: str | None = typer.Option(None, "--superlink", help="SuperLink HOST:PORT (default: from the state dir)."),
    app_dir: Path | None = typer.Option(None, "--app-dir", help="Flower app project (default: this checkout)."),
    package: list[str] = typer.Option(["federation"], "--package", help="Python package(s) the FAB carries."),
) -> None:
    """Submit a run, wait for it, register the model version and append the signed audit entries."""
    overrides = _parse_config(config)
    if rounds is not None:
        overrides["num-server-rounds"] = rounds
    if app_dir is None:
        try:
            run_config = TaskConfig.from_run_config(overrides)
            check_dual_config(run_config)
            run_config.new_model()
        except TaskConfigError as exc:
            _fail("run_config_invalid", str(exc))
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out_dir = (state_dir / "runs" / stamp).resolve()
    overrides.setdefault("model-out-dir", str(out_dir))
    out_dir = Path(str(overrides["model-out-dir"]))
    with _errors():
        layout = PkiLayout(pki)
        signing_key = load_audit_private_key(layout.audit_key)
        cli = _operator_cli(pki, state_dir, superlink)
        staged = stage_app(
            project_dir=app_dir or _default_app_dir(),
            out_dir=state_dir / "fab-staging",
            packages=package,
            extra_config=overrides,
        )
        run_id = cli.submit_run(app_dir=staged, run_config=overrides)
        typer.echo(f"已提交运行 submitted run {run_id}; waiting up to {timeout_s:.0f} s", err=True)
        status = cli.wait_for_run(run_id, timeout_s=timeout_s)
        if not status.succeeded:
            tail = "\n".join(cli.logs(run_id).strip().splitlines()[-15:])
            _fail("run_failed", f"运行 {run_id} 结束状态 finished as {status.status}; ServerApp log tail:\n{tail}")
        names = read_node_names(state_dir)
        version = ModelRegistry(registry).register(model_dir=out_dir, run_id=str(run_id), node_names=names)
        entries = append_rounds(
            state_dir / AUDIT_FILE,
            signing_key=signing_key,
            run_id=str(run_id),
            rounds=read_rounds(out_dir, node_names=names),
            final_model_sha256=sha256_of_dir(out_dir),
            created_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        )
    summary = {
        "run_id": str(run_id),
        "status": status.status,
        "elapsed_s": round(status.elapsed_s, 1),
        "bytes_in": status.inbound_bytes,
        "bytes_out": status.outbound_bytes,
        "version": version.version,
        "model_dir": str(version.path),
        "audit_entries": len(entries),
    }
    typer.echo(json.dumps(summary, ensure_ascii=False))


@deploy_app.command("status")
def status_command(
    pki: Path = PKI_OPTION,
    state_dir: Path = STATE_OPTION,
    superlink: str | None = typer.Option(None, "--superlink", help="SuperLink HOST:PORT (default: from the state dir)."),
) -> None:
    """Show the SuperLink's departments (online/offline) and runs as JSON."""
    with _errors():
        cli = _operator_cli(pki, state_dir, superlink)
        names = read_node_names(state_dir)
        nodes = [
            {"department": names.get(str(n["node-id"]), "?"), "node_id": str(n["node-id"]), "status": n["status"], "online_at": n.get("online-at")}
            for n in cli.list_nodes()
        ]
        runs = [
            {"run_id": str(r.run_id), "status": r.status, "elapsed_s": round(r.elapsed_s, 1), "bytes": r.inbound_bytes + r.outbound_bytes}
            for r in cli.runs()
        ]
    typer.echo(json.dumps({"superlink": cli.superlink_address, "nodes": nodes, "runs": runs}, ensure_ascii=False, indent=2))


def ledger_paths(state_dir: Path, department: str | None) -> list[tuple[str, Path]]:
    """(department id, ledger file) pairs: a deployment's SuperNode state dirs or a simulation's OUT/state."""
    from federation.privacy import LEDGER_FILE

    if department is not None:
        candidates = [department_state_dir(state_dir, department) / LEDGER_FILE, state_dir / department / LEDGER_FILE]
        return [(department, path) for path in candidates if path.is_file()][:1]
    if (state_dir / LEDGER_FILE).is_file():
        return [(state_dir.name, state_dir / LEDGER_FILE)]
    deployed = [
        (path.parent.parent.name.removeprefix("supernode-"), path)
        for path in sorted(state_dir.glob(f"supernode-*/dp-state/{LEDGER_FILE}"))
    ]
    simulated = [(path.parent.name, path) for path in sorted(state_dir.glob(f"*/{LEDGER_FILE}"))]
    return deployed + simulated


@deploy_app.command("ledger")
def ledger_command(
    department: str | None = typer.Option(
        None, "--department", "-d", help="Department id (default: every department under the state dir)."
    ),
    state_dir: Path = STATE_OPTION,
) -> None:
    """Show departments' differential-privacy (ε, δ) ledgers, one JSON line each."""
    from federation.privacy import PrivacyLedger

    found = ledger_paths(state_dir, department)
    if not found:
        who = f"部门 {department}" if department else "该目录"
        _fail("ledger_missing", f"{who}尚无隐私账本 no privacy ledger under {state_dir}")
    for department_id, path in found:
        try:
            summary = PrivacyLedger(path, department_id=department_id).summary()
        except (ValueError, KeyError, TypeError) as exc:
            _fail("ledger_invalid", f"{path}: 隐私账本无法读取 unreadable ledger ({exc})")
        summary["releases"] = len(summary.pop("releases"))
        typer.echo(json.dumps(summary, ensure_ascii=False))


@registry_app.command("list")
def registry_list(
    registry: Path = typer.Option(Path("federation-registry"), "--registry", envvar="HOTLINE_FEDERATION_REGISTRY_DIR"),
) -> None:
    """List model versions (JSON lines); the promoted one is marked."""
    with _errors():
        store = ModelRegistry(registry)
        promoted = store.promoted_version()
        for version in store.versions():
            manifest = version.manifest()
            manifest["promoted"] = promoted is not None and promoted.version == version.version
            typer.echo(json.dumps(manifest, ensure_ascii=False))


@registry_app.command("promote")
def registry_promote(
    version: str = typer.Argument(..., help="Version to promote, e.g. v0003."),
    registry: Path = typer.Option(Path("federation-registry"), "--registry", envvar="HOTLINE_FEDERATION_REGISTRY_DIR"),
    metric: str = typer.Option("macro-f1", "--metric", help="Per-department evaluation metric compared."),
    margin: float = typer.Option(0.02, "--margin", help="Largest drop allowed for any department."),
    force: bool = typer.Option(False, "--force", help="Promote even if departments regress (recorded in the pointer)."),
) -> None:
    """Promote a version if no department's local evaluation drops by more than the margin."""
    with _errors():
        decision = ModelRegistry(registry).promote(version, metric=metric, margin=margin, force=force)
    typer.echo(
        json.dumps(
            {"promoted": version, "previous": decision.baseline, "regressions": [r.describe() for r in decision.regressions]},
            ensure_ascii=False,
        )
    )


@audit_app.command("verify")
def audit_verify(
    trail: Path = typer.Option(..., "--trail", help="audit.jsonl from the SuperLink."),
    public_key: Path = typer.Option(..., "--public-key", help="The SuperLink's audit_ed25519.pub."),
    expected_head: str | None = typer.Option(None, "--expected-head", help="A head hash recorded earlier (detects truncation)."),
) -> None:
    """Verify the signed hash chain: edits, deletions and reordering fail with the first bad line."""
    with _errors():
        report = verify(trail, load_audit_public_key(public_key), expected_head=expected_head)
    typer.echo(json.dumps({"ok": True, "entries": report.entries, "head_hash": report.head_hash, "runs": report.runs}))
