"""A local fake of Twilio's SMS API (see server.py)."""

from .server import FakeTwilio, SmsMessage, twilio_signature

__all__ = ["FakeTwilio", "SmsMessage", "twilio_signature"]
