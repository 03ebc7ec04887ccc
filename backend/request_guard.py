"""Requests refused before any view runs: bodies past DATA_UPLOAD_MAX_MEMORY_SIZE, NUL characters in the URL.

- A body larger than DATA_UPLOAD_MAX_MEMORY_SIZE (by its Content-Length) is a 413 with the API's error shape,
  except multipart uploads, whose files are bounded by the view that takes them (imports: IMPORT_MAX_BYTES)
  and whose other fields Django bounds while parsing (RequestDataTooBig, answered 413 by backend.api.errors).
- A NUL in the path or the query string is a 400: PostgreSQL refuses NUL in text, so it would end as a 500
  wherever the value reaches a query (a slug, a filter). NUL inside JSON is refused by backend.api.parsers.
"""

from urllib.parse import unquote_to_bytes

from django.conf import settings
from django.http import JsonResponse
from django.utils import translation
from django.utils.translation import gettext as _

from backend.api.errors import error_body


def _answer(request, status: int, code: str, message_fn):
    with translation.override(translation.get_language_from_request(request)):
        response = JsonResponse(error_body(message_fn(), code=code), status=status)
        response["Content-Language"] = translation.get_language()
    response["Vary"] = "Accept-Language"
    return response


def _too_large_message() -> str:
    limit_mb = f"{settings.DATA_UPLOAD_MAX_MEMORY_SIZE / (1024 * 1024):.1f}".rstrip("0").rstrip(".")
    return _("The request body is too large (at most %(mb)s MB).") % {"mb": limit_mb}


def _nul_message() -> str:
    return _("The request contains a NUL character, which is not allowed.")


class RequestGuardMiddleware:
    """Early in MIDDLEWARE (after ClientIpMiddleware). See the module docstring."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        meta = request.META
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and not meta.get("CONTENT_TYPE", "").startswith("multipart/"):
            try:
                length = int(meta.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > limit:
                return _answer(request, 413, "request_too_large", _too_large_message)
        query = meta.get("QUERY_STRING", "")
        if "\x00" in request.path or b"\x00" in unquote_to_bytes(query):
            return _answer(request, 400, "nul_character", _nul_message)
        return self.get_response(request)
