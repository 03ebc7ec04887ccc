"""Key material that is published with the source code: the fallbacks of dev.py and test.py.

Anyone can read these, so a deployment that runs with one of them has no secret at all (a JWT signed with the
published SECRET_KEY is accepted as anybody's, the published PII keys decrypt every NIK). dev.py and test.py take
their fallbacks from here and production.py refuses to start with any of them.
"""

DEV_SECRET_KEY = "dev-only-insecure-key-change-me-0123456789abcdef"  # noqa: S105 (published on purpose: the dev fallback)
TEST_SECRET_KEY = "test-only-secret-key-long-enough-for-hs256-jwt"  # noqa: S105 (published on purpose: the test fallback)
DEV_PII_ENCRYPTION_KEY = "ZGV2LW9ubHktcGlpLWtleS0zMi1ieXRlcy1sb25nISE="
TEST_PII_ENCRYPTION_KEY = "dGVzdC1vbmx5LXBpaS1rZXktMzItYnl0ZXMtbG9uZyE="
DEV_PII_HASH_KEY = "dev-only-pii-hash-key"
TEST_PII_HASH_KEY = "test-only-pii-hash-key"

PUBLISHED_KEYS = frozenset(
    {
        DEV_SECRET_KEY,
        TEST_SECRET_KEY,
        DEV_PII_ENCRYPTION_KEY,
        TEST_PII_ENCRYPTION_KEY,
        DEV_PII_HASH_KEY,
        TEST_PII_HASH_KEY,
    }
)
# Markers of a placeholder rather than a generated key (Django's own startproject key starts "django-insecure").
PLACEHOLDER_MARKERS = ("dev-only", "test-only", "insecure", "change-me", "changeme")


def is_published(value: str) -> bool:
    text = (value or "").strip()
    return text in PUBLISHED_KEYS or any(marker in text.lower() for marker in PLACEHOLDER_MARKERS)
