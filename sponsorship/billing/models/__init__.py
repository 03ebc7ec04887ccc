from .billing import FundingSource, Holiday, Invoice, InvoiceLine, PremiumRate, Sector
from .coverage import CoverageMonth, CreditEntry, RefundCase, RemittanceBatch, RemittanceClawback
from .payments import PaymentAttempt, PaymentNotification, RefusedNotification
from .payroll import (
    PAYROLL_PAYMENT_TYPE,
    PayrollConfirmation,
    PayrollConsent,
    PayrollDeduction,
    PayrollList,
    PayrollSettings,
    PayrollTransfer,
)
from .protection import ProtectionAction

__all__ = [
    "PAYROLL_PAYMENT_TYPE",
    "PayrollConfirmation",
    "PayrollConsent",
    "PayrollDeduction",
    "PayrollList",
    "PayrollSettings",
    "PayrollTransfer",
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
