"""A local fake of Meta's WhatsApp Cloud API (see server.py)."""

from .server import FakeWhatsApp, SentMessage

__all__ = ["FakeWhatsApp", "SentMessage"]
