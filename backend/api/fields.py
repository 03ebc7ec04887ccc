"""Serializer fields the API's inputs share."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers


class DateTimeField(serializers.DateTimeField):
    """DRF's DateTimeField, with dates at the ends of the calendar refused instead of overflowing.

    "0001-01-01T00:00:00" in Asia/Jakarta is before datetime.min in UTC: DRF's time zone check raised
    OverflowError (a 500).
    """

    default_error_messages = {"out_of_range": _("This date is out of range.")}

    def enforce_timezone(self, value):
        try:
            return super().enforce_timezone(value)
        except OverflowError:
            self.fail("out_of_range")
