"""`hotline federation ...` and `hotline intent ...`: federated training and intent prediction."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import NoReturn

import typer

from federation.deploy_cli import deploy_app

app = typer.Typer(help="联邦学习 Federated intent model training.", no_args_is_help=True)
intent_app = typer.Typer(help="意图识别 Intent prediction.", no_args_is_help=True)


@app.callback()
def _federation() -> None:
    """联邦学习 Federated intent model training."""


@intent_app.callback()
def _intent() -> None:
    """意图识别 Intent prediction."""


def _fail(message: str) -> NoReturn:
    typer.echo(f"错误 error: {message}", err=True)
    raise typer.Exit(code=2)


@app.command("simulate")
def simulate(
    data: Path = typer.Option(..., "--data", help="UTF-8 CSV (or tab- or semicolon-separated) with text and label columns."),
    text_columns: str = typer.Option("text", "--text-columns", help="Comma-separated text columns, joined with a space."),
    label_column: str = typer.Option("label", "--label-column"),
    departments: int = typer.Option(5, "--departments", min=1, help="Number of simulated departments (SuperNodes)."),
    partition: str = typer.Option("by-label", "--partition", help="by-label[:SHARE] | dirichlet:ALPHA | iid"),
    rounds: int = typer.Option(20, "--rounds", min=1),
    strategy: str | None = typer.Option(
        None,
        "--strategy",
        help="cocoa | fedavg | classwise | fedprox | median | trimmed | filtered | classwise-trimmed | classwise-filtered | krum "
        "(default: cocoa; classwise with DP noise, fedavg with --secagg).",
    ),
    out: Path = typer.Option(..., "--out", help="Directory for model.npz, model.json and metrics.json."),
    seed: int = typer.Option(0, "--seed"),
    test_fraction: float = typer.Option(
        0.2,
        "--test-fraction",
        help="Stratified held-out share for the metrics: a first run trains without it and is scored on it; the saved model is then "
        "trained on every row (0 = no held-out run).",
    ),
    dp_noise: float = typer.Option(0.0, "--dp-noise", help="Record-level DP-SGD noise multiplier (0 = off)."),
    client_dp_noise: float = typer.Option(0.0, "--client-dp-noise", help="Client-level DP noise multiplier (0 = off)."),
    state_dir: Path | None = typer.Option(None, "--state-dir", help="Departments' ledgers and egress logs (default OUT/state)."),
    verbose: bool = typer.Option(False, "--verbose", help="Show Flower's and Ray's log."),
    secagg: bool = typer.Option(False, "--secagg", help="SecAgg+ secure aggregation: the server sees only the sum (needs --strategy fedavg)."),
    out_of_scope_rows: int = typer.Option(
        0,
        "--out-of-scope-rows",
        min=0,
        help="Synthetic chit-chat rows each department trains as out_of_scope, which the labels then include, so the model does not route "
        "small talk to a department (0 = none: only the file's labels; see docs/federation.md for what it costs).",
    ),
) -> None:
    """Train with Flower's simulation engine on a CSV split into departments; write the model and metrics.

    A held-out run gives the metrics; the model in OUT is then trained on every row
    (`federation.simulation.train_held_out_and_refit`).
    """
    from federation.data import DataFileError, parse_partition, read_labelled_csv
    from federation.model import OUT_OF_SCOPE
    from federation.settings import FederationSettings
    from federation.simulation import run_federated_simulation, train_held_out_and_refit
    from federation.strategies import STRATEGY_NAMES
    from federation.task import TaskConfig, TaskConfigError, check_dual_config

    if strategy is None:
        strategy = "fedavg" if secagg else "classwise" if dp_noise > 0 or client_dp_noise > 0 else "cocoa"
    if strategy not in STRATEGY_NAMES:
        _fail(f"unknown strategy {strategy!r}; choose one of {', '.join(STRATEGY_NAMES)}")
    if not 0 <= test_fraction < 1:
        _fail("--test-fraction must be at least 0 and below 1")
    try:
        check_dual_config(TaskConfig.from_run_config({"strategy": strategy, "dp-noise-multiplier": dp_noise, "client-dp-noise-multiplier": client_dp_noise}))
    except TaskConfigError as exc:
        _fail(f"--strategy: {exc}")
    if secagg:
        from federation.secagg import SecAggConfigError, check_secagg_config

        try:
            check_secagg_config(TaskConfig.from_run_config({"strategy": strategy, "client-dp-noise-multiplier": client_dp_noise}))
        except SecAggConfigError as exc:
            _fail(f"--secagg: {exc}")
    try:
        spec = parse_partition(partition)
        rows = read_labelled_csv(data, text_columns=[c.strip() for c in text_columns.split(",") if c.strip()], label_column=label_column)
    except DataFileError as exc:
        _fail(str(exc))
    labels = sorted(set(rows.labels))
    if len(labels) < 2:
        _fail(f"{data}: need at least two distinct labels in {label_column!r}")
    if out_of_scope_rows and OUT_OF_SCOPE not in labels:
        labels.append(OUT_OF_SCOPE)

    run_config: dict[str, object] = {
        "labels": json.dumps(labels, ensure_ascii=False),
        "request-types": "none",
        "num-server-rounds": rounds,
        "strategy": strategy,
        "seed": seed,
        "dp-noise-multiplier": dp_noise,
        "client-dp-noise-multiplier": client_dp_noise,
        "out-of-scope-rows": out_of_scope_rows,
    }
    settings = FederationSettings()
    runner = run_federated_simulation
    if secagg:
        from federation.secagg import run_secagg_simulation as runner
    try:
        metrics = train_held_out_and_refit(
            rows,
            departments=departments,
            partition=spec,
            test_fraction=test_fraction,
            out_dir=out,
            run_config=run_config,
            state_dir=state_dir,
            seed=seed,
            runner=runner,
            num_cpus=settings.simulation_num_cpus,
            verbose=verbose,
        )
    except (DataFileError, RuntimeError) as exc:
        _fail(str(exc))
    final: dict[str, object] = metrics["final_central"]  # type: ignore[assignment]
    typer.echo(
        json.dumps(
            {"out": str(out), "macro_f1": final.get("macro-f1"), "accuracy": final.get("accuracy"), "trained_rows": len(rows), "rounds": rounds, "strategy": strategy, "departments": departments},
            ensure_ascii=False,
        )
    )


@app.command("bootstrap")
def bootstrap(
    out: Path = typer.Option(..., "--out", help="Directory for the first model."),
    seed: int = typer.Option(0, "--seed"),
) -> None:
    """Train the product's first intent model from seeded synthetic requests."""
    from federation.synthetic import bootstrap_model

    model = bootstrap_model(out, seed=seed)
    typer.echo(json.dumps({"out": str(out), **{k: v for k, v in model.metadata.items()}}, ensure_ascii=False))


