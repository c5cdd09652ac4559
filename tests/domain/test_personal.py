"""The personal-data boundary: splitting a Relationship event's or snapshot's state into the
redacted state and the person's values, and putting them back (pure, no storage)."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime
from typing import Any
from uuid import uuid4

from hypothesis import given
from hypothesis import strategies as st

from kam_domain.personal import (
    ERASED,
    is_plain_personal,
    restore_event,
    restore_snapshot,
    split_event,
    split_snapshot,
)
from kam_domain.relationships import Interaction, StakeholderCommitment
from kam_domain.values import BuyingRole, Envelope, InteractionKind, PersonalData

AT = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
WHY = Envelope(actor="ann", reason="Dana asked us to", correlation_id="req-1")
PLAIN = Envelope(actor="ann")
DANA = PersonalData(name="Dana Smith", email="dana@example.com", phone=None, notes="likes golf")


def identified(personal: PersonalData = DANA, title: str | None = "CFO") -> dict[str, Any]:
    return {
        "timestamp": AT,
        "originator_topic": "kam_domain.relationships:Relationship",  # a created event
        "account_id": uuid4(),
        "personal": personal,
        "title": title,
        "buying_role": BuyingRole.CHAMPION,
        "influence": 4,
        "reports_to": None,
        "meta": WHY,
    }


def strings(value: Any) -> str:
    return repr(value)


def test_identified_keeps_its_shape_with_placeholders_and_none_stays_none() -> None:
    state = identified()
    before = copy.deepcopy(state)

    redacted, secrets = split_event("Identified", state)

    assert state == before  # the input is not changed
    assert redacted["personal"] == PersonalData(name=ERASED, email=ERASED, phone=None, notes=ERASED)
    assert redacted["title"] == ERASED
    assert redacted["meta"] == Envelope(actor="ann", reason=ERASED, correlation_id="req-1")
    assert (redacted["account_id"], redacted["timestamp"]) == (state["account_id"], AT)
    for secret in ("Dana Smith", "dana@example.com", "likes golf", "CFO", "Dana asked us to"):
        assert secret not in strings(redacted)
    assert restore_event(redacted, secrets) == state
    assert redacted["meta"].reason == ERASED  # restored into a copy
    assert restore_event(redacted, secrets, in_place=True) is redacted
    assert redacted == state


def test_each_event_with_free_text_splits_that_field_and_the_reason() -> None:
    cases = {
        "InteractionLogged": {"summary": "Talked about the divorce", "kind": InteractionKind.CALL},
        "CommitmentMade": {"description": "Send the roadmap", "due_on": date(2027, 2, 1)},
        "CommitmentFulfilled": {"note": "sent by post", "commitment_id": uuid4()},
    }
    for name, fields in cases.items():
        state = {"timestamp": AT, **fields, "meta": WHY}
        redacted, secrets = split_event(name, state)
        text = next(v for v in fields.values() if isinstance(v, str))
        assert text not in strings(redacted), name
        assert set(secrets) == {next(k for k, v in fields.items() if v == text), "meta.reason"}
        assert restore_event(redacted, secrets) == state


def test_events_without_personal_values_have_no_secrets() -> None:
    for name in ("RoleChanged", "OwnerAssigned", "LeftCompany", "CommitmentFulfilled"):
        state = {"timestamp": AT, "note": None, "meta": PLAIN}
        redacted, secrets = split_event(name, state)
        assert secrets == {} and redacted == state


def snapshot_state() -> dict[str, Any]:
    commitments = {
        "c1": StakeholderCommitment(uuid4(), "Send the roadmap", date(2027, 2, 1)),
        "c2": StakeholderCommitment(uuid4(), "Call back", None, True, "called Tuesday"),
    }
    return {
        "timestamp": AT,
        "topic": "kam_domain.relationships:Relationship",
        "state": {
            "_id": uuid4(),
            "_version": 7,
            "personal": DANA,
            "title": "CFO",
            "last_interaction": Interaction(uuid4(), InteractionKind.QBR, date(2027, 1, 3), "x", 1),
            "commitments": commitments,
            "owner": "bob",
        },
    }


def test_a_snapshot_splits_personal_title_interaction_and_commitments() -> None:
    state = snapshot_state()
    redacted, secrets = split_snapshot(state)
    aggregate = redacted["state"]
    assert aggregate["personal"].name == ERASED and aggregate["title"] == ERASED
    assert aggregate["last_interaction"].summary == ERASED
    assert aggregate["last_interaction"].on == date(2027, 1, 3)
    assert [c.description for c in aggregate["commitments"].values()] == [ERASED, ERASED]
    assert [c.fulfilment_note for c in aggregate["commitments"].values()] == [None, ERASED]
    assert aggregate["owner"] == "bob"
    assert "Send the roadmap" not in strings(redacted) and "called Tuesday" not in strings(redacted)
    assert restore_snapshot(redacted, secrets) == state


def test_a_version_1_snapshot_splits_every_interaction_summary() -> None:
    state = snapshot_state()
    del state["state"]["last_interaction"]
    state["state"]["interactions"] = [
        Interaction(uuid4(), InteractionKind.CALL, date(2027, 1, d), f"call {d}", 0) for d in (1, 2)
    ]
    redacted, secrets = split_snapshot(state)
    assert [i.summary for i in redacted["state"]["interactions"]] == [ERASED, ERASED]
    assert restore_snapshot(redacted, secrets) == state


def test_an_erased_snapshot_has_nothing_plain() -> None:
    state = snapshot_state()
    state["state"]["personal"] = None
    redacted, secrets = split_snapshot(split_snapshot(state)[0])
    assert redacted["state"]["personal"] is None
    assert not is_plain_personal(secrets)
    assert is_plain_personal(split_snapshot(state)[1])


printable = st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=30)
texts = st.one_of(st.none(), printable)


@given(name=printable, email=texts, phone=texts, notes=texts, title=texts, reason=texts)
def test_split_then_restore_is_the_identity(
    name: str, email: str | None, phone: str | None, notes: str | None, title: Any, reason: Any
) -> None:
    state = identified(PersonalData(name, email, phone, notes), title)
    state["meta"] = Envelope(actor="ann", reason=reason)
    redacted, secrets = split_event("Identified", state)
    assert restore_event(redacted, secrets) == state
    for field in ("email", "phone", "notes"):
        assert (getattr(redacted["personal"], field) is None) == (locals()[field] is None)
    assert (redacted["title"] is None) == (title is None)
    assert is_plain_personal(secrets) == (
        any(v not in (None, ERASED) for v in (name, email, phone, notes, title, reason))
    )
