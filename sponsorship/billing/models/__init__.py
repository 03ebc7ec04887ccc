from .billing import FundingSource, Holiday, Invoice, InvoiceLine, PremiumRate, Sector
from .bridge import Bridge, BridgePool, PoolEntry
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
from .selfpay import SelfPayLink

__all__ = [
    "Bridge",
    "BridgePool",
    "PoolEntry",
    "SelfPayLink",
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
