"""Push through Firebase Cloud Messaging with `firebase-admin` (sync API).

Send from workers only: one message may take well over 7 s when the SDK
retries 5xx. One firebase_admin App per process and app name, created lazily.

For local fakes set `base_url` (FCM_BASE_URL). That redirects the send URL via
the private `_MessagingService.FCM_URL` (asserted on the created service, so a
future SDK rename fails loudly) and switches off google-auth's Regional Access
Boundary lookup, which would otherwise call iamcredentials.googleapis.com.
The OAuth exchange goes wherever the service account's `token_uri` says.
"""

from __future__ import annotations

import concurrent.futures
import json
import logging
import os
import threading
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import firebase_admin
import requests
from firebase_admin import credentials, exceptions, messaging
from google.auth import exceptions as auth_exceptions
from urllib3.util import retry as urllib3_retry

from .base import DEACTIVATE, FAILED, RETRY, SENT, Outcome, PushMessage, PushResult

logger = logging.getLogger(__name__)

MAX_BATCH = 500  # send_each refuses more
MAX_TTL_SECONDS = 28 * 24 * 3600  # FCM's maximum (and default) TTL
APNS_COLLAPSE_ID_MAX_BYTES = 64
WEB_ICON = "/app/icons/icon-192.png"  # the installable web app's icon (pwa/), shown by browsers with the push
WEB_OPEN_PATH = "/app/"  # the service worker opens this (plus #inbox) when the notification is tapped
INVALID_TOKEN_PHRASE = "not a valid fcm registration token"  # noqa: S105 - an FCM error text, not a secret

_RETRYABLE = (
    messaging.QuotaExceededError,
    exceptions.ResourceExhaustedError,
    exceptions.UnavailableError,
    exceptions.InternalError,
    exceptions.DeadlineExceededError,
)

_APPS_LOCK = threading.Lock()  # guards app creation and the FCM_URL class attribute
_APPS: dict[str, tuple[firebase_admin.App, tuple]] = {}
_WARNINGS_LOCK = threading.Lock()


@dataclass(frozen=True)
class FCMOptions:
    service_account: str | dict | None = None  # file path, JSON text or dict; None = ADC
    project_id: str | None = None
    base_url: str | None = None  # e.g. http://127.0.0.1:8766 for the fake
    http_timeout: float = 30.0
    app_name: str = "pengampu-push"
    chunk_size: int = MAX_BATCH  # messages per send_each call (1..500)
    max_concurrency: int = 2  # send_each calls in flight at once
    pool_size: int | None = None  # HTTP connections kept; default chunk_size * concurrency
    # True: send_each's threads queue for one of `pool_size` connections instead of opening extra
    # ones, so at most pool_size POSTs are in flight per process (fewer threads fighting for the GIL).
    pool_block: bool = False
    http_status_retries: int = 4  # SDK default: 4 retries on 500/503 with backoff
    respect_retry_after: bool = False  # True = block the worker on 429 Retry-After (SDK default)
    sender_mismatch_min_batch: int = 20  # safety valve threshold, see FCMProvider.send
    # WebpushConfig.fcm_options.link: the absolute https URL a tapped browser push opens (FCM refuses any other);
    # None: left out, the app's service worker opens the inbox itself.
    web_link: str | None = None

    def __post_init__(self) -> None:
        if self.web_link and not self.web_link.startswith("https://"):
            raise ValueError("web_link (FCM_WEB_LINK) must be an https URL: FCM refuses any other")


