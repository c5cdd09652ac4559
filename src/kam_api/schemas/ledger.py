"""Ledger responses: signed checkpoints, the public key and the Merkle proofs an auditor
verifies (hashes in standard base64)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

B64 = "base64 of 32 bytes"


class CheckpointPublic(BaseModel):
    """A signed checkpoint of the verified log (C2SP tlog-checkpoint in a signed note)."""

    origin: str = Field(description="The log's name (also the signing key's name)")
    tree_size: int = Field(description="Chain entries in the tree (the Merkle tree's leaves)")
    root_hash: str = Field(description=f"RFC 6962 tree head, {B64}")
    position: int = Field(description="Notification id (position) of the last entry")
    chain_head: str = Field(description=f"Chain hash of the last entry, {B64}")
    time: datetime = Field(description="When it was signed (UTC, whole seconds)")
    key_id: str = Field(description="The signing key's 4-byte id, hex")
    signature: str = Field(description="base64 of key id || Ed25519 signature over the body")
    note: str = Field(
        description="The signed note exactly as signed: save it as a file for `kam verify "
        "--checkpoint` or `python -m kam_store.verifier`"
    )
    problem: str | None = Field(
        None,
        description="If the log does not verify past the tree: the first bad position, and why "
        "(the checkpoint covers only what verified)",
    )


class PublicKeyPublic(BaseModel):
    """The key that signs checkpoints."""

    name: str
    algorithm: str = Field("ed25519")
    key_id: str = Field(description="4-byte key id, hex")
    public_key: str = Field(description="base64 of the 32-byte Ed25519 public key")
    verifier_key: str = Field(
        description="<name>+<key id>+<base64(0x01 || key)>: the file `--public-key` reads"
    )


class InclusionProofPublic(BaseModel):
    """RFC 6962 audit path of one entry in the tree of ``tree_size`` entries."""

    position: int = Field(description="The event's position (notification id)")
    leaf_index: int = Field(description="Its leaf index in the tree (entry number - 1)")
    tree_size: int
    leaf_hash: str = Field(description=f"SHA-256(0x00 || chain hash), {B64}")
    root_hash: str = Field(description=f"Tree head at tree_size, {B64}")
    proof: list[str] = Field(description="Sibling hashes from the leaf up, base64 each")


class ConsistencyProofPublic(BaseModel):
    """RFC 6962 proof that the tree of ``from`` entries is a prefix of the tree of ``to``."""

    first: int = Field(serialization_alias="from")
    second: int = Field(serialization_alias="to")
    first_root: str = Field(description=f"Tree head at from, {B64}")
    second_root: str = Field(description=f"Tree head at to, {B64}")
    proof: list[str] = Field(description="RFC 6962 PROOF nodes, base64 each")
