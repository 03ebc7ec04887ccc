"""One error shape for the whole API: {"message": ..., "code": ..., "extra": {"fields": {...}}}.

Messages are in Indonesian by default and in English when the request says `Accept-Language: en`
(LocaleMiddleware activates the language; the texts here are marked for translation).
"""

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)


class ApplicationError(Exception):
    """A business rule said no. Raised by services; the API answers 4xx with `message`."""

    status_code: int = status.HTTP_400_BAD_REQUEST
    code = "invalid"

    def __init__(self, message, *, code=None, status_code=None, extra=None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        if status_code:
            self.status_code = status_code
        self.extra = extra or {}


class ConflictError(ApplicationError):
    status_code = status.HTTP_409_CONFLICT
    code = "conflict"


class GatewayError(ApplicationError):
    status_code = status.HTTP_502_BAD_GATEWAY
    code = "gateway_error"


def _generic_message(exc):
    if isinstance(exc, exceptions.NotAuthenticated):
        return _("You are not signed in. Please sign in first.")
    if isinstance(exc, exceptions.AuthenticationFailed):
        return _("Authentication failed. Check your username, password or token.")
    if isinstance(exc, exceptions.PermissionDenied):
        return _("You do not have permission to do this.")
    if isinstance(exc, exceptions.NotFound):
        return _("Not found.")
    if isinstance(exc, exceptions.MethodNotAllowed):
        return _("This HTTP method is not allowed here.")
    if isinstance(exc, exceptions.Throttled):
        return _("Too many requests. Try again in %(seconds)s seconds.") % {"seconds": int(exc.wait or 1)}
    if isinstance(exc, exceptions.ParseError):
        if exc.detail and str(exc.detail) != str(exceptions.ParseError.default_detail):
            return exc.detail  # our parser's own message (nested too deeply, NUL, not an object)
        return _("The request body could not be read. Make sure it is valid JSON.")
    if isinstance(exc, exceptions.UnsupportedMediaType):
        return _("This content type is not supported.")
    if getattr(exc, "default_code", "") == "request_too_large":
        return exc.detail
    if isinstance(exc, exceptions.NotAcceptable):
        return _("The requested response format is not available.")
    if isinstance(exc, exceptions.ValidationError):
        return _("The data sent is not valid. Check the marked fields.")
    return _("The request could not be processed.")


def _flatten(detail):
    """DRF error detail -> {field: [messages]} with plain strings."""
    if isinstance(detail, dict):
        out = {}
        for key, value in detail.items():
            if isinstance(value, dict):
                for sub, msgs in _flatten(value).items():
                    out[f"{key}.{sub}"] = msgs
            elif isinstance(value, list) and value and isinstance(value[0], dict):
                for index, item in enumerate(value):
                    for sub, msgs in _flatten(item).items():
                        out[f"{key}[{index}].{sub}"] = msgs
            else:
                out[key] = [str(m) for m in (value if isinstance(value, list) else [value])]
        return out
    if isinstance(detail, list):
        return {"non_field_errors": [str(m) for m in detail]}
    return {"non_field_errors": [str(detail)]}


def error_body(message, *, code, fields=None, extra=None):
    body = {"message": str(message), "code": code, "extra": dict(extra or {})}
    if fields:
        body["extra"]["fields"] = fields
    return body


def exception_handler(exc, context):
    if isinstance(exc, ApplicationError):
        return Response(error_body(exc.message, code=exc.code, extra=exc.extra), status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(detail=exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    if isinstance(exc, RequestDataTooBig):  # a form or multipart field past DATA_UPLOAD_MAX_MEMORY_SIZE
        from backend.api.parsers import RequestTooLarge

        exc = RequestTooLarge()
    if isinstance(exc, TooManyFieldsSent | TooManyFilesSent):
        exc = exceptions.ParseError(_("The request has too many fields or files."))
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, IntegrityError):
        logger.warning("integrity error reached the API: %s", exc)
        return Response(
            error_body(_("This conflicts with existing data. Reload and try again."), code="conflict"),
            status=status.HTTP_409_CONFLICT,
        )

    response = drf_exception_handler(exc, context)
    if response is None:
        logger.exception("unhandled error in %s", context.get("view"), exc_info=exc)
        return Response(
            error_body(
                _("Something went wrong on the server. It has been logged; please try again."), code="server_error"
            ),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )

    fields = None
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        non_field = fields.get("non_field_errors")
        message = non_field[0] if non_field and len(fields) == 1 else _generic_message(exc)
    else:
        message = _generic_message(exc)
    code = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
    if not isinstance(code, str):
        code = "invalid"
    response.data = error_body(message, code=code, fields=fields)
    return response