class FCMProvider:
    """`PushProvider` over firebase_admin.messaging.send_each."""

    def __init__(self, options: FCMOptions | None = None, **kwargs: Any) -> None:
        self.options = options or FCMOptions(**kwargs)
        if not 1 <= self.options.chunk_size <= MAX_BATCH:
            raise ValueError(f"chunk_size must be within 1..{MAX_BATCH}")
        self._app: firebase_admin.App | None = None
        self._lock = threading.Lock()

    # -- app -----------------------------------------------------------------
    @property
    def app(self) -> firebase_admin.App:
        if self._app is None:
            with self._lock:
                if self._app is None:
                    self._app = _get_or_create_app(self.options)
        return self._app

    # -- sending -------------------------------------------------------------
    def send(self, messages: Sequence[PushMessage]) -> list[PushResult]:
        """Send all messages; one result per message, in input order.

        Safety valve: when every message of this call (and at least
        `sender_mismatch_min_batch` of them) fails with SENDER_ID_MISMATCH, the
        credentials or project are wrong, not the tokens. Nothing is then
        deactivated: all results become 'failed' / SENDER_ID_MISMATCH_ALL.
        """
        messages = list(messages)
        if not messages:
            return []  # send_each([]) raises UnknownError
        size = self.options.chunk_size
        chunks = [messages[i : i + size] for i in range(0, len(messages), size)]
        workers = min(self.options.max_concurrency, len(chunks))
        if workers <= 1:
            parts = [self._send_chunk(chunk) for chunk in chunks]
        else:
            with concurrent.futures.ThreadPoolExecutor(workers, "fcm-chunk") as pool:
                parts = list(pool.map(self._send_chunk, chunks))
        results = [result for part in parts for result in part]
        results = self._apply_sender_mismatch_valve(results)
        _log_summary(results)
        return results

    def _ensure_access_token(self) -> None:
        """Refresh the OAuth token once, before fanning out.

        send_each's threads would otherwise each see an invalid token and each
        run their own JWT exchange (one per thread on the first call).
        """
        app = self.app
        if app.credential.get_credential().valid:
            return
        with self._lock:
            if not app.credential.get_credential().valid:
                app.credential.get_access_token()

    def _send_chunk(self, chunk: list[PushMessage]) -> list[PushResult]:
        fcm_messages = build_messages(chunk, web_link=self.options.web_link)
        try:
            self._ensure_access_token()
            batch = messaging.send_each(fcm_messages, app=self.app)
        except ValueError:
            return self._send_chunk_validated(chunk, fcm_messages)
        except (exceptions.FirebaseError, auth_exceptions.GoogleAuthError) as exc:
            # The whole chunk failed: OAuth token exchange or the SDK's thread pool.
            logger.exception("FCM send failed for a chunk of %d", len(chunk))
            outcome, code = _chunk_failure(exc)
            return [PushResult(m.token, outcome, error_code=code, error_message=str(exc)) for m in chunk]
        return [_result(m.token, r) for m, r in zip(chunk, batch.responses, strict=True)]

    def _send_chunk_validated(self, chunk, fcm_messages) -> list[PushResult]:
        """A message the SDK rejects locally spoils its chunk; split those out."""
        results: list[PushResult | None] = [None] * len(chunk)
        valid: list[int] = []
        for i, fcm_message in enumerate(fcm_messages):
            try:
                messaging._MessagingService.encode_message(fcm_message)
                valid.append(i)
            except ValueError as exc:
                logger.error("Invalid push message for %s: %s", _short(chunk[i].token), exc)
                results[i] = PushResult(chunk[i].token, FAILED, error_code="INVALID_MESSAGE", error_message=str(exc))
        if valid:
            sent = self._send_chunk([chunk[i] for i in valid])
            for i, result in zip(valid, sent, strict=True):
                results[i] = result
        return results  # type: ignore[return-value]

    def _apply_sender_mismatch_valve(self, results: list[PushResult]) -> list[PushResult]:
        minimum = self.options.sender_mismatch_min_batch
        if len(results) < minimum or any(r.error_code != "SENDER_ID_MISMATCH" for r in results):
            return results
        logger.critical(
            "FCM answered SENDER_ID_MISMATCH for all %d messages: the service account or "
            "project is wrong. No token was deactivated.",
            len(results),
        )
        return [
            PushResult(r.token, FAILED, error_code="SENDER_ID_MISMATCH_ALL", error_message=r.error_message)
            for r in results
        ]


# -- message building ---------------------------------------------------------
def build_messages(pushes: Sequence[PushMessage], now: datetime | None = None, web_link: str | None = None):
    """PushMessages -> firebase_admin Messages (Message(token=) warning silenced here only)."""
    now = now or datetime.now(UTC)
    with _WARNINGS_LOCK, warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Message.token is deprecated", DeprecationWarning)
        return [build_message(p, now, web_link=web_link) for p in pushes]


def build_message(push: PushMessage, now: datetime, web_link: str | None = None) -> messaging.Message:
    ttl, expires_at = _lifespan(push, now)
    android = messaging.AndroidConfig(
        collapse_key=push.collapse_key,
        priority=push.priority,
        ttl=ttl,
        notification=messaging.AndroidNotification(channel_id=push.channel_id, tag=push.collapse_key),
    )
    apns_headers = {"apns-priority": "10" if push.priority == "high" else "5"}
    if push.collapse_key:
        apns_headers["apns-collapse-id"] = _truncate_utf8(push.collapse_key, APNS_COLLAPSE_ID_MAX_BYTES)
    if expires_at is not None:
        # 0 tells APNs "deliver now or drop", matching an Android TTL of 0.
        apns_headers["apns-expiration"] = "0" if ttl == 0 else str(int(expires_at.timestamp()))
    target = {"fid": push.token} if push.kind == "fid" else {"token": push.token}
    return messaging.Message(
        notification=messaging.Notification(title=push.title, body=push.body),
        data={str(k): "" if v is None else str(v) for k, v in push.data.items()},
        android=android,
        apns=messaging.APNSConfig(headers=apns_headers),
        webpush=_webpush(push, ttl, web_link),
        **target,
    )


