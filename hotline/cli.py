"""The `hotline` command: one Typer app composing every package's commands."""

import typer

from federation.cli import app as federation_app
from federation.cli import intent_app
from prereview.cli import app as prereview_app

app = typer.Typer(help="12345 热线 / 12345 citizen hotline.", no_args_is_help=True)
app.add_typer(prereview_app, name="prereview")
app.add_typer(federation_app, name="federation")
app.add_typer(intent_app, name="intent")


def main() -> None:
    """Console-script entry point."""
    app()
