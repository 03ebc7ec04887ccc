from .billing import FundingSource, Holiday, Invoice, InvoiceLine, PremiumRate, Sector
from .coverage import CoverageMonth, CreditEntry, RefundCase, RemittanceBatch
from .payments import PaymentAttempt, PaymentNotification

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
    "RefundCase",
    "RemittanceBatch",
    "Sector",
]
