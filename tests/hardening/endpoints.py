"""Every URL pattern under /api/v1/ with its methods, read from the resolver (never a hand-kept list)."""

from django.urls import URLPattern, URLResolver, get_resolver

API_PREFIX = "api/v1/"
SKIP_METHODS = {"options", "head", "trace"}


def _walk(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern


def methods_of(pattern: URLPattern) -> list[str]:
    callback = pattern.callback
    view_class = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    if view_class is not None:
        return sorted(
            m.upper() for m in view_class.http_method_names if m not in SKIP_METHODS and hasattr(view_class, m)
        )
    # Function views: require_http_methods stores nothing introspectable; the matrix row states the methods.
    return sorted(getattr(callback, "allowed_methods", None) or ["POST"])


def api_endpoints() -> list[tuple[str, str, str]]:
    """[(url name, method, route)] for every pattern under /api/v1/."""
    out = []
    for route, pattern in _walk(get_resolver().url_patterns):
        if route.startswith(API_PREFIX):
            if not pattern.name:
                raise AssertionError(f"URL pattern {route} has no name: every API route needs one")
            for method in methods_of(pattern):
                out.append((pattern.name, method, route))
    return out
