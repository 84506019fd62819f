"""The 12345 hotline application: web app, chat, work orders, clerk console, review queue."""

__all__: list[str] = []