def _webpush(push: PushMessage, ttl: int | None, web_link: str | None = None) -> messaging.WebpushConfig:
    """The same message for a browser (the installable app registers its devices with platform "web"):
    Web Push headers (TTL, Urgency), a notification the app's service worker shows with the app's icon, and
    (when configured) fcm_options.link, the page a tap opens; FCM delivers it to the browser as fcmOptions.link."""
    headers = {"Urgency": "high" if push.priority == "high" else "normal"}
    if ttl is not None:
        headers["TTL"] = str(ttl)
    return messaging.WebpushConfig(
        headers=headers,
        notification=messaging.WebpushNotification(
            title=push.title, body=push.body, icon=WEB_ICON, tag=push.collapse_key, data={"url": WEB_OPEN_PATH}
        ),
        fcm_options=messaging.WebpushFCMOptions(link=web_link) if web_link else None,
    )


def _lifespan(push: PushMessage, now: datetime) -> tuple[int | None, datetime | None]:
    """(Android TTL seconds clamped to 0..28 days, absolute expiry for APNs)."""
    expires_at = push.expires_at
    if expires_at is not None and expires_at.tzinfo is None:
        expires_at = expires_at.replace(tzinfo=UTC)  # naive means UTC
    ttl = push.ttl_seconds
    if ttl is None and expires_at is not None:
        ttl = int((expires_at - now).total_seconds())
    if ttl is None:
        return None, None
    ttl = max(0, min(int(ttl), MAX_TTL_SECONDS))
    if expires_at is None:
        expires_at = now + timedelta(seconds=ttl)
    return ttl, expires_at


def _truncate_utf8(text: str, limit: int) -> str:
    return text.encode()[:limit].decode(errors="ignore")


# -- error classification -------------------------------------------------------
def _result(token: str, response: messaging.SendResponse) -> PushResult:
    if response.success:
        return PushResult(token, SENT, message_id=response.message_id)
    return classify_error(token, response.exception)


def classify_error(token: str, exc: Exception) -> PushResult:
    code = fcm_error_code(exc)
    text = str(exc)
    if isinstance(exc, (messaging.UnregisteredError, messaging.SenderIdMismatchError)):
        outcome = DEACTIVATE
    elif isinstance(exc, exceptions.InvalidArgumentError) and INVALID_TOKEN_PHRASE in text.lower():
        outcome = DEACTIVATE
    elif isinstance(exc, _RETRYABLE):
        return PushResult(
            token, RETRY, error_code=code, error_message=text, retry_after_seconds=retry_after_seconds(exc)
        )
    else:
        outcome = FAILED
        logger.warning("FCM rejected a message for %s: %s %s", _short(token), code, text)
    return PushResult(token, outcome, error_code=code, error_message=text)


def fcm_error_code(exc: Exception) -> str | None:
    """FcmError.errorCode from the response body, else the canonical code."""
    response = getattr(exc, "http_response", None)
    if response is not None:
        try:
            error = response.json().get("error", {})
            for detail in error.get("details", []):
                if detail.get("@type", "").endswith("google.firebase.fcm.v1.FcmError"):
                    return detail.get("errorCode")
        except (ValueError, AttributeError):
            pass
    return getattr(exc, "code", None) or type(exc).__name__


def retry_after_seconds(exc: Exception) -> float | None:
    response = getattr(exc, "http_response", None)
    value = response.headers.get("Retry-After") if response is not None else None
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _chunk_failure(exc: Exception) -> tuple[Outcome, str]:
    """(outcome, error_code) for an error that sank a whole chunk."""
    cause = getattr(exc, "cause", None) or exc
    if isinstance(cause, auth_exceptions.RefreshError) and not cause.retryable:
        return FAILED, "CREDENTIALS"  # bad key or account: retrying will not help
    return RETRY, getattr(exc, "code", None) or type(exc).__name__


def _short(token: str) -> str:
    return token[:12] + "…" if len(token) > 12 else token


def _log_summary(results: list[PushResult]) -> None:
    counts: dict[str, int] = {}
    for r in results:
        counts[r.outcome] = counts.get(r.outcome, 0) + 1
    logger.info("FCM send of %d: %s", len(results), counts)


