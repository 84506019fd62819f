"""`hotline prereview ...`: check an application's files against a service, or inspect files alone."""

import typer

app = typer.Typer(help="文件预审 Document pre-review.", no_args_is_help=True)
