"""The ledger: signed checkpoints of the event log, the key that signs them, and the RFC 6962
inclusion and consistency proofs an auditor checks them with (DESIGN "Trust in the record")."""

from __future__ import annotations

import base64
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import PlainTextResponse

from kam_api.deps import AppServices, LogReader
from kam_api.errors import PROBLEM_JSON
from kam_api.schemas.ledger import (
    CheckpointPublic,
    ConsistencyProofPublic,
    InclusionProofPublic,
    PublicKeyPublic,
)
from kam_store.ledger import Ledger, PositionNotInTreeError

router = APIRouter(prefix="/ledger", tags=["ledger"])

MAX_POSITION = 2**63 - 1


async def get_ledger(services: AppServices) -> Ledger:
    return services.ledger


LedgerDep = Annotated[Ledger, Depends(get_ledger)]


def _problem(status: int, description: str) -> dict[int | str, dict[str, Any]]:
    content = {PROBLEM_JSON: {"schema": {"type": "object"}}}
    return {status: {"description": description, "content": content}}


NO_KEY = _problem(503, "No signing key is configured (KAM_LEDGER_KEY or KAM_LEDGER_KEY_FILE)")
OUTSIDE = _problem(422, "The position or tree sizes are outside the verified tree")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@router.get(
    "/checkpoint",
    response_model=CheckpointPublic,
    responses={
        **NO_KEY,
        200: {"content": {"text/plain": {"schema": {"type": "string"}}}},
    },
)
def get_checkpoint(
    user: LogReader,
    ledger: LedgerDep,
    format: Annotated[
        Literal["json", "note"],
        Query(description="json, or note: the signed note alone, as text/plain"),
    ] = "json",
) -> Any:
    """A checkpoint of the log as verified now (tree size, root, chain head, time), signed."""
    checkpoint, note = ledger.checkpoint()
    if format == "note":
        return PlainTextResponse(note)
    signature = note.rstrip("\n").rsplit(" ", 1)[-1]
    problem = ledger.verifier.problem
    return CheckpointPublic(
        origin=checkpoint.origin,
        tree_size=checkpoint.size,
        root_hash=b64(checkpoint.root),
        position=checkpoint.position,
        chain_head=b64(checkpoint.chain_head),
        time=checkpoint.time,
        key_id=ledger.verifier_key.key_id.hex(),
        signature=signature,
        note=note,
        problem=None if problem is None else str(problem),
    )


@router.get("/public-key", response_model=PublicKeyPublic, responses=NO_KEY)
def get_public_key(user: LogReader, ledger: LedgerDep) -> PublicKeyPublic:
    """The Ed25519 key that signs checkpoints (give it to `kam verify --public-key`)."""
    key = ledger.verifier_key
    return PublicKeyPublic(
        name=key.name,
        key_id=key.key_id.hex(),
        public_key=b64(key.public_key),
        verifier_key=key.encode(),
    )


@router.get("/proofs/inclusion", response_model=InclusionProofPublic, responses=OUTSIDE)
def get_inclusion_proof(
    user: LogReader,
    ledger: LedgerDep,
    position: Annotated[
        int, Query(ge=1, le=MAX_POSITION, description="The event's position (notification id)")
    ],
    tree_size: Annotated[
        int | None,
        Query(ge=1, le=MAX_POSITION, description="Tree size to prove against; default: current"),
    ] = None,
) -> InclusionProofPublic:
    """The audit path showing the event at a position is in the tree (RFC 6962)."""
    proof = ledger.inclusion(position, tree_size)
    return InclusionProofPublic(
        position=proof.position,
        leaf_index=proof.leaf_index,
        tree_size=proof.tree_size,
        leaf_hash=b64(proof.leaf_hash),
        root_hash=b64(proof.root),
        proof=[b64(p) for p in proof.path],
    )


@router.get("/proofs/consistency", response_model=ConsistencyProofPublic, responses=OUTSIDE)
def get_consistency_proof(
    user: LogReader,
    ledger: LedgerDep,
    first: Annotated[
        int, Query(alias="from", ge=1, le=MAX_POSITION, description="The earlier tree size")
    ],
    second: Annotated[
        int | None,
        Query(alias="to", ge=1, le=MAX_POSITION, description="The later tree size; default: now"),
    ] = None,
) -> ConsistencyProofPublic:
    """The proof that the earlier tree is a prefix of the later one: nothing was rewritten."""
    if second is not None and first > second:
        raise PositionNotInTreeError(f"from ({first}) is after to ({second})")
    proof = ledger.consistency(first, second)
    return ConsistencyProofPublic(
        first=proof.first,
        second=proof.second,
        first_root=b64(proof.first_root),
        second_root=b64(proof.second_root),
        proof=[b64(p) for p in proof.path],
    )
