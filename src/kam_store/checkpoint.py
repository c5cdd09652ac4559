"""Signed checkpoints of the ledger: C2SP ``tlog-checkpoint`` bodies in C2SP ``signed-note``
envelopes, signed with Ed25519.

A checkpoint is UTF-8 text::

    kam-ledger.dev/log                      <- origin (the log's name)
    1234                                    <- tree size (number of chain entries)
    3q2+7w...=                              <- base64 of the Merkle tree head (RFC 6962)
    position 1301                           <- extension lines: the notification id of the
    chain 9f86...=                             last entry, base64 of its chain hash (the chain
    time 2026-12-02T07:00:00Z                  head) and when it was signed (UTC)
                                            <- one empty line
    — kam-ledger.dev/log AbCdEf...=         <- signature line(s)

The signed message is the text before the empty line, including its final newline. A signature
line is an em dash (U+2014), a space, the key name, a space and base64 of the 4-byte key id
followed by the 64-byte Ed25519 signature. The key id is the first 4 bytes of
``SHA-256(key name || 0x0A || 0x01 || public key)`` (0x01 names Ed25519), and a verifier key is
written ``<name>+<key id hex>+<base64(0x01 || public key)>``, as in Go's
``golang.org/x/mod/sumdb/note``, so standard tooling can check our checkpoints.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ED25519 = b"\x01"
DASH = "\u2014"


class CheckpointError(ValueError):
    """A checkpoint or key that does not parse, or whose signature does not verify."""


def key_id(name: str, public_key: bytes) -> bytes:
    """The 4-byte id of an Ed25519 key named ``name`` (C2SP signed-note)."""
    return hashlib.sha256(name.encode() + b"\n" + ED25519 + public_key).digest()[:4]


def _check_name(name: str) -> str:
    if not name or any(c.isspace() or c == "+" for c in name):
        raise CheckpointError(f"key name {name!r} must be non-empty, without spaces or '+'")
    return name


@dataclass(frozen=True)
class VerifierKey:
    """A named Ed25519 public key."""

    name: str
    public_key: bytes

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.public_key)

    def encode(self) -> str:
        """``<name>+<key id hex>+<base64(0x01 || public key)>``."""
        raw = base64.b64encode(ED25519 + self.public_key).decode()
        return f"{self.name}+{self.key_id.hex()}+{raw}"

    @classmethod
    def parse(cls, text: str) -> VerifierKey:
        """A verifier key in the ``name+hex+base64`` form."""
        try:
            name, hex_id, raw = text.strip().split("+", 2)
            data = base64.b64decode(raw, validate=True)
        except (ValueError, binascii.Error):
            raise CheckpointError("a verifier key reads <name>+<key id hex>+<base64>") from None
        if len(data) != 33 or data[:1] != ED25519:
            raise CheckpointError("the verifier key is not an Ed25519 key")
        key = cls(_check_name(name), data[1:])
        if key.key_id.hex() != hex_id.lower():
            raise CheckpointError("the verifier key's id does not match its key")
        return key

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True)
class SigningKey:
    """A named Ed25519 private key (the 32-byte seed)."""

    name: str
    seed: bytes

    @classmethod
    def from_base64(cls, name: str, text: str) -> SigningKey:
        try:
            seed = base64.b64decode(text.strip(), validate=True)
        except (ValueError, binascii.Error):
            raise CheckpointError("the ledger key is not base64") from None
        if len(seed) != 32:
            raise CheckpointError("the ledger key must be base64 of a 32-byte Ed25519 seed")
        return cls(_check_name(name), seed)

    @classmethod
    def generate(cls, name: str) -> SigningKey:
        private = Ed25519PrivateKey.generate()
        seed = private.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        return cls(_check_name(name), seed)

    def to_base64(self) -> str:
        return base64.b64encode(self.seed).decode()

    @property
    def verifier(self) -> VerifierKey:
        public = (
            Ed25519PrivateKey.from_private_bytes(self.seed)
            .public_key()
            .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        )
        return VerifierKey(self.name, public)

    def sign(self, message: bytes) -> bytes:
        return Ed25519PrivateKey.from_private_bytes(self.seed).sign(message)


def write_key_file(path: Path, key: SigningKey) -> None:
    """Writes the seed, base64, to a new file readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as file:
        file.write(key.to_base64() + "\n")


@dataclass(frozen=True)
class Checkpoint:
    """What a checkpoint states."""

    origin: str
    size: int
    root: bytes
    position: int
    chain_head: bytes
    time: datetime

    def body(self) -> str:
        """The signed text (ending in a newline)."""
        return (
            f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"
            f"position {self.position}\n"
            f"chain {base64.b64encode(self.chain_head).decode()}\n"
            f"time {self.time.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}\n"
        )

    def sign(self, key: SigningKey) -> str:
        """The signed note: the body, an empty line, the signature line."""
        body = self.body()
        signature = key.sign(body.encode())
        encoded = base64.b64encode(key.verifier.key_id + signature).decode()
        return f"{body}\n{DASH} {key.name} {encoded}\n"


@dataclass(frozen=True)
class SignedCheckpoint:
    checkpoint: Checkpoint
    text: str


def parse_checkpoint(text: str, key: VerifierKey) -> Checkpoint:
    """The checkpoint in a signed note, if ``key`` signed it; raises ``CheckpointError``."""
    body, separator, signatures = text.partition("\n\n")
    if not separator or not body:
        raise CheckpointError("not a signed note: no empty line before the signatures")
    body += "\n"
    signed = False
    for line in signatures.splitlines():
        if not line:
            continue
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != DASH:
            raise CheckpointError(f"malformed signature line {line!r}")
        if parts[1] != key.name:
            continue
        try:
            raw = base64.b64decode(parts[2], validate=True)
        except (ValueError, binascii.Error):
            raise CheckpointError("a signature is not base64") from None
        if raw[:4] == key.key_id and key.verify(body.encode(), raw[4:]):
            signed = True
    if not signed:
        raise CheckpointError(f"the checkpoint carries no valid signature of {key.name}")
    lines = body[:-1].split("\n")
    try:
        origin, size, root = lines[0], int(lines[1]), base64.b64decode(lines[2], validate=True)
        extensions = dict(line.split(" ", 1) for line in lines[3:])
        checkpoint = Checkpoint(
            origin=origin,
            size=size,
            root=root,
            position=int(extensions["position"]),
            chain_head=base64.b64decode(extensions["chain"], validate=True),
            time=datetime.strptime(extensions["time"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC),
        )
    except (IndexError, KeyError, ValueError, binascii.Error):
        raise CheckpointError("the checkpoint body is malformed") from None
    if origin != key.name:
        raise CheckpointError(f"the checkpoint is of log {origin!r}, not {key.name!r}")
    if size < 0 or len(root) != 32 or len(checkpoint.chain_head) != 32:
        raise CheckpointError("the checkpoint body is malformed")
    return checkpoint
