"""The 12345 hotline application: web app, chat, work orders, clerk console, review queue."""

from hotline.settings import HotlineSettings
from hotline.web import create_app

__all__ = ["HotlineSettings", "create_app"]
