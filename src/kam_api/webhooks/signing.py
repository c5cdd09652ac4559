"""Standard Webhooks (https://www.standardwebhooks.com) signing: a secret is ``whsec_`` and the
base64 of its key bytes; a message is signed as ``v1,<base64 HMAC-SHA256 of
"{webhook-id}.{webhook-timestamp}.{body}">`` under those bytes."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os

PREFIX = "whsec_"
#: Key bytes of a generated secret; a given one must have between MIN and MAX.
KEY_BYTES = 32
MIN_KEY_BYTES = 24
MAX_KEY_BYTES = 64


class InvalidSecretError(ValueError):
    """A webhook secret that is not ``whsec_`` and base64 of 24 to 64 bytes."""


def generate_secret() -> str:
    """A new random secret, as subscribers are given it."""
    return PREFIX + base64.b64encode(os.urandom(KEY_BYTES)).decode("ascii")


def secret_key(secret: str) -> bytes:
    """The HMAC key bytes of a ``whsec_`` secret (``InvalidSecretError`` if it is not one)."""
    if not secret.startswith(PREFIX):
        raise InvalidSecretError("a webhook secret starts with whsec_")
    try:
        key = base64.b64decode(secret[len(PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        raise InvalidSecretError("a webhook secret is whsec_ and base64") from None
    if not MIN_KEY_BYTES <= len(key) <= MAX_KEY_BYTES:
        raise InvalidSecretError(
            f"a webhook secret holds {MIN_KEY_BYTES} to {MAX_KEY_BYTES} bytes, not {len(key)}"
        )
    return key


def signature(key: bytes, message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header's value for one message."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def headers(key: bytes, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The headers of one delivery."""
    return {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(key, message_id, timestamp, body),
    }


def verify(secret: str, message_id: str, timestamp: str, body: bytes, header: str) -> bool:
    """Whether a ``webhook-signature`` header (space-separated signatures) signs the message:
    what a receiver does (the README's snippet is this, standalone)."""
    expected = signature(secret_key(secret), message_id, int(timestamp), body)
    return any(hmac.compare_digest(expected, given) for given in header.split())
