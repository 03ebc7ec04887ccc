"""Local fake of Google OAuth + FCM HTTP v1 for tests, demos and benchmarks."""

from .credentials import make_service_account, write_service_account
from .server import ERRORS, INVALID_TOKEN_MESSAGE, FakeFCM, SendRecord, error_body

__all__ = [
    "ERRORS",
    "INVALID_TOKEN_MESSAGE",
    "FakeFCM",
    "SendRecord",
    "error_body",
    "make_service_account",
    "write_service_account",
]
