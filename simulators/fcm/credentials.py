"""Throwaway service accounts and RS256 JWT verification for the fake FCM.

Nothing here touches the network or the disk (except `write_service_account`,
which writes a temp file for tools that insist on a path).
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
import time
import uuid

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

DEFAULT_PROJECT_ID = "pengampu-test"


def make_service_account(token_uri: str, project_id: str = DEFAULT_PROJECT_ID) -> tuple[dict, bytes]:
    """Return (service-account dict, public key PEM) for a fresh RSA key.

    The dict has the shape of a downloaded Firebase service-account JSON, with
    `token_uri` pointing wherever the caller wants (the fake's /token).
    """
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    email = f"firebase-adminsdk-fake@{project_id}.iam.gserviceaccount.com"
    info = {
        "type": "service_account",
        "project_id": project_id,
        "private_key_id": uuid.uuid4().hex,
        "private_key": private_pem,
        "client_email": email,
        "client_id": str(uuid.uuid4().int)[:21],
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": token_uri,
        "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
        "client_x509_cert_url": "https://www.googleapis.com/robot/v1/metadata/x509/" + email,
        "universe_domain": "googleapis.com",
    }
    return info, public_pem


def write_service_account(info: dict) -> str:
    """Write the dict to a private temp file and return its path (caller deletes)."""
    fd, path = tempfile.mkstemp(prefix="fake-fcm-sa-", suffix=".json")
    with os.fdopen(fd, "w") as fh:
        json.dump(info, fh)
    return path


class JWTError(ValueError):
    pass


def _b64url_decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def verify_rs256(assertion: str, public_pem: bytes, *, leeway: int = 60) -> dict:
    """Verify an RS256 JWT and return its claims.

    `aud` is deliberately not checked: google-auth always signs
    aud=https://oauth2.googleapis.com/token, whatever `token_uri` says.
    """
    try:
        header_b64, claims_b64, sig_b64 = assertion.split(".")
        header = json.loads(_b64url_decode(header_b64))
        claims = json.loads(_b64url_decode(claims_b64))
        signature = _b64url_decode(sig_b64)
    except ValueError as exc:
        raise JWTError(f"malformed assertion: {exc}") from exc
    if header.get("alg") != "RS256":
        raise JWTError(f"unexpected alg {header.get('alg')!r}")
    public_key = serialization.load_pem_public_key(public_pem)
    assert isinstance(public_key, rsa.RSAPublicKey)  # the simulator made this key pair (RS256)
    try:
        public_key.verify(
            signature,
            f"{header_b64}.{claims_b64}".encode(),
            padding.PKCS1v15(),
            hashes.SHA256(),
        )
    except InvalidSignature as exc:
        raise JWTError("bad signature") from exc
    now = time.time()
    if claims.get("exp", 0) < now - leeway:
        raise JWTError("assertion expired")
    if claims.get("iat", now) > now + leeway:
        raise JWTError("assertion issued in the future")
    return claims
