"""A Merkle tree in the shape of RFC 6962 / RFC 9162 (section 2.1), kept incrementally.

- Leaf hash: ``SHA-256(0x00 || data)``; interior node: ``SHA-256(0x01 || left || right)``.
- The tree head of ``n`` leaves is ``MTH(D[0:n])``: a single leaf is its leaf hash; otherwise the
  leaves split at ``k``, the largest power of two below ``n``; the empty tree is ``SHA-256()``.
- Inclusion proofs (``PATH``) and consistency proofs (``PROOF``) are the RFC's, and
  ``verify_inclusion`` / ``verify_consistency`` are the RFC 9162 sections 2.1.3.2 and 2.1.4.2
  algorithms, so any RFC 6962 verifier (Certificate Transparency, Trillian, ``transparency-dev``)
  accepts our proofs.

The tree keeps every complete, aligned subtree (``levels[j][i]`` covers leaves
``i*2^j .. (i+1)*2^j - 1``), so appending a leaf costs one hash on average, and the head of any
earlier size, or a proof, costs O(log n) hashes. The ledger's leaf data is each log entry's chain
hash (``kam_store.chain``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    """``SHA-256(0x00 || data)``."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 || left || right)``."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


class MerkleTree:
    """An append-only RFC 6962 tree over leaf hashes."""

    def __init__(self) -> None:
        self._levels: list[list[bytes]] = [[]]

    @property
    def size(self) -> int:
        return len(self._levels[0])

    def append(self, data: bytes) -> None:
        """Appends a leaf whose data is ``data``."""
        self.append_hash(leaf_hash(data))

    def append_hash(self, hashed: bytes) -> None:
        """Appends a leaf by its leaf hash, completing the subtrees it closes."""
        levels = self._levels
        levels[0].append(hashed)
        level = 0
        while len(levels[level]) % 2 == 0:
            row = levels[level]
            parent = node_hash(row[-2], row[-1])
            level += 1
            if level == len(levels):
                levels.append([])
            levels[level].append(parent)

    def leaf(self, index: int) -> bytes:
        """The leaf hash at ``index``."""
        return self._levels[0][index]

    def _subtree(self, start: int, size: int) -> bytes:
        if size & (size - 1) == 0 and start % size == 0:
            return self._levels[size.bit_length() - 1][start // size]
        k = _split(size)
        return node_hash(self._subtree(start, k), self._subtree(start + k, size - k))

    def _check_size(self, size: int) -> None:
        if not 0 <= size <= self.size:
            raise ValueError(f"tree size {size} is not between 0 and {self.size}")

    def root(self, size: int | None = None) -> bytes:
        """The tree head of the first ``size`` leaves (default: all)."""
        size = self.size if size is None else size
        self._check_size(size)
        return EMPTY_ROOT if size == 0 else self._subtree(0, size)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """The audit path of leaf ``index`` in the tree of ``size`` leaves (RFC 6962 PATH)."""
        size = self.size if size is None else size
        self._check_size(size)
        if not 0 <= index < size:
            raise ValueError(f"leaf {index} is not in a tree of {size}")
        proof: list[bytes] = []
        start = 0
        while size > 1:
            k = _split(size)
            if index < k:
                proof.append(self._subtree(start + k, size - k))
                size = k
            else:
                proof.append(self._subtree(start, k))
                start, index, size = start + k, index - k, size - k
        proof.reverse()  # PATH lists the nodes from the leaf up
        return proof

    def consistency_proof(self, first: int, second: int | None = None) -> list[bytes]:
        """The proof that the tree of ``first`` leaves is a prefix of the tree of ``second``
        (RFC 6962 PROOF; empty when ``first`` is 0 or equals ``second``)."""
        second = self.size if second is None else second
        self._check_size(second)
        if not 0 <= first <= second:
            raise ValueError(f"tree size {first} is not between 0 and {second}")
        if first in (0, second):
            return []
        proof: list[bytes] = []
        start, m, n, whole = 0, first, second, True
        while m != n:
            k = _split(n)
            if m <= k:
                proof.append(self._subtree(start + k, n - k))
                n = k
            else:
                proof.append(self._subtree(start, k))
                start, m, n, whole = start + k, m - k, n - k, False
        if not whole:
            proof.append(self._subtree(start, m))
        proof.reverse()
        return proof


def root_of(data: Sequence[bytes]) -> bytes:
    """The tree head over these leaf data (a convenience for tests and small trees)."""
    tree = MerkleTree()
    for item in data:
        tree.append(item)
    return tree.root()


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """Whether ``proof`` shows the leaf hash ``leaf`` at ``index`` in the tree of ``size``
    leaves with head ``root`` (RFC 9162 2.1.3.2)."""
    if not 0 <= index < size or len(leaf) != HASH_SIZE:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0 or len(p) != HASH_SIZE:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> bool:
    """Whether ``proof`` shows the tree of ``first`` leaves (head ``first_root``) is a prefix of
    the tree of ``second`` leaves (head ``second_root``) (RFC 9162 2.1.4.2)."""
    if not 0 <= first <= second:
        return False
    if first == second:
        return not proof and first_root == second_root
    if first == 0:
        return not proof
    if not proof or any(len(p) != HASH_SIZE for p in proof):
        return False
    nodes = list(proof)
    if first & (first - 1) == 0:
        nodes.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = nodes[0]
    for c in nodes[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_root and sr == second_root and sn == 0
