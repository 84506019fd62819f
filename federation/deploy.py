"""Deployment engine: SuperLink and SuperNode processes with TLS and node authentication, and runs.

Flower 1.42 serves the SuperLink's Fleet, Control and Runtime APIs over one HTTPS port
(`--host/--port`); SuperNodes authenticate with an EC key whose public half the operator
registers through the Control API (`flwr supernode register`). This module starts those
processes in their own process groups, drives the `flwr` CLI with a private FLWR_HOME (the
operator's ~/.flwr is never touched) and stops everything without leaving orphans.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from federation.pki import PkiLayout

__all__ = [
    "CONNECTION_NAME",
    "DeployError",
    "FlwrCli",
    "ManagedProcess",
    "RunStatus",
    "find_free_port",
    "stage_app",
    "start_superlink",
    "start_supernode",
    "stop_all",
    "wait_supernode_active",
    "write_connection_config",
]

CONNECTION_NAME = "hotline"
"""Name of the SuperLink connection written into the private Flower config."""

_TERMINAL_PREFIX = "finished"
_NODE_ACTIVE_MARKER = "SuperNode ID:"
_LOG_TAIL_CHARS = 2000
_AUDITED_MODULE = "hotline_audited_serverapp"
# Operator-side modules no ServerApp or ClientApp imports; kept out of the FAB.
_OPERATOR_ONLY = {"federation": ("deploy.py", "deploy_cli.py", "pki.py", "registry.py")}


class DeployError(RuntimeError):
    """A deployment step failed; `code` is a stable snake_case string operators can grep."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _bin(name: str) -> str:
    """Path of a Flower console script installed next to this interpreter (falls back to PATH)."""
    candidate = Path(sys.executable).with_name(name)
    if candidate.is_file():
        return str(candidate)
    found = shutil.which(name)
    if found is None:
        raise DeployError("flower_not_installed", f"找不到 Flower 命令 Flower command not found: {name}")
    return found


