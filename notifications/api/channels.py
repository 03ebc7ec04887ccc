"""Channel endpoints: the providers' webhooks (receipts, inbound WhatsApp) and a person's contact channels.

The webhooks are plain Django views (the raw body is what the signature covers), CSRF-exempt and
unauthenticated: the signature is the authentication. 403 on a bad signature, 400 on a body that is not what
the provider sends, 200 otherwise (duplicates included, so the provider stops retrying).
"""

import logging

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse, HttpResponseForbidden, JsonResponse
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from notifications import contact, selectors, webhooks
from notifications.models import Channel

MAX_WEBHOOK_BYTES = 256 * 1024  # Meta batches up to a few hundred events; far below this
logger = logging.getLogger("notifications.webhooks")


def _flooded(request, provider: str) -> JsonResponse | None:
    """429 when one address sends more than CHANNEL_WEBHOOK_RATE_PER_MINUTE requests a minute, checked before the
    body is read or a signature computed (an HMAC per forged request is work an attacker gets for free). The
    counter lives in the cache; without it the limit is off (backend/cache.py degrades, it never fails)."""
    ip = request.META.get("REMOTE_ADDR") or ""
    key = f"chwh:{provider}:{ip}:{timezone.now():%Y%m%d%H%M}"
    cache.add(key, 0, timeout=120)
    try:
        seen = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=120)
        seen = 1
    if seen > settings.CHANNEL_WEBHOOK_RATE_PER_MINUTE:
        if seen == settings.CHANNEL_WEBHOOK_RATE_PER_MINUTE + 1:  # one line per address and minute
            logger.warning("%s webhook: over %d requests this minute from %s", provider, seen - 1, ip or "?")
        response = JsonResponse({"message": "too many requests"}, status=429)
        response["Retry-After"] = "60"
        return response
    return None


@csrf_exempt
@require_http_methods(["GET", "POST"])
def whatsapp_webhook(request):
    if request.method == "GET":  # Meta's subscription handshake
        token = request.GET.get("hub.verify_token", "")
        if (
            request.GET.get("hub.mode") == "subscribe"
            and settings.WHATSAPP_VERIFY_TOKEN
            and constant_time_compare(token, settings.WHATSAPP_VERIFY_TOKEN)
        ):
            return HttpResponse(request.GET.get("hub.challenge", ""), content_type="text/plain")
        return HttpResponseForbidden("verification failed")
    if (flooded := _flooded(request, "whatsapp")) is not None:
        return flooded
    body = request.body
    if len(body) > MAX_WEBHOOK_BYTES:
        return JsonResponse({"message": "body too large"}, status=413)
    result = webhooks.whatsapp_webhook_receive(body=body, signature=request.headers.get("X-Hub-Signature-256"))
    return JsonResponse({"new": result.new, "duplicates": result.duplicates}, status=result.status_code)


@csrf_exempt
@require_http_methods(["POST"])
def twilio_status_webhook(request):
    if (flooded := _flooded(request, "twilio")) is not None:
        return flooded
    if len(request.body) > MAX_WEBHOOK_BYTES:
        return JsonResponse({"message": "body too large"}, status=413)
    url = settings.TWILIO_STATUS_CALLBACK_URL or request.build_absolute_uri()
    params = {key: request.POST.get(key, "") for key in request.POST}
    result = webhooks.twilio_status_receive(url=url, params=params, signature=request.headers.get("X-Twilio-Signature"))
    return JsonResponse({"new": result.new, "duplicates": result.duplicates}, status=result.status_code)


class ContactChannelsIn(serializers.Serializer):
    whatsapp = serializers.BooleanField(required=False)
    sms = serializers.BooleanField(required=False)
    preferred = serializers.ChoiceField(choices=Channel.choices, required=False, allow_null=True)


class ContactChannels(APIView):
    """The caller's consent per channel and preferred channel (consent given here has source "app")."""

    @extend_schema(
        responses=inline_serializer("ContactChannelsOut", {"channels": serializers.ListField()}),
        summary="My contact channels: consent per channel, preferred channel",
    )
    def get(self, request):
        return Response({"channels": selectors.contact_channels_for(request.user)})

    @extend_schema(
        request=ContactChannelsIn,
        responses=inline_serializer("ContactChannelsSet", {"channels": serializers.ListField()}),
    )
    def put(self, request):
        data = ContactChannelsIn(data=request.data)
        data.is_valid(raise_exception=True)
        for channel in (Channel.WHATSAPP, Channel.SMS):
            if channel in data.validated_data:
                contact.contact_consent_set(
                    user=request.user, channel=channel, granted=data.validated_data[channel], source="app"
                )
        if "preferred" in data.validated_data:
            contact.contact_preferred_set(user=request.user, channel=data.validated_data["preferred"])
        return Response({"channels": selectors.contact_channels_for(request.user)})
