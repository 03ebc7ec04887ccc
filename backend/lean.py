"""Lean paths: the two hottest URLs skip the middleware they do not use (issues #4 and #6).

The Midtrans webhook (`midtrans-notification`) and the worker status (`worker-status`, when the request carries
a bearer token) are answered by their own views straight after SecurityMiddleware, without sessions,
authentication middleware, CSRF, messages, CommonMiddleware or a URL resolution per request. What those
middlewares would have contributed to these two answers is done here, the same way:

- the language: Indonesian by default, English with `Accept-Language: en` (what LocaleMiddleware does; this
  project has no i18n_patterns), with `Content-Language` and `Vary: Accept-Language` on the answer;
- `X-Frame-Options` (XFrameOptionsMiddleware) and `Content-Length` (CommonMiddleware);
- an exception in the view becomes Django's own 500 answer (logged, `got_request_exception` sent) with
  the same headers;
- SecurityMiddleware still runs in front (HTTPS redirect, HSTS, `X-Content-Type-Options`, Referrer-Policy,
  COOP), and WhiteNoise does not matter for API paths.

What is *not* skipped: the view itself. The webhook is the same function view (signature 403, unknown order
404, duplicate 200, store failure 503); the worker status is the same DRF APIView (its JWT authentication,
IsWorker, the user throttle, the error handler with bilingual messages, the JSON renderer). A worker-status
request without `Authorization: Bearer` (a browser session, say) takes the whole stack, because session
authentication needs the session and authentication middleware.

One visible difference: a request that carries cookies gets `Vary: Accept-Language` here, where the whole
stack adds `Cookie` (its session/messages middleware look at them); these answers do not depend on cookies.

`LEAN_PATHS=false` in the environment turns this off (every request takes the whole stack), which is how the
tests and bench/profile_request.py compare the two paths.
"""

from django.conf import settings
from django.core.handlers.exception import response_for_exception
from django.urls import resolve, reverse
from django.utils import translation
from django.utils.cache import patch_vary_headers
from rest_framework_simplejwt.settings import api_settings as jwt_settings


def _bearer_only(request) -> bool:
    """Only requests that JWT authentication decides alone (no session fallback is consulted)."""
    auth = request.META.get("HTTP_AUTHORIZATION", "")
    scheme = auth.split(" ", 1)[0]
    return bool(scheme) and scheme in jwt_settings.AUTH_HEADER_TYPES


# URL name → which requests take the lean path (None: all of them).
LEAN_ROUTES = {
    "midtrans-notification": None,
    "worker-status": _bearer_only,
}


class LeanPathsMiddleware:
    """Place right after SecurityMiddleware. See the module docstring."""

    def __init__(self, get_response):
        self.get_response = get_response
        self._routes = None

    def _load_routes(self) -> dict:
        routes = {}
        for name, accepts in LEAN_ROUTES.items():
            path = reverse(name)
            routes[path] = (resolve(path), accepts)
        return routes

    def __call__(self, request):
        if not settings.LEAN_PATHS:
            return self.get_response(request)
        if self._routes is None:
            self._routes = self._load_routes()
        route = self._routes.get(request.path_info)
        if route is None or getattr(request, "urlconf", None) is not None:
            return self.get_response(request)
        match, accepts = route
        if accepts is not None and not accepts(request):
            return self.get_response(request)
        return self._answer(request, match)

    def _answer(self, request, match):
        language = translation.get_language_from_request(request)
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
        request.resolver_match = match
        try:
            response = match.func(request, *match.args, **match.kwargs)
            if hasattr(response, "render") and callable(response.render):
                response = response.render()
        except Exception as exc:  # noqa: BLE001 - what Django's handler does with it: log, signal, 500
            response = response_for_exception(request, exc)
        # LocaleMiddleware.process_response (no i18n_patterns here)
        patch_vary_headers(response, ("Accept-Language",))
        response.headers.setdefault("Content-Language", request.LANGUAGE_CODE)
        # XFrameOptionsMiddleware
        if response.get("X-Frame-Options") is None and not getattr(response, "xframe_options_exempt", False):
            response.headers["X-Frame-Options"] = getattr(settings, "X_FRAME_OPTIONS", "DENY").upper()
        # CommonMiddleware
        if not response.streaming and not response.has_header("Content-Length"):
            response.headers["Content-Length"] = str(len(response.content))
        return response
