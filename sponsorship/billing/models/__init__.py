from .billing import FundingSource, Holiday, Invoice, InvoiceLine, PremiumRate, Sector
from .coverage import CoverageMonth, CreditEntry, RefundCase, RemittanceBatch, RemittanceClawback
from .payments import PaymentAttempt, PaymentNotification, RefusedNotification
from .protection import ProtectionAction

__all__ = [
    "CoverageMonth",
    "CreditEntry",
    "FundingSource",
    "Holiday",
    "Invoice",
    "InvoiceLine",
    "PaymentAttempt",
    "PaymentNotification",
    "PremiumRate",
    "ProtectionAction",
    "RefundCase",
    "RefusedNotification",
    "RemittanceBatch",
    "RemittanceClawback",
    "Sector",
]
