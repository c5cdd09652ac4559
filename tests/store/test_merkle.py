"""The RFC 6962 Merkle tree against the Certificate Transparency reference vectors
(transparency-dev/merkle ``testonly/constants.go`` and ``proof/verify_test.go``), and for
generated trees: every proof verifies, a wrong one does not."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kam_store.merkle import (
    EMPTY_ROOT,
    MerkleTree,
    leaf_hash,
    node_hash,
    root_of,
    verify_consistency,
    verify_inclusion,
)

LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
#: (leaf index, tree size, path) from verify_test.go (which numbers leaves from 1).
INCLUSION = [
    (0, 1, []),
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]
#: (first size, second size, proof) from verify_test.go.
CONSISTENCY = [
    (1, 1, []),
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
]


def reference_tree() -> MerkleTree:
    tree = MerkleTree()
    for leaf in LEAVES:
        tree.append(leaf)
    return tree


def test_hashes_are_domain_separated_as_rfc_6962_says() -> None:
    assert leaf_hash(b"x") == hashlib.sha256(b"\x00x").digest()
    assert node_hash(b"a", b"b") == hashlib.sha256(b"\x01ab").digest()
    assert EMPTY_ROOT.hex() == ROOTS[0]


def test_tree_heads_match_the_reference_roots_for_every_size() -> None:
    tree = reference_tree()
    for size, root in enumerate(ROOTS):
        assert tree.root(size).hex() == root
        assert root_of(LEAVES[:size]).hex() == root


@pytest.mark.parametrize(("index", "size", "path"), INCLUSION)
def test_inclusion_proofs_match_the_reference_paths(index: int, size: int, path: list[str]) -> None:
    tree = reference_tree()
    proof = tree.inclusion_proof(index, size)
    assert [p.hex() for p in proof] == path
    root = bytes.fromhex(ROOTS[size])
    assert verify_inclusion(leaf_hash(LEAVES[index]), index, size, proof, root)
    assert not verify_inclusion(leaf_hash(b"WrongLeaf"), index, size, proof, root)
    assert not verify_inclusion(leaf_hash(LEAVES[index]), index, size * 2, proof, root)
    if size > 1:
        assert not verify_inclusion(leaf_hash(LEAVES[index]), index ^ 1, size, proof, root)


@pytest.mark.parametrize(("first", "second", "path"), CONSISTENCY)
def test_consistency_proofs_match_the_reference_proofs(
    first: int, second: int, path: list[str]
) -> None:
    tree = reference_tree()
    proof = tree.consistency_proof(first, second)
    assert [p.hex() for p in proof] == path
    first_root, second_root = bytes.fromhex(ROOTS[first]), bytes.fromhex(ROOTS[second])
    assert verify_consistency(first, second, first_root, second_root, proof)
    if proof:
        assert not verify_consistency(first, second, second_root, first_root, proof)
        assert not verify_consistency(first, second, first_root, second_root, proof[:-1])
        assert not verify_consistency(first, second * 2, first_root, second_root, proof)


def test_the_reference_verifier_edge_cases() -> None:
    some = hashlib.sha256(b"some").digest()
    assert verify_consistency(0, 0, some, some, [])
    assert verify_consistency(0, 1, some, EMPTY_ROOT, [])
    assert not verify_consistency(1, 1, some, EMPTY_ROOT, [])
    assert not verify_consistency(2, 1, some, some, [])
    assert not verify_consistency(1, 2, some, EMPTY_ROOT, [])
    assert not verify_consistency(1, 1, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT])
    assert not verify_inclusion(some, 0, 0, [], some)
    assert not verify_inclusion(some, 1, 1, [], some)


def built(n: int) -> MerkleTree:
    tree = MerkleTree()
    for i in range(n):
        tree.append(i.to_bytes(4, "big"))
    return tree


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 300), st.data())
def test_every_inclusion_proof_verifies_and_a_wrong_one_does_not(
    n: int, data: st.DataObject
) -> None:
    tree = built(n)
    size = data.draw(st.integers(1, n))
    index = data.draw(st.integers(0, size - 1))
    proof = tree.inclusion_proof(index, size)
    root = tree.root(size)
    leaf = tree.leaf(index)
    assert root == root_of([i.to_bytes(4, "big") for i in range(size)])
    assert verify_inclusion(leaf, index, size, proof, root)
    other = data.draw(st.integers(0, size - 1).filter(lambda i: i != index)) if size > 1 else None
    if other is not None:
        assert not verify_inclusion(leaf, other, size, proof, root)
        assert not verify_inclusion(tree.leaf(other), index, size, proof, root)
    if proof:
        k = data.draw(st.integers(0, len(proof) - 1))
        bad = list(proof)
        bad[k] = bytes([bad[k][0] ^ 1]) + bad[k][1:]
        assert not verify_inclusion(leaf, index, size, bad, root)
        assert not verify_inclusion(leaf, index, size, proof[:-1], root)
        assert not verify_inclusion(leaf, index, size, [*proof, root], root)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 300), st.data())
def test_every_consistency_proof_verifies_and_a_wrong_one_does_not(
    n: int, data: st.DataObject
) -> None:
    tree = built(n)
    second = data.draw(st.integers(1, n))
    first = data.draw(st.integers(1, second))
    proof = tree.consistency_proof(first, second)
    first_root, second_root = tree.root(first), tree.root(second)
    assert verify_consistency(first, second, first_root, second_root, proof)
    if first < second:
        assert not verify_consistency(first, second, second_root, second_root, proof)
        k = data.draw(st.integers(0, len(proof) - 1))
        bad = list(proof)
        bad[k] = bytes([bad[k][0] ^ 1]) + bad[k][1:]
        assert not verify_consistency(first, second, first_root, second_root, bad)
        assert not verify_consistency(first, second, first_root, second_root, proof[:-1])
        # A different history of the same size is not consistent with this one.
        forked = MerkleTree()
        for i in range(second):
            forked.append(b"forked" if i == first - 1 else i.to_bytes(4, "big"))
        assert not verify_consistency(first, second, first_root, forked.root(second), proof)
