"""The ledger as a service: the verified Merkle tree over the log, kept incrementally, signed
checkpoints, inclusion and consistency proofs, and the check of the log's tail.

``Ledger.sync()`` reads only the chain entries and events after those it has verified (the first
call verifies the whole log, as ``kam verify`` does, with the same ``ChainVerifier``), so a
request costs the new entries plus O(log n) hashes. The tree never grows past the first entry
that does not verify: nothing after it is signed or proved.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime

from kam_store.checkpoint import Checkpoint, SigningKey, VerifierKey
from kam_store.url import DatabaseURL
from kam_store.verifier import ChainVerifier, Problem, open_reader, store_checkpoint


class LedgerKeyMissingError(RuntimeError):
    """No signing key is configured (KAM_LEDGER_KEY or KAM_LEDGER_KEY_FILE)."""


class PositionNotInTreeError(ValueError):
    """The position is not an entry of the tree asked about."""


@dataclass(frozen=True)
class InclusionProof:
    position: int
    leaf_index: int
    tree_size: int
    leaf_hash: bytes
    root: bytes
    path: list[bytes]


@dataclass(frozen=True)
class ConsistencyProof:
    first: int
    second: int
    first_root: bytes
    second_root: bytes
    path: list[bytes]


@dataclass(frozen=True)
class TailCheck:
    """Whether the last ``checked`` entries verify against their stored hashes."""

    ok: bool
    checked: int
    position: int
    problem: Problem | None = None


class Ledger:
    """The verified tree of one store's log (thread-safe)."""

    def __init__(
        self,
        database: DatabaseURL,
        events_table: str,
        *,
        key: SigningKey | None = None,
        origin: str = "kam-ledger",
    ) -> None:
        self.database = database
        self.events_table = events_table
        self.key = key
        self.origin = key.name if key is not None else origin
        self.verifier = ChainVerifier()
        self.key_error: str | None = None  # why a configured key did not load
        self._lock = threading.Lock()

    @property
    def verifier_key(self) -> VerifierKey:
        return self._signing_key().verifier

    def _signing_key(self) -> SigningKey:
        if self.key is None:
            raise LedgerKeyMissingError(
                self.key_error
                or "no ledger signing key: set KAM_LEDGER_KEY (base64 of a 32-byte Ed25519 "
                "seed) or KAM_LEDGER_KEY_FILE"
            )
        return self.key

    def sync(self) -> ChainVerifier:
        """Verifies the entries added since the last call; returns the verifier."""
        with self._lock:
            verifier = self.verifier
            if verifier.problem is None:
                with open_reader(self.database, self.events_table) as reader:
                    entries = reader.chain(verifier.size)
                    if entries or verifier.size == 0:
                        events = reader.events(verifier.last_position)
                        try:
                            verifier.feed(entries, events)
                        finally:
                            events.close()  # type: ignore[attr-defined]
            return verifier

    def checkpoint(self, now: datetime | None = None) -> tuple[Checkpoint, str]:
        """A checkpoint of the verified tree, and its signed text, which the store keeps (the
        first of each tree size) for ``kam verify`` to check again."""
        key = self._signing_key()
        verifier = self.sync()
        with self._lock:
            checkpoint = Checkpoint(
                origin=key.name,
                size=verifier.size,
                root=verifier.tree.root(),
                position=verifier.last_position,
                chain_head=verifier.head,
                # Whole seconds: what the signed text says.
                time=(now or datetime.now(UTC)).replace(microsecond=0),
            )
        note = checkpoint.sign(key)
        store_checkpoint(self.database, self.events_table, checkpoint.size, note)
        return checkpoint, note

    def inclusion(self, position: int, tree_size: int | None = None) -> InclusionProof:
        """The proof that the entry at ``position`` is in the tree of ``tree_size`` entries
        (default: the whole verified tree)."""
        verifier = self.sync()
        with self._lock:
            size = verifier.size if tree_size is None else tree_size
            if not 1 <= size <= verifier.size:
                raise PositionNotInTreeError(
                    f"tree_size must be between 1 and {verifier.size} (the verified tree)"
                )
            index = verifier.index_of(position)
            if index is None or index >= size:
                raise PositionNotInTreeError(
                    f"position {position} is not an entry of the tree of {size} entries"
                )
            return InclusionProof(
                position=position,
                leaf_index=index,
                tree_size=size,
                leaf_hash=verifier.tree.leaf(index),
                root=verifier.tree.root(size),
                path=verifier.tree.inclusion_proof(index, size),
            )

    def consistency(self, first: int, second: int | None = None) -> ConsistencyProof:
        """The proof that the tree of ``first`` entries is a prefix of the tree of ``second``."""
        verifier = self.sync()
        with self._lock:
            second = verifier.size if second is None else second
            if not 1 <= first <= second <= verifier.size:
                raise PositionNotInTreeError(
                    f"need 1 <= from <= to <= {verifier.size} (the verified tree size)"
                )
            return ConsistencyProof(
                first=first,
                second=second,
                first_root=verifier.tree.root(first),
                second_root=verifier.tree.root(second),
                path=verifier.tree.consistency_proof(first, second),
            )

    def check_tail(self, entries: int) -> TailCheck:
        """Re-hashes the last ``entries`` chain entries from their events and compares each
        with its stored hash (independent of the tree: a cheap readiness check)."""
        with open_reader(self.database, self.events_table) as reader:
            start = max(reader.last_seq() - entries - 1, 0)
            chain = reader.chain(start)
            if start > 0 and chain:
                anchor, chain = chain[0], chain[1:]
                verifier = ChainVerifier(after_seq=anchor.seq, head=anchor.hash)
                after = anchor.position
            else:
                verifier, after = ChainVerifier(), 0
            events = reader.events(after)
            try:
                verifier.feed(chain, events)
            finally:
                events.close()  # type: ignore[attr-defined]
        return TailCheck(
            verifier.problem is None, verifier.size, verifier.last_position, verifier.problem
        )
