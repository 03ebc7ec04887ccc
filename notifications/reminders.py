"""Reminder scans (placeholder until the money models are merged)."""


def reminders_scan(*, today=None, now=None):
    return {}


def admin_digests_send(*, today=None, now=None):
    return 0