def find_free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port that is free on `host` right now (for tests and local demos)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _start_time(pid: int) -> str | None:
    """Kernel start time of a process, to tell a live process from a reused pid."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def _descendants(root_pid: int) -> list[tuple[int, str]]:
    """All descendants of `root_pid` with their start times (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found: list[tuple[int, str]] = []
    stack = [root_pid]
    while stack:
        for child in children.get(stack.pop(), []):
            started = _start_time(child)
            if started is not None:
                found.append((child, started))
                stack.append(child)
    return found


@dataclass
class ManagedProcess:
    """A Flower process started in its own session, with its log file and stop logic."""

    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path
    address: str = ""
    extra: dict[str, str] = field(default_factory=dict)
    log_offset: int = 0

    @property
    def pid(self) -> int:
        """Process id (also its process-group id)."""
        return self.popen.pid

    def alive(self) -> bool:
        """Whether the process is still running."""
        return self.popen.poll() is None

    def log_tail(self, chars: int = _LOG_TAIL_CHARS) -> str:
        """The end of what this process wrote to its (appended) log, for error messages."""
        try:
            with open(self.log_path, "rb") as handle:
                handle.seek(self.log_offset)
                return handle.read().decode(errors="replace")[-chars:]
        except OSError:
            return ""

    def kill(self) -> None:
        """Kill the process group at once (SIGKILL), as a crash would; children are swept."""
        tree = _descendants(self.pid)
        if self.alive():
            os.killpg(self.pid, signal.SIGKILL)
        self.popen.wait(timeout=10)
        _sweep(tree, signal.SIGKILL)

    def stop(self, *, timeout_s: float = 15.0, tree: Sequence[tuple[int, str]] | None = None) -> int | None:
        """Stop gracefully: SIGTERM to the process group, SIGKILL after `timeout_s`, no orphans.

        Flower starts helper processes (SuperExec, ServerApp/ClientApp runners) in new
        sessions, so the process tree is captured first and any survivor is terminated.
        Returns the exit code. `tree` is a descendant snapshot taken before signalling.
        """
        tree = _descendants(self.pid) if tree is None else tree
        if self.alive():
            try:
                os.killpg(self.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.popen.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                os.killpg(self.pid, signal.SIGKILL)
                self.popen.wait(timeout=10)
        _sweep(tree, signal.SIGTERM)
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline and any(_start_time(p) == s for p, s in tree):
            time.sleep(0.1)
        _sweep(tree, signal.SIGKILL)
        return self.popen.returncode


def stop_all(processes: Sequence[ManagedProcess], *, timeout_s: float = 15.0) -> None:
    """Stop several processes at once: SIGTERM to every group first, then wait for each."""
    trees = [_descendants(process.pid) for process in processes]
    for process in processes:
        if process.alive():
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    for process, tree in zip(processes, trees, strict=True):
        process.stop(timeout_s=timeout_s, tree=tree)


def _sweep(tree: Sequence[tuple[int, str]], sig: signal.Signals) -> None:
    """Signal every recorded descendant that is still the same process."""
    for pid, started in tree:
        if _start_time(pid) == started:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass


def _spawn(name: str, argv: list[str], *, log_path: Path, env: Mapping[str, str], cwd: Path) -> ManagedProcess:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    offset = log_path.stat().st_size if log_path.exists() else 0
    with open(log_path, "ab") as log_file:
        popen = subprocess.Popen(  # noqa: S603 - argv is built from validated paths and ints
            argv,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=dict(env),
            cwd=cwd,
            start_new_session=True,
        )
    return ManagedProcess(name=name, popen=popen, log_path=log_path, log_offset=offset)


def _base_env(flwr_home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["FLWR_HOME"] = str(flwr_home)
    # Offline deployments: no telemetry calls and no update checks.
    env["FLWR_TELEMETRY_ENABLED"] = "0"
    env.setdefault("FLWR_DISABLE_UPDATE_CHECK", "1")
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
    return env


def _wait_port(process: ManagedProcess, host: str, port: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not process.alive():
            raise DeployError(
                "superlink_exited",
                f"SuperLink 启动失败 exited with code {process.popen.returncode}:\n{process.log_tail()}",
            )
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise DeployError("superlink_start_timeout", f"SuperLink 未在 {timeout_s:.0f} s 内就绪 not ready:\n{process.log_tail()}")


def _check_pki(layout: PkiLayout, paths: Sequence[Path]) -> None:
    for path in paths:
        if not path.is_file():
            raise DeployError(
                "pki_file_missing",
                f"证书或密钥缺失 missing PKI file: {path} (run `hotline federation init-pki` first)",
            )


def start_superlink(
    *,
    pki_dir: Path,
    state_dir: Path,
    host: str = "127.0.0.1",
    port: int = 9093,
    ready_timeout_s: float = 60.0,
) -> ManagedProcess:
    """Start a SuperLink with TLS and SuperNode authentication on one explicit HTTPS port.

    Runtime dependency installation is disabled (offline; the app's dependencies are the
    hotline's own environment). Link state (registered nodes, runs) persists in
    `state_dir/superlink.db`; the log goes to `state_dir/superlink.log`. Returns once the
    port accepts connections; raises `DeployError` if the process exits or times out.
    """
    layout = PkiLayout(pki_dir.resolve())
    _check_pki(layout, [layout.ca_cert, layout.server_cert, layout.server_key])
    state_dir = state_dir.resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    home = state_dir / "superlink-home"
    home.mkdir(parents=True, exist_ok=True)
    argv = [
        _bin("flower-superlink"),
        "--ssl-ca-certfile", str(layout.ca_cert),
        "--ssl-certfile", str(layout.server_cert),
        "--ssl-keyfile", str(layout.server_key),
        "--enable-supernode-auth",
        "--disable-runtime-dependency-installation",
        "--host", host,
        "--port", str(port),
        "--database", str(state_dir / "superlink.db"),
    ]  # fmt: skip
    process = _spawn("superlink", argv, log_path=state_dir / "superlink.log", env=_base_env(home), cwd=state_dir)
    process.address = f"{host}:{port}"
    try:
        _wait_port(process, host, port, ready_timeout_s)
    except BaseException:
        # Also on KeyboardInterrupt/SIGTERM while waiting: never leave a SuperLink behind.
        process.stop()
        raise
    return process


def _format_node_config(values: Mapping[str, str | int | float]) -> str:
    parts = []
    for key, value in values.items():
        if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", key):
            raise DeployError("invalid_node_config_key", f"节点配置键无效 invalid node-config key: {key!r}")
        parts.append(f"{key}={json.dumps(value) if isinstance(value, str) else value}")
    return " ".join(parts)


def start_supernode(
    *,
    pki_dir: Path,
    department_id: str,
    superlink_address: str,
    data_path: Path,
    state_dir: Path,
    runtime_port: int,
    extra_node_config: Mapping[str, str | int | float] | None = None,
    ready_timeout_s: float = 60.0,
    wait_ready: bool = True,
) -> ManagedProcess:
    """Start a department's SuperNode: TLS root, its authentication key and its node config.

    The node config carries `department-id` and `data-path` (plus `extra_node_config`).
    With `wait_ready`, returns once the SuperLink has accepted the node; raises
    `DeployError("supernode_refused")` if the node exits first (e.g. its public key is
    not registered) and `supernode_start_timeout` if it does not connect in time.
    """
    layout = PkiLayout(pki_dir.resolve())
    _check_pki(layout, [layout.ca_cert, layout.node_key(department_id)])
    node_state = state_dir.resolve() / f"supernode-{department_id}"
    node_state.mkdir(parents=True, exist_ok=True)
    config = {"department-id": department_id, "data-path": str(data_path.resolve()), **(extra_node_config or {})}
    argv = [
        _bin("flower-supernode"),
        "--root-certificates", str(layout.ca_cert),
        "--superlink", superlink_address,
        "--auth-supernode-private-key", str(layout.node_key(department_id)),
        "--node-config", _format_node_config(config),
        "--host", "127.0.0.1",
        "--port", str(runtime_port),
    ]  # fmt: skip
    process = _spawn(
        f"supernode-{department_id}",
        argv,
        log_path=node_state / "supernode.log",
        env=_base_env(node_state / "flwr-home"),
        cwd=node_state,
    )
    process.address = superlink_address
    process.extra["department_id"] = department_id
    if not wait_ready:
        return process
    try:
        wait_supernode_active(process, department_id, ready_timeout_s)
    except BaseException:
        process.stop()
        raise
    return process


def wait_supernode_active(process: ManagedProcess, department_id: str, timeout_s: float) -> None:
    """Wait until a SuperNode started with `wait_ready=False` is accepted by the SuperLink (see `start_supernode`)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if _NODE_ACTIVE_MARKER in process.log_tail(100_000):
            return
        if not process.alive():
            raise DeployError(
                "supernode_refused",
                f"SuperNode {department_id} 被拒绝或退出 was refused or exited "
                f"(code {process.popen.returncode}); is its public key registered?\n{process.log_tail()}",
            )
        time.sleep(0.2)
    raise DeployError("supernode_start_timeout", f"SuperNode {department_id} 未连接 did not connect:\n{process.log_tail()}")


def write_connection_config(*, flwr_home: Path, superlink_address: str, ca_cert: Path) -> Path:
    """Write a private Flower CLI config with one TLS connection named `CONNECTION_NAME`."""
    flwr_home.mkdir(parents=True, exist_ok=True)
    path = flwr_home / "config.toml"
    path.write_text(
        "[superlink]\n"
        f'default = "{CONNECTION_NAME}"\n\n'
        f"[superlink.{CONNECTION_NAME}]\n"
        f"address = {json.dumps(superlink_address)}\n"
        f"root-certificates = {json.dumps(str(ca_cert.resolve()))}\n",
        encoding="utf-8",
    )
    return path


@dataclass(frozen=True)
class RunStatus:
    """One run as the SuperLink reports it (`flwr list`)."""

    run_id: int
    status: str
    elapsed_s: float
    inbound_bytes: int
    outbound_bytes: int
    raw: dict[str, object]

    @property
    def finished(self) -> bool:
        """Whether the run reached a terminal state."""
        return self.status.startswith(_TERMINAL_PREFIX)

    @property
    def succeeded(self) -> bool:
        """Whether the run finished successfully."""
        return self.status == "finished:completed"

    @classmethod
    def from_json(cls, item: Mapping[str, object]) -> RunStatus:
        """Parse one entry of `flwr list --format json`."""
        traffic = item.get("network-traffic") or {}
        assert isinstance(traffic, dict)
        return cls(
            run_id=int(str(item["run-id"])),
            status=str(item["status"]),
            elapsed_s=float(str(item.get("elapsed", 0.0))),
            inbound_bytes=int(traffic.get("inbound-bytes", 0)),
            outbound_bytes=int(traffic.get("outbound-bytes", 0)),
            raw=dict(item),
        )


def _toml_value(value: str | int | float | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(value, ensure_ascii=False)


class FlwrCli:
    """The `flwr` CLI bound to one SuperLink through a private FLWR_HOME."""

    def __init__(self, *, flwr_home: Path, superlink_address: str, ca_cert: Path, timeout_s: float = 60.0) -> None:
        self.flwr_home = flwr_home.resolve()
        self.superlink_address = superlink_address
        self.timeout_s = timeout_s
        write_connection_config(flwr_home=self.flwr_home, superlink_address=superlink_address, ca_cert=ca_cert)

    def _call(self, args: list[str], *, cwd: Path | None = None) -> dict[str, object]:
        argv = [_bin("flwr"), *args, "--format", "json"]
        try:
            done = subprocess.run(  # noqa: S603 - fixed executable, validated arguments
                argv,
                capture_output=True,
                text=True,
                env=_base_env(self.flwr_home),
                cwd=cwd or self.flwr_home,
                timeout=self.timeout_s,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise DeployError("flwr_cli_timeout", f"flwr {args[0]} 超时 timed out after {self.timeout_s:.0f} s") from exc
        payload = _last_json_object(done.stdout)
        if done.returncode != 0 or payload is None or payload.get("success") is False:
            detail = (payload or {}).get("error-message") or (done.stderr or done.stdout).strip()[-_LOG_TAIL_CHARS:]
            raise DeployError("flwr_cli_failed", f"flwr {' '.join(args[:2])} 失败 failed: {detail}")
        return payload

    def register_node(self, *, public_key: Path, name: str) -> int:
        """Register a SuperNode's public key; returns the node id the SuperLink assigned."""
        payload = self._call(["supernode", "register", str(public_key.resolve()), CONNECTION_NAME, "--name", name])
        return int(str(payload["node-id"]))

    def list_nodes(self) -> list[dict[str, object]]:
        """Registered SuperNodes with their status (registered / online / offline)."""
        payload = self._call(["supernode", "list", CONNECTION_NAME])
        nodes = payload.get("nodes", [])
        assert isinstance(nodes, list)
        return nodes

    def submit_run(self, *, app_dir: Path, run_config: Mapping[str, str | int | float | bool] | None = None) -> int:
        """Build the FAB from `app_dir` (see `stage_app`) and start a run; returns the run id."""
        args = ["run", str(app_dir.resolve()), CONNECTION_NAME]
        if run_config:
            args += ["--run-config", " ".join(f"{k}={_toml_value(v)}" for k, v in run_config.items())]
        payload = self._call(args)
        return int(str(payload["run-id"]))

    def runs(self) -> list[RunStatus]:
        """All runs the SuperLink knows."""
        payload = self._call(["list", CONNECTION_NAME])
        items = payload.get("runs", [])
        assert isinstance(items, list)
        return [RunStatus.from_json(item) for item in items]

    def run_status(self, run_id: int) -> RunStatus:
        """Status of one run."""
        for run in self.runs():
            if run.run_id == run_id:
                return run
        raise DeployError("run_not_found", f"找不到运行 run not found: {run_id}")

    def wait_for_run(self, run_id: int, *, timeout_s: float, poll_s: float = 1.0) -> RunStatus:
        """Poll until the run finishes; stops the run and raises `run_timeout` after `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        while True:
            status = self.run_status(run_id)
            if status.finished:
                return status
            if time.monotonic() >= deadline:
                self.stop_run(run_id)
                raise DeployError("run_timeout", f"运行 {run_id} 未在 {timeout_s:.0f} s 内完成 did not finish in time")
            time.sleep(poll_s)

    def stop_run(self, run_id: int) -> None:
        """Ask the SuperLink to stop a run."""
        self._call(["stop", str(run_id), CONNECTION_NAME])

    def logs(self, run_id: int) -> str:
        """The ServerApp log of a run (printed once, not streamed)."""
        done = subprocess.run(  # noqa: S603
            [_bin("flwr"), "log", str(run_id), CONNECTION_NAME, "--show"],
            capture_output=True,
            text=True,
            env=_base_env(self.flwr_home),
            cwd=self.flwr_home,
            timeout=self.timeout_s,
            check=False,
        )
        return done.stdout


def _license(value: object) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {json.dumps(v)}" for k, v in value.items()) + " }"
    return json.dumps(str(value))


def _last_json_object(text: str) -> dict[str, object] | None:
    """The JSON object `flwr --format json` prints (the last top-level `{...}` block)."""
    start = text.rfind("\n{")
    start = 0 if start < 0 and text.lstrip().startswith("{") else start + 1
    try:
        value = json.loads(text[start:])
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def stage_app(
    *,
    project_dir: Path,
    out_dir: Path,
    packages: Sequence[str] = ("federation",),
    extra_config: Mapping[str, str | int | float | bool] | None = None,
    audited: bool = True,
) -> Path:
    """Copy a Flower app into `out_dir` with a pyproject.toml that holds only what a FAB needs.

    `flwr run` rewrites a pyproject.toml that still has `[tool.flwr.federations]` (it migrates
    them into the user's Flower config), and would pack the whole repository; staging keeps the
    source tree untouched and the FAB small: the named packages' Python/data files and a
    pyproject with `[project]` and `[tool.flwr.app]` only (operator-only modules such as this one
    stay out). Flower accepts run-config overrides
    only for keys the app declares, so `extra_config` keys the project does not declare are
    added to the staged `[tool.flwr.app.config]` with the given value. With `audited`, the
    ServerApp component is wrapped by `federation.audit.build_audited_server_app`, which logs
    what the Grid delivered each round into the run's `model-out-dir/grid_rounds.jsonl`.
    """
    source = project_dir / "pyproject.toml"
    try:
        config = tomllib.loads(source.read_text(encoding="utf-8"))
        project = config["project"]
        app = config["tool"]["flwr"]["app"]
    except (OSError, KeyError, tomllib.TOMLDecodeError) as exc:
        raise DeployError("app_config_invalid", f"无法读取 Flower 应用配置 cannot read Flower app config in {source}: {exc}") from exc
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    for package in packages:
        package_dir = project_dir / package
        if not package_dir.is_dir():
            raise DeployError("app_package_missing", f"找不到应用包 app package not found: {package_dir}")
        shutil.copytree(
            package_dir,
            out_dir / package,
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "test_*.py", "*_test.py", *_OPERATOR_ONLY.get(package, ())),
        )
    components = dict(app["components"])
    if audited:
        (out_dir / f"{_AUDITED_MODULE}.py").write_text(
            '"""Generated by federation.deploy.stage_app: the app\'s ServerApp on a recording Grid."""\n\n'
            "from federation.audit import build_audited_server_app\n\n"
            f"app = build_audited_server_app({json.dumps(components['serverapp'])})\n",
            encoding="utf-8",
        )
        components["serverapp"] = f"{_AUDITED_MODULE}:app"
    lines = [
        "[build-system]",
        'requires = ["setuptools>=69"]',
        'build-backend = "setuptools.build_meta"',
        "",
        "[project]",
        f"name = {json.dumps(project['name'])}",
        f"version = {json.dumps(project['version'])}",
        f"description = {json.dumps(project.get('description', ''), ensure_ascii=False)}",
        f"dependencies = {json.dumps(project.get('dependencies', []))}",
        *([f"license = {_license(project['license'])}"] if "license" in project else []),
        "",
        "[tool.flwr.app]",
        f"publisher = {json.dumps(app['publisher'])}",
        "",
        "[tool.flwr.app.components]",
        *(f"{k} = {json.dumps(v)}" for k, v in components.items()),
        "",
        "[tool.flwr.app.config]",
        *(f"{k} = {_toml_value(v)}" for k, v in {**(extra_config or {}), **app.get("config", {})}.items()),
        "",
    ]
    (out_dir / "pyproject.toml").write_text("\n".join(lines), encoding="utf-8")
    return out_dir
