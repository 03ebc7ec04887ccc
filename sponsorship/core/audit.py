"""The one way to write an audit row. Call inside the transaction of the change it records.

What can be audited is an enumeration: a typo in an action name is an error, not a row nobody finds again.
The values are the names stored since the first release, so old rows and new ones read the same.
"""

from django.db import models

from sponsorship.core.models import AuditLog


class AuditAction(models.TextChoices):
    # people
    SPONSOR_CREATE = "sponsor.create"
    SPONSOR_UPDATE = "sponsor.update"
    SPONSOR_LEAVE = "sponsor.leave"
    SPONSOR_LEAVE_REQUEST = "sponsor.leave_request"  # asked in the app; an admin ends it (sponsor.leave)
    WORKER_CREATE = "worker.create"
    WORKER_UPDATE = "worker.update"
    WORKER_KPJ_IMPORT = "worker.kpj_import"
    WORKER_DATA_EXPORT = "worker.data_export"
    WORKER_ANONYMISE = "worker.anonymise"
    WORKER_KK_SET = "worker.kk_set"
    WORKER_DECILE_ROUND = "worker.decile_round"
    WORKER_DECILE_REVIEW = "worker.decile_review"
    WORKER_COLLECTIVE_GROUP = "worker.collective_group"
    WORKER_CONTACT_CONSENT = "worker.contact_consent"  # WhatsApp/SMS consent recorded by an admin or an import
    COLLECTIVE_GROUP_SAVE = "collective_group.save"
    SPONSORSHIP_START = "sponsorship.start"
    SPONSORSHIP_END = "sponsorship.end"
    WORKER_AUTH_REQUEST = "worker_auth.request"
    WORKER_AUTH_VERIFY = "worker_auth.verify"
    WORKER_AUTH_THROTTLED = "worker_auth.throttled"
    WORKER_AUTH_SIGNED_IN = "worker_auth.signed_in"
    AUTH_LOGIN_LOCKED = "auth.login_locked"
    PERSONAL_DATA_EXPORT = "personal_data.export"
    PERSONAL_DATA_RETENTION = "personal_data.retention"
    PII_KEYS_ROTATE = "pii_keys.rotate"
    LIFE_EVENT_RECORD = "life_event.record"
    # regions and settings
    REGION_CREATE = "region.create"
    REGION_UPDATE = "region.update"
    REGENCY_CONFIG_CREATE = "regency_config.create"
    REGENCY_CONFIG_UPDATE = "regency_config.update"
    REGENCY_CONFIG_DELETE = "regency_config.delete"
    REGENCY_HOLIDAYS_SET = "regency_holidays.set"
    VILLAGE_TARGET_SET = "village_target.set"
    # matching
    PROPOSAL_ACCEPT = "proposal.accept"
    PROPOSAL_DECLINE = "proposal.decline"
    PROPOSAL_REMATCH = "proposal.rematch"
    NOMINATION_SUBMIT = "nomination.submit"
    NOMINATION_VERIFY = "nomination.verify"
    NOMINATION_REJECT = "nomination.reject"
    NOMINATION_REFERRED = "nomination.referred"
    MATCHING_RUN_PREVIEW = "matching_run.preview"
    MATCHING_RUN_APPLY = "matching_run.apply"
    # billing
    BILLING_RUN = "billing.run"
    PREMIUM_RATE_CREATE = "premium_rate.create"
    PREMIUM_RATE_UPDATE = "premium_rate.update"
    PREMIUM_RATE_DELETE = "premium_rate.delete"
    HOLIDAY_CREATE = "holiday.create"
    HOLIDAY_UPDATE = "holiday.update"
    HOLIDAY_DELETE = "holiday.delete"
    INVOICE_ISSUE_MONTHLY = "invoice.issue_monthly"
    INVOICE_ISSUE_PREPAY = "invoice.issue_prepay"
    INVOICE_ISSUE_ARREARS = "invoice.issue_arrears"
    INVOICE_VOID = "invoice.void"
    INVOICE_SETTLE_BY_CREDIT = "invoice.settle_by_credit"
    INVOICE_HANDOVER_RELEASE = "invoice.handover_release"
    PAYMENT_START = "payment.start"
    PAYMENT_SETTLE = "payment.settle"
    PAYMENT_REVERSED = "payment.reversed"
    PAYMENT_REFUNDED = "payment.refunded"
    PAYMENT_CHARGED_BACK = "payment.charged_back"
    PAYMENT_FLAG_AMOUNT_MISMATCH = "payment.flag_amount_mismatch"
    REFUND_REQUEST = "refund.request"
    REFUND_DONE = "refund.done"
    REFUND_FAILED = "refund.failed"
    REFUND_MANUAL_TRANSFER = "refund.manual_transfer"
    REFUND_RESOLVE = "refund.resolve"
    INVOICE_CREDIT_TAKEN_BACK = "invoice.credit_taken_back"  # money going back took its credit (reversals)
    BRIDGE_POOL_CREATE = "bridge_pool.create"
    BRIDGE_POOL_UPDATE = "bridge_pool.update"
    BRIDGE_POOL_TOP_UP = "bridge_pool.top_up"
    BRIDGE_PAY = "bridge.pay"
    SELF_PAY_OFFER = "self_pay.offer"
    SELF_PAY_WITHDRAW = "self_pay.withdraw"
    # payroll deduction (billing/services/payroll*.py)
    PAYROLL_CONSENT_CREATE = "payroll_consent.create"
    PAYROLL_CONSENT_STOP = "payroll_consent.stop"
    PAYROLL_CONSENT_END = "payroll_consent.end"
    PAYROLL_SETTINGS_UPDATE = "payroll_settings.update"
    PAYROLL_LIST_PRODUCE = "payroll_list.produce"
    PAYROLL_LIST_SEND = "payroll_list.send"
    PAYROLL_LIST_DOWNLOAD = "payroll_list.download"
    PAYROLL_CONFIRMATION_PREVIEW = "payroll_confirmation.preview"
    PAYROLL_CONFIRMATION_CONFIRM = "payroll_confirmation.confirm"
    PAYROLL_CONFIRMATION_APPLY = "payroll_confirmation.apply"
    PAYROLL_CONFIRMATION_DISCARD = "payroll_confirmation.discard"
    PAYROLL_DEDUCTION_SETTLE = "payroll_deduction.settle"
    PAYROLL_DEDUCTION_MISSING = "payroll_deduction.missing"
    PAYROLL_FALLBACK_LINK = "payroll_deduction.fallback_link"
    PAYROLL_TRANSFER_RECORD = "payroll_transfer.record"
    PAYROLL_TRANSFER_MISMATCH = "payroll_transfer.mismatch"
    # dashboard
    ARREARS_REMIND = "arrears.remind"
    IMPORT_PREVIEW = "import.preview"
    IMPORT_CONFIRM = "import.confirm"
    IMPORT_APPLY = "import.apply"
    IMPORT_DISCARD = "import.discard"
    EXPORT_PERSONAL_DATA = "export.personal_data"
    EXPORT_REPORT = "export.report"
    LEDGER_CHECK = "ledger.check"
    # protection clock (budget cohorts, benefits received)
    COHORT_IMPORT = "cohort.import"
    BENEFIT_RECORD = "benefit.record"


def audit_record(
    *,
    actor,
    action: AuditAction | str,
    obj=None,
    object_type: str = "",
    object_id="",
    before=None,
    after=None,
    extra=None,
    ip: str | None = None,
) -> AuditLog:
    if action not in AuditAction.values:
        raise ValueError(f"unknown audit action {action!r}: add it to AuditAction")
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
    return AuditLog.objects.create(
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        before=before,
        after=after,
        extra=extra or {},
        ip=ip,
    )


def snapshot(obj, fields) -> dict:
    """Plain JSON-able values of `fields`, for before/after. Personal data should be masked by the caller."""
    out = {}
    for name in fields:
        value = getattr(obj, name)
        if hasattr(value, "pk"):
            value = value.pk
        elif hasattr(value, "isoformat"):
            value = value.isoformat()
        out[name] = value
    return out
