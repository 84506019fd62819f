"""Federated intent model: departments train one router with Flower without moving citizens' data."""

__all__: list[str] = []
