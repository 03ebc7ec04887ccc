"""The API's JSON parser: bounded in size and depth, no NUL characters, an object or a list at the top.

DRF's own parser reads the whole stream (DATA_UPLOAD_MAX_MEMORY_SIZE is not applied to it), recurses once per
nesting level (a body of 100,000 '[' raised RecursionError: a 500 on every JSON endpoint), and lets through
NUL characters that PostgreSQL refuses in text (another 500) and bare scalars that views index into.
"""

import codecs
import json
import re
from itertools import accumulate

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from rest_framework import parsers, status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.utils import json as drf_json

MAX_DEPTH = 32  # the deepest body any endpoint takes is 3 levels
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


class RequestTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "request_too_large"

    def __init__(self):
        limit_mb = settings.DATA_UPLOAD_MAX_MEMORY_SIZE / (1024 * 1024)
        super().__init__(
            _("The request body is too large (at most %(mb)s MB).") % {"mb": f"{limit_mb:.1f}".rstrip("0").rstrip(".")}
        )


def json_depth(raw: bytes) -> int:
    """How deeply the arrays and objects of a JSON text nest, counted without recursion (strings skipped)."""
    brackets = _STRING.sub(b"", raw).translate(None, _NOT_BRACKETS)
    if not brackets:
        return 0
    return max(accumulate(1 if b in (0x5B, 0x7B) else -1 for b in brackets))


def has_nul(value) -> bool:
    """Any NUL in a key or string (the depth is already bounded by MAX_DEPTH)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(has_nul(k) or has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(has_nul(v) for v in value)
    return False


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        encoding = parsers.get_encoding(parser_context)
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raw = stream.read(limit + 1) if limit is not None else stream.read()
        if limit is not None and len(raw) > limit:
            raise RequestTooLarge()
        if json_depth(raw) > MAX_DEPTH:
            raise ParseError(_("The JSON body is nested too deeply."), code="parse_error")
        try:
            text = codecs.decode(raw, encoding)
            data = json.loads(text, parse_constant=drf_json.strict_constant if self.strict else None)
        except (ValueError, RecursionError):
            raise ParseError(
                _("The request body could not be read. Make sure it is valid JSON."), code="parse_error"
            ) from None
        if not isinstance(data, dict | list):
            raise ParseError(_("The request body must be a JSON object."), code="parse_error")
        if has_nul(data):
            raise ParseError(_("The request contains a NUL character, which is not allowed."), code="parse_error")
        return data
