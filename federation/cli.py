"""`hotline federation ...` and `hotline intent ...`: federated training and intent prediction."""

import typer

app = typer.Typer(help="联邦学习 Federated intent model training.", no_args_is_help=True)
intent_app = typer.Typer(help="意图识别 Intent prediction.", no_args_is_help=True)
