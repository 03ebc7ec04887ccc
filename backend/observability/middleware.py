"""Request id and latency for every request. Place first in MIDDLEWARE so every log line of the request, in every
other middleware and view, carries the id, and the time measured is the whole answer."""

import time

from .context import new_request_id, reset_request_id, set_request_id, valid_request_id
from .metrics import HTTP_REQUEST_DURATION

HEADER = "X-Request-ID"


def _route(request) -> str:
    """The URL pattern that answered (`api/v1/workers/<int:pk>/`), never the path with its ids."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "unmatched"
    return match.route or match.view_name or "unnamed"


class RequestObservabilityMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = valid_request_id(request.headers.get(HEADER)) or new_request_id()
        request.request_id = request_id
        token = set_request_id(request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            HTTP_REQUEST_DURATION.labels(_route(request), request.method, f"{response.status_code // 100}xx").observe(
                time.perf_counter() - started
            )
            response[HEADER] = request_id
            return response
        finally:
            reset_request_id(token)
