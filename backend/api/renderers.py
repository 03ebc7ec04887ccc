"""JSON for the whole API, with one way of writing a moment in time (issue #4).

Serializer fields (`DateTimeField`) already write aware datetimes in the current time zone (TIME_ZONE,
Asia/Jakarta: `2026-12-10T14:03:00.123456+07:00`), but views that return plain dicts (the sponsor overview,
statements, dashboards) went through DRF's encoder, which writes the stored UTC value as `...Z`. The same
`paid_at` then read 07:03Z in one answer and 14:03+07:00 in the other. Here every aware datetime is
converted to the current time zone first, so all answers use the same ISO 8601 form with the +07:00 offset.
"""

import datetime as dt

from django.utils import timezone
from rest_framework import renderers
from rest_framework.utils.encoders import JSONEncoder


class LocalTimeJSONEncoder(JSONEncoder):
    def default(self, obj):
        if isinstance(obj, dt.datetime) and timezone.is_aware(obj):
            text = timezone.localtime(obj).isoformat()  # what serializers.DateTimeField writes
            return text[:-6] + "Z" if text.endswith("+00:00") else text
        return super().default(obj)


class JSONRenderer(renderers.JSONRenderer):
    encoder_class = LocalTimeJSONEncoder