# -- app creation -----------------------------------------------------------------
def _get_or_create_app(opts: FCMOptions) -> firebase_admin.App:
    """The process-wide App for `opts.app_name`; HTTP settings are fixed at creation."""
    base_url = opts.base_url.rstrip("/") if opts.base_url else None
    fingerprint = (
        base_url,
        opts.http_timeout,
        opts.http_status_retries,
        opts.respect_retry_after,
        _pool_size(opts),
        opts.pool_block,
    )
    with _APPS_LOCK:
        if opts.app_name in _APPS:
            app, existing = _APPS[opts.app_name]
            if existing != fingerprint:
                raise ValueError(
                    f"firebase app {opts.app_name!r} exists with other HTTP settings "
                    f"{existing} != {fingerprint}; use another FCM_APP_NAME"
                )
            return app
        app_options: dict[str, Any] = {"httpTimeout": opts.http_timeout}
        if opts.project_id:
            app_options["projectId"] = opts.project_id
        app = firebase_admin.initialize_app(_credential(opts), app_options, name=opts.app_name)
        try:
            _configure_messaging(app, opts, base_url)
        except Exception:
            firebase_admin.delete_app(app)
            raise
        _APPS[opts.app_name] = (app, fingerprint)
        return app


def _credential(opts: FCMOptions) -> credentials.Base:
    source = opts.service_account
    if source is None:
        return credentials.ApplicationDefault()
    if isinstance(source, str) and source.lstrip().startswith("{"):
        source = json.loads(source)
    return credentials.Certificate(source)


def _configure_messaging(app: firebase_admin.App, opts: FCMOptions, base_url: str | None) -> None:
    """Create the app's messaging service (URL override applied) and tune its HTTP adapter."""
    original = messaging._MessagingService.FCM_URL
    if base_url:
        messaging._MessagingService.FCM_URL = base_url + "/v1/projects/{0}/messages:send"
    try:
        svc = messaging._get_messaging_service(app)
    finally:
        messaging._MessagingService.FCM_URL = original
    if base_url:
        if not svc._fcm_url.startswith(base_url + "/"):
            raise RuntimeError(
                f"FCM URL override did not take (got {svc._fcm_url!r}); firebase-admin internals changed"
            )
        _disable_regional_access_boundary(app.credential.get_credential())
    split = urlsplit(svc._fcm_url)
    adapter = requests.adapters.HTTPAdapter(
        pool_connections=4,
        pool_maxsize=_pool_size(opts),
        max_retries=_retry_config(opts),
        pool_block=opts.pool_block,
    )
    session = svc._client.session
    session.mount(f"{split.scheme}://{split.netloc}", adapter)
    _snapshot_environment(session, svc._fcm_url)


def _snapshot_environment(session: requests.Session, url: str) -> None:
    """Read proxy and CA-bundle settings from the environment once, not per request.

    With trust_env=True, requests re-scans os.environ for proxies on every
    call; in the benchmark that was about a quarter of the client's CPU.
    Changes to those variables after app creation are therefore ignored.
    """
    proxies = requests.utils.get_environ_proxies(url)
    ca_bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    session.trust_env = False
    session.proxies.update(proxies)
    # A CA-bundle path costs an os.path.isdir() per request inside requests: a syscall that hands the
    # GIL to one of send_each's hundreds of threads. Certificates only matter for https (the real FCM);
    # against a plain-http fake that was ~1/4 of the wall time of a fan-out.
    if ca_bundle and session.verify is True and url.startswith("https://"):
        session.verify = ca_bundle


def _pool_size(opts: FCMOptions) -> int:
    return opts.pool_size or opts.chunk_size * max(1, opts.max_concurrency)


def _retry_config(opts: FCMOptions) -> urllib3_retry.Retry:
    """The SDK's DEFAULT_RETRY_CONFIG with configurable status retries and Retry-After."""
    return urllib3_retry.Retry(
        connect=1,
        read=1,
        status=opts.http_status_retries,
        status_forcelist=[500, 503],
        raise_on_status=False,
        backoff_factor=0.5,
        allowed_methods=None,
        respect_retry_after_header=opts.respect_retry_after,
    )


def _disable_regional_access_boundary(credential: Any) -> None:
    """Stop google-auth's background lookup to iamcredentials.googleapis.com.

    Private google-auth API (2.6x); only done for local fakes, on this
    credential instance rather than process-wide.
    """
    if hasattr(credential, "_is_regional_access_boundary_lookup_required"):
        credential._is_regional_access_boundary_lookup_required = lambda: False


def close_apps() -> None:
    """Delete every App this module created (tests; not needed in workers)."""
    with _APPS_LOCK:
        for app, _ in _APPS.values():
            firebase_admin.delete_app(app)
        _APPS.clear()


def close_app(app_name: str) -> None:
    with _APPS_LOCK:
        entry = _APPS.pop(app_name, None)
        if entry:
            firebase_admin.delete_app(entry[0])