@intent_app.command("predict")
def predict(
    model_dir: Path = typer.Option(..., "--model", help="Directory with model.npz and model.json."),
) -> None:
    """Read JSON lines {"text": ...} on stdin; write {"label": ..., "score": ...} per line, in order."""
    from federation.model import IntentModel, ModelFileError

    try:
        model = IntentModel.load(model_dir)
    except ModelFileError as exc:
        _fail(str(exc))
    # One line in, one line out, flushed at once: batching measured no faster per message
    # (docs/bench/federation.md) and streaming callers must not wait for a batch to fill.
    for lineno, line in enumerate(sys.stdin, start=1):
        try:
            obj = json.loads(line)
            text = obj.get("text") if isinstance(obj, dict) else None
            if not isinstance(text, str):
                raise ValueError('expected an object with a string "text"')
        except ValueError as exc:
            reason = "invalid JSON" if isinstance(exc, json.JSONDecodeError) else str(exc)
            row: dict[str, object] = {"error": "bad_input_line", "line": lineno, "detail": reason}
        else:
            [pred] = model.predict([text])
            row = {"label": pred.label, "score": round(pred.score, 6), "out_of_scope": pred.out_of_scope}
            if pred.department:
                row["department"] = pred.department
            if pred.request_type:
                row["request_type"] = pred.request_type
        sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")
        sys.stdout.flush()


# The deployment engine's commands (init-pki, superlink, register, join, run, status, ledger, registry, audit)
# sit beside the simulation ones under `hotline federation`.
app.registered_commands += deploy_app.registered_commands
app.registered_groups += deploy_app.registered_groups
