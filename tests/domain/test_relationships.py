"""Relationship: given a stakeholder built by commands, when one command, then events and state."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.domain import Snapshot
from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    Mapper,
    StoredEvent,
    UUIDAsHex,
)

from kam_domain.base import replay
from kam_domain.errors import (
    CommitmentAlreadyFulfilledError,
    CommitmentNotFoundError,
    DispositionUnchangedError,
    InvalidValueError,
    KamError,
    OwnerAlreadyAssignedError,
    PersonalDataErasedError,
    ReasonRequiredError,
    RoleUnchangedError,
    StakeholderLeftError,
)
from kam_domain.relationships import Interaction, Relationship, StakeholderCommitment
from kam_domain.transcodings import register_kam_transcodings
from kam_domain.values import BuyingRole, Disposition, Envelope, InteractionKind, PersonalData

ACCOUNT = UUID("00000000-0000-4000-8000-00000000000a")
BOSS = UUID("00000000-0000-4000-8000-00000000000b")
WHY = Envelope(actor="kam@us", occurred_on=datetime(2027, 1, 4, 9, 30), reason="seen in the QBR")
NO_REASON = Envelope(actor="kam@us")
ANN = PersonalData(name="Ann Lee", email="ann@customer.example", phone="+44 1", notes="likes tea")


def identify(**overrides: Any) -> Relationship:
    args: dict[str, Any] = {
        "account_id": ACCOUNT,
        "personal": ANN,
        "title": "CTO",
        "buying_role": BuyingRole.TECHNICAL_BUYER,
        "influence": 4,
        "reports_to": BOSS,
        "meta": WHY,
    }
    return Relationship.identify_stakeholder(**(args | overrides))


def given(*commands: Callable[[Relationship], object]) -> Relationship:
    """A stakeholder identified and then changed by commands, with no pending events."""
    stakeholder = identify()
    for command in commands:
        command(stakeholder)
    stakeholder.collect_events()
    return stakeholder


def state(stakeholder: Relationship) -> dict[str, Any]:
    return copy.deepcopy({k: v for k, v in vars(stakeholder).items() if k != "_pending_events"})


def assert_refused(
    stakeholder: Relationship, error: type[KamError], command: Callable[[], object]
) -> None:
    before = state(stakeholder)
    with pytest.raises(error):
        command()
    assert stakeholder.collect_events() == []
    assert state(stakeholder) == before


def only_event(stakeholder: Relationship) -> Any:
    events = stakeholder.collect_events()
    assert len(events) == 1
    return events[0]


def interaction(on: date, sentiment: int = 1) -> Callable[[Relationship], UUID]:
    return lambda s: s.log_interaction(
        kind=InteractionKind.MEETING, on=on, summary="met", sentiment=sentiment, meta=WHY
    )


def departure(s: Relationship) -> None:
    s.record_departure(left_on=date(2027, 3, 1), successor_id=None, meta=WHY)


def erasure(s: Relationship) -> None:
    s.erase_personal_data(meta=WHY)


# --- Identified -----------------------------------------------------------------------


def test_identifying_a_stakeholder_records_who_they_are_and_starts_neutral() -> None:
    stakeholder = identify()

    event = only_event(stakeholder)
    assert isinstance(event, Relationship.Identified)
    assert (event.account_id, event.personal, event.title) == (ACCOUNT, ANN, "CTO")
    assert (event.buying_role, event.influence, event.reports_to) == (
        BuyingRole.TECHNICAL_BUYER,
        4,
        BOSS,
    )
    assert event.meta == WHY
    assert isinstance(stakeholder.id, UUID)
    assert stakeholder.account_id == ACCOUNT
    assert stakeholder.personal == ANN
    assert stakeholder.display_name == "Ann Lee"
    assert stakeholder.disposition is Disposition.NEUTRAL
    assert stakeholder.owner is None
    assert stakeholder.last_interaction is None
    assert stakeholder.last_interaction_on is None
    assert stakeholder.interaction_count == 0
    assert stakeholder.commitments == {}
    assert (stakeholder.left_on, stakeholder.successor_id, stakeholder.has_left) == (
        None,
        None,
        False,
    )
    assert stakeholder.erased is False


def test_identifying_keeps_personal_data_only_in_the_personal_field() -> None:
    event = only_event(identify())

    others = {k: v for k, v in vars(event).items() if k != "personal"}
    for secret in (ANN.name, ANN.email, ANN.phone, ANN.notes):
        assert secret not in repr(others)


def test_identifying_strips_text_and_stores_blank_contact_details_as_none() -> None:
    stakeholder = identify(
        personal=PersonalData(name="  Bo  ", email=" ", phone="", notes=None), title="  "
    )

    assert stakeholder.personal == PersonalData(name="Bo")
    assert stakeholder.title is None


@pytest.mark.parametrize("name", ["", "   ", "x" * 201])
def test_identifying_needs_a_name_of_at_most_200_characters(name: str) -> None:
    with pytest.raises(InvalidValueError):
        identify(personal=PersonalData(name=name))


def test_identifying_accepts_a_name_of_exactly_200_characters() -> None:
    assert identify(personal=PersonalData(name="x" * 200)).display_name == "x" * 200


@pytest.mark.parametrize("influence", [0, 6, -1, True, "3", 2.5])
def test_identifying_refuses_influence_outside_one_to_five(influence: Any) -> None:
    with pytest.raises(InvalidValueError):
        identify(influence=influence)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("buying_role", "champion"),
        ("personal", {"name": "Ann"}),
        ("account_id", str(ACCOUNT)),
        ("reports_to", "boss"),
        ("title", "t" * 201),
        ("personal", PersonalData(name="Ann", email="e" * 321)),
        ("personal", PersonalData(name="Ann", phone="1" * 51)),
        ("personal", PersonalData(name="Ann", notes="n" * 2001)),
    ],
)
def test_identifying_refuses_malformed_values(field: str, value: Any) -> None:
    with pytest.raises(InvalidValueError):
        identify(**{field: value})


# --- DispositionChanged ----------------------------------------------------------------


def test_changing_the_disposition_records_the_previous_and_the_new_one() -> None:
    stakeholder = given()

    stakeholder.change_disposition(disposition=Disposition.SUPPORTER, meta=WHY)

    event = only_event(stakeholder)
    assert isinstance(event, Relationship.DispositionChanged)
    assert (event.previous, event.disposition) == (Disposition.NEUTRAL, Disposition.SUPPORTER)
    assert event.meta.reason == "seen in the QBR"
    assert stakeholder.disposition is Disposition.SUPPORTER


def test_changing_the_disposition_needs_a_reason() -> None:
    stakeholder = given()
    assert_refused(
        stakeholder,
        ReasonRequiredError,
        lambda: stakeholder.change_disposition(disposition=Disposition.DETRACTOR, meta=NO_REASON),
    )


def test_changing_the_disposition_to_the_current_one_is_refused() -> None:
    stakeholder = given(lambda s: s.change_disposition(disposition=Disposition.DETRACTOR, meta=WHY))
    assert_refused(
        stakeholder,
        DispositionUnchangedError,
        lambda: stakeholder.change_disposition(disposition=Disposition.DETRACTOR, meta=WHY),
    )


def test_changing_the_disposition_refuses_a_value_that_is_not_a_disposition() -> None:
    stakeholder = given()
    assert_refused(
        stakeholder,
        InvalidValueError,
        lambda: stakeholder.change_disposition(disposition="supporter", meta=WHY),  # type: ignore[arg-type]
    )


# --- RoleChanged -----------------------------------------------------------------------


def test_changing_the_role_records_the_previous_and_new_role_and_influence() -> None:
    stakeholder = given()

    stakeholder.change_role(buying_role=BuyingRole.DECISION_MAKER, influence=5, meta=WHY)

    event = only_event(stakeholder)
    assert isinstance(event, Relationship.RoleChanged)
    assert (event.previous_role, event.buying_role) == (
        BuyingRole.TECHNICAL_BUYER,
        BuyingRole.DECISION_MAKER,
    )
    assert (event.previous_influence, event.influence) == (4, 5)
    assert (stakeholder.buying_role, stakeholder.influence) == (BuyingRole.DECISION_MAKER, 5)


def test_changing_only_the_influence_is_a_role_change() -> None:
    stakeholder = given()

    stakeholder.change_role(buying_role=BuyingRole.TECHNICAL_BUYER, influence=1, meta=NO_REASON)

    assert isinstance(only_event(stakeholder), Relationship.RoleChanged)
    assert stakeholder.influence == 1


def test_changing_the_role_to_the_same_role_and_influence_is_refused() -> None:
    stakeholder = given()
    assert_refused(
        stakeholder,
        RoleUnchangedError,
        lambda: stakeholder.change_role(
            buying_role=BuyingRole.TECHNICAL_BUYER, influence=4, meta=WHY
        ),
    )


@pytest.mark.parametrize(("role", "influence"), [(BuyingRole.USER, 0), (BuyingRole.USER, 6)])
def test_changing_the_role_refuses_influence_outside_one_to_five(
    role: BuyingRole, influence: int
) -> None:
    stakeholder = given()
    assert_refused(
        stakeholder,
        InvalidValueError,
        lambda: stakeholder.change_role(buying_role=role, influence=influence, meta=WHY),
    )


# --- OwnerAssigned ---------------------------------------------------------------------


def test_assigning_an_owner_records_the_previous_owner() -> None:
    stakeholder = given()

    stakeholder.assign_relationship_owner(owner="dana", meta=NO_REASON)
    stakeholder.assign_relationship_owner(owner=" eli ", meta=NO_REASON)

    first, second = stakeholder.collect_events()
    assert isinstance(first, Relationship.OwnerAssigned)
    assert (first.previous_owner, first.owner) == (None, "dana")
    assert (second.previous_owner, second.owner) == ("dana", "eli")
    assert stakeholder.owner == "eli"


def test_assigning_the_current_owner_again_is_refused() -> None:
    stakeholder = given(lambda s: s.assign_relationship_owner(owner="dana", meta=WHY))
    assert_refused(
        stakeholder,
        OwnerAlreadyAssignedError,
        lambda: stakeholder.assign_relationship_owner(owner="dana", meta=WHY),
    )


@pytest.mark.parametrize("owner", ["", "  ", "o" * 201])
def test_assigning_a_blank_or_overlong_owner_is_refused(owner: str) -> None:
    stakeholder = given()
    assert_refused(
        stakeholder,
        InvalidValueError,
        lambda: stakeholder.assign_relationship_owner(owner=owner, meta=WHY),
    )


# --- InteractionLogged -----------------------------------------------------------------


def test_logging_an_interaction_records_it_and_returns_its_id() -> None:
    stakeholder = given()

    interaction_id = stakeholder.log_interaction(
        kind=InteractionKind.QBR, on=date(2027, 1, 4), summary=" QBR ", sentiment=-2, meta=WHY
    )

    event = only_event(stakeholder)
    assert isinstance(event, Relationship.InteractionLogged)
    assert event.interaction_id == interaction_id
    assert (event.kind, event.on, event.summary, event.sentiment) == (
        InteractionKind.QBR,
        date(2027, 1, 4),
        "QBR",
        -2,
    )
    assert stakeholder.last_interaction == Interaction(
        interaction_id, InteractionKind.QBR, date(2027, 1, 4), "QBR", -2
    )
    assert stakeholder.last_interaction_on == date(2027, 1, 4)
    assert stakeholder.interaction_count == 1


def test_the_last_interaction_is_the_latest_date_even_when_logged_out_of_order() -> None:
    stakeholder = identify()
    latest_id = interaction(date(2027, 2, 1))(stakeholder)
    stakeholder.collect_events()

    interaction(date(2027, 1, 15))(stakeholder)

    assert isinstance(only_event(stakeholder), Relationship.InteractionLogged)
    assert stakeholder.interaction_count == 2
    assert stakeholder.last_interaction is not None
    assert stakeholder.last_interaction.interaction_id == latest_id
    assert stakeholder.last_interaction_on == date(2027, 2, 1)


def test_of_interactions_on_the_same_date_the_one_logged_later_is_the_last() -> None:
    stakeholder = given(interaction(date(2027, 2, 1), sentiment=-1))

    later_id = interaction(date(2027, 2, 1), sentiment=2)(stakeholder)

    assert isinstance(only_event(stakeholder), Relationship.InteractionLogged)
    assert stakeholder.interaction_count == 2
    assert stakeholder.last_interaction == Interaction(
        later_id, InteractionKind.MEETING, date(2027, 2, 1), "met", 2
    )
    assert stakeholder.last_interaction_on == date(2027, 2, 1)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("sentiment", -3),
        ("sentiment", 3),
        ("sentiment", 1.0),
        ("summary", ""),
        ("summary", "s" * 2001),
        ("on", datetime(2027, 1, 4, 10, 0)),
        ("on", "2027-01-04"),
        ("kind", "meeting"),
    ],
)
def test_logging_an_interaction_refuses_malformed_values(field: str, value: Any) -> None:
    stakeholder = given()
    args: dict[str, Any] = {
        "kind": InteractionKind.CALL,
        "on": date(2027, 1, 4),
        "summary": "call",
        "sentiment": 0,
        "meta": WHY,
    }
    assert_refused(
        stakeholder,
        InvalidValueError,
        lambda: stakeholder.log_interaction(**(args | {field: value})),
    )


# --- CommitmentMade / CommitmentFulfilled ----------------------------------------------


def test_making_a_commitment_opens_it_and_returns_its_id() -> None:
    stakeholder = given()

    commitment_id = stakeholder.make_commitment(
        description="Send the roadmap", due_on=date(2027, 2, 1), meta=WHY
    )

    event = only_event(stakeholder)
    assert isinstance(event, Relationship.CommitmentMade)
    assert (event.commitment_id, event.description, event.due_on) == (
        commitment_id,
        "Send the roadmap",
        date(2027, 2, 1),
    )
    commitment = StakeholderCommitment(commitment_id, "Send the roadmap", date(2027, 2, 1))
    assert stakeholder.commitments == {str(commitment_id): commitment}
    assert stakeholder.open_commitments() == [commitment]


def test_making_a_commitment_without_a_due_date() -> None:
    stakeholder = given()

    stakeholder.make_commitment(description="Intro to our CTO", due_on=None, meta=WHY)

    assert only_event(stakeholder).due_on is None
    assert stakeholder.open_commitments()[0].due_on is None


@pytest.mark.parametrize(
    ("description", "due_on"),
    [("", None), ("d" * 2001, None), ("ok", "2027-02-01"), ("ok", datetime(2027, 2, 1))],
)
def test_making_a_commitment_refuses_malformed_values(description: str, due_on: Any) -> None:
    stakeholder = given()
    assert_refused(
        stakeholder,
        InvalidValueError,
        lambda: stakeholder.make_commitment(description=description, due_on=due_on, meta=WHY),
    )


def test_fulfilling_a_commitment_closes_it_with_a_note() -> None:
    ids: list[UUID] = []
    stakeholder = given(
        lambda s: ids.append(s.make_commitment(description="a", due_on=None, meta=WHY)),
        lambda s: ids.append(s.make_commitment(description="b", due_on=None, meta=WHY)),
    )

    stakeholder.fulfil_commitment(commitment_id=ids[0], note="sent", meta=WHY)

    event = only_event(stakeholder)
    assert isinstance(event, Relationship.CommitmentFulfilled)
    assert (event.commitment_id, event.note) == (ids[0], "sent")
    fulfilled = stakeholder.commitments[str(ids[0])]
    assert (fulfilled.fulfilled, fulfilled.fulfilment_note) == (True, "sent")
    assert [c.commitment_id for c in stakeholder.open_commitments()] == [ids[1]]


def test_fulfilling_an_unknown_commitment_is_refused() -> None:
    stakeholder = given(lambda s: s.make_commitment(description="a", due_on=None, meta=WHY))
    assert_refused(
        stakeholder,
        CommitmentNotFoundError,
        lambda: stakeholder.fulfil_commitment(commitment_id=uuid4(), note=None, meta=WHY),
    )


def test_fulfilling_a_commitment_twice_is_refused() -> None:
    ids: list[UUID] = []
    stakeholder = given(
        lambda s: ids.append(s.make_commitment(description="a", due_on=None, meta=WHY)),
        lambda s: s.fulfil_commitment(commitment_id=ids[0], note=None, meta=WHY),
    )
    assert_refused(
        stakeholder,
        CommitmentAlreadyFulfilledError,
        lambda: stakeholder.fulfil_commitment(commitment_id=ids[0], note="again", meta=WHY),
    )


# --- LeftCompany -----------------------------------------------------------------------


def test_recording_a_departure_records_the_date_and_the_successor() -> None:
    stakeholder = given()
    successor = uuid4()

    stakeholder.record_departure(left_on=date(2027, 3, 1), successor_id=successor, meta=WHY)

    event = only_event(stakeholder)
    assert isinstance(event, Relationship.LeftCompany)
    assert (event.left_on, event.successor_id) == (date(2027, 3, 1), successor)
    assert (stakeholder.left_on, stakeholder.successor_id) == (date(2027, 3, 1), successor)
    assert stakeholder.has_left


def test_recording_a_departure_without_a_known_successor() -> None:
    stakeholder = given()

    departure(stakeholder)

    assert only_event(stakeholder).successor_id is None
    assert stakeholder.has_left
    assert stakeholder.successor_id is None


def test_a_stakeholder_cannot_succeed_themselves() -> None:
    stakeholder = given()
    assert_refused(
        stakeholder,
        InvalidValueError,
        lambda: stakeholder.record_departure(
            left_on=date(2027, 3, 1), successor_id=stakeholder.id, meta=WHY
        ),
    )


def test_recording_a_departure_refuses_a_left_on_that_is_not_a_date() -> None:
    stakeholder = given()
    assert_refused(
        stakeholder,
        InvalidValueError,
        lambda: stakeholder.record_departure(left_on="2027-03-01", successor_id=None, meta=WHY),  # type: ignore[arg-type]
    )


def test_departing_twice_is_refused() -> None:
    stakeholder = given(departure)
    assert_refused(stakeholder, StakeholderLeftError, lambda: departure(stakeholder))


@pytest.mark.parametrize(
    "command",
    [
        lambda s: s.change_disposition(disposition=Disposition.SUPPORTER, meta=WHY),
        lambda s: s.change_role(buying_role=BuyingRole.BLOCKER, influence=2, meta=WHY),
        interaction(date(2027, 2, 1)),
        lambda s: s.make_commitment(description="call back", due_on=None, meta=WHY),
    ],
    ids=["disposition", "role", "interaction", "commitment"],
)
def test_after_departure_the_relationship_cannot_move_on(
    command: Callable[[Relationship], object],
) -> None:
    stakeholder = given(departure)
    assert_refused(stakeholder, StakeholderLeftError, lambda: command(stakeholder))


def test_after_departure_owners_commitments_and_erasure_are_still_allowed() -> None:
    ids: list[UUID] = []
    stakeholder = given(
        lambda s: ids.append(s.make_commitment(description="a", due_on=None, meta=WHY)),
        departure,
    )

    stakeholder.assign_relationship_owner(owner="dana", meta=WHY)
    stakeholder.fulfil_commitment(commitment_id=ids[0], note=None, meta=WHY)
    stakeholder.erase_personal_data(meta=WHY)

    assert [type(e).__name__ for e in stakeholder.collect_events()] == [
        "OwnerAssigned",
        "CommitmentFulfilled",
        "PersonalDataErased",
    ]


# --- PersonalDataErased ----------------------------------------------------------------


def test_erasing_personal_data_removes_it_and_keeps_the_history_shape() -> None:
    stakeholder = given(
        interaction(date(2027, 1, 4)),
        lambda s: s.make_commitment(description="a", due_on=None, meta=WHY),
        lambda s: s.assign_relationship_owner(owner="dana", meta=WHY),
    )

    stakeholder.erase_personal_data(meta=WHY)

    event = only_event(stakeholder)
    assert isinstance(event, Relationship.PersonalDataErased)
    assert event.meta == WHY
    assert stakeholder.personal is None
    assert stakeholder.erased is True
    assert stakeholder.display_name == "(erased)"
    assert (stakeholder.title, stakeholder.buying_role, stakeholder.owner) == (
        None,
        BuyingRole.TECHNICAL_BUYER,
        "dana",
    )
    assert stakeholder.interaction_count == 1
    assert stakeholder.last_interaction is not None
    assert stakeholder.last_interaction.summary == "(erased)"
    assert [c.description for c in stakeholder.commitments.values()] == ["(erased)"]


def test_erasing_personal_data_needs_a_reason() -> None:
    stakeholder = given()
    assert_refused(
        stakeholder,
        ReasonRequiredError,
        lambda: stakeholder.erase_personal_data(meta=NO_REASON),
    )


def test_erasing_personal_data_twice_is_refused() -> None:
    stakeholder = given(erasure)
    assert_refused(stakeholder, PersonalDataErasedError, lambda: erasure(stakeholder))


def test_after_erasure_other_commands_still_follow_their_rules() -> None:
    stakeholder = given(erasure)

    stakeholder.change_disposition(disposition=Disposition.SUPPORTER, meta=WHY)
    interaction(date(2027, 1, 4))(stakeholder)
    departure(stakeholder)

    assert len(stakeholder.collect_events()) == 3
    assert_refused(
        stakeholder, StakeholderLeftError, lambda: interaction(date(2027, 1, 5))(stakeholder)
    )


# --- Views -----------------------------------------------------------------------------


def test_a_stakeholder_is_engaged_when_the_latest_interaction_falls_within_the_window() -> None:
    stakeholder = given(interaction(date(2027, 1, 1)))

    assert stakeholder.is_engaged(date(2027, 1, 1))
    assert stakeholder.is_engaged(date(2027, 4, 1))  # exactly 90 days later
    assert not stakeholder.is_engaged(date(2027, 4, 2))
    assert stakeholder.is_engaged(date(2027, 1, 31), within_days=30)
    assert not stakeholder.is_engaged(date(2027, 2, 1), within_days=30)


def test_interactions_dated_after_today_do_not_make_a_stakeholder_engaged() -> None:
    assert not given(interaction(date(2027, 6, 1))).is_engaged(date(2027, 5, 1))


def test_engagement_looks_only_at_the_latest_interaction() -> None:
    stakeholder = given(interaction(date(2027, 6, 1)), interaction(date(2027, 4, 20)))

    assert stakeholder.is_engaged(date(2027, 6, 1))
    # The one on 20 April is within 90 days of 1 May, but the latest (1 June) is after
    # today, and only the latest is kept: not engaged.
    assert not stakeholder.is_engaged(date(2027, 5, 1))


def test_a_stakeholder_never_met_is_not_engaged() -> None:
    assert not given().is_engaged(date(2027, 1, 1))


def test_a_stakeholder_who_left_is_not_engaged() -> None:
    stakeholder = given(interaction(date(2027, 2, 20)), departure)

    assert not stakeholder.is_engaged(date(2027, 3, 1))


# --- Replay and storage shape ----------------------------------------------------------


def full_history() -> tuple[Relationship, list[Any]]:
    stakeholder = identify()
    commitment_id = stakeholder.make_commitment(
        description="roadmap", due_on=date(2027, 2, 1), meta=WHY
    )
    stakeholder.change_disposition(disposition=Disposition.SUPPORTER, meta=WHY)
    stakeholder.change_role(buying_role=BuyingRole.CHAMPION, influence=5, meta=WHY)
    stakeholder.assign_relationship_owner(owner="dana", meta=WHY)
    interaction(date(2027, 1, 9))(stakeholder)
    interaction(date(2027, 1, 2))(stakeholder)
    stakeholder.fulfil_commitment(commitment_id=commitment_id, note="done", meta=WHY)
    stakeholder.record_departure(left_on=date(2027, 3, 1), successor_id=uuid4(), meta=WHY)
    stakeholder.erase_personal_data(meta=WHY)
    return stakeholder, list(stakeholder.collect_events())


def test_replaying_the_events_rebuilds_the_relationship() -> None:
    stakeholder, events = full_history()

    assert len(events) == 10
    assert replay(events) == stakeholder


def test_events_and_snapshots_survive_json_transcoding() -> None:
    transcoder = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
        transcoder.register(transcoding)
    register_kam_transcodings(transcoder)
    mapper: Mapper[UUID] = Mapper(transcoder=transcoder)
    stakeholder, events = full_history()

    decoded = [mapper.to_domain_event(mapper.to_stored_event(e)) for e in events]
    snapshot = mapper.to_domain_event(mapper.to_stored_event(Snapshot.take(stakeholder)))

    assert decoded == events
    assert replay(decoded) == stakeholder
    assert snapshot.mutate(None) == stakeholder


def test_a_version_1_snapshot_with_an_interaction_list_is_upcast() -> None:
    stakeholder = identify()
    logged = []
    # Out of order, with a tie on the latest date: the one logged later of the tie wins.
    for on in (date(2027, 1, 9), date(2027, 2, 1), date(2027, 2, 1), date(2027, 1, 2)):
        interaction(on)(stakeholder)
        logged.append(stakeholder.collect_events()[-1])
    transcoder = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
        transcoder.register(transcoding)
    register_kam_transcodings(transcoder)
    mapper: Mapper[UUID] = Mapper(transcoder=transcoder)
    stored = mapper.to_stored_event(Snapshot.take(stakeholder))
    # Version 1 kept every interaction in a list, with no class_version marker.
    snapshot_state = mapper.transcoder.decode(stored.state)
    v1_state = snapshot_state["state"]
    assert v1_state.pop("class_version") == 2
    del v1_state["last_interaction"], v1_state["interaction_count"]
    v1_state["interactions"] = [
        Interaction(e.interaction_id, e.kind, e.on, e.summary, e.sentiment) for e in logged
    ]
    v1 = StoredEvent(
        originator_id=stored.originator_id,
        originator_version=stored.originator_version,
        topic=stored.topic,
        state=mapper.transcoder.encode(snapshot_state),
    )

    restored = mapper.to_domain_event(v1)

    assert isinstance(restored, Snapshot)
    rebuilt = restored.mutate(None)
    assert rebuilt == stakeholder
    assert isinstance(rebuilt, Relationship)
    assert rebuilt.last_interaction is not None
    assert rebuilt.last_interaction.interaction_id == logged[2].interaction_id
    assert (rebuilt.last_interaction_on, rebuilt.interaction_count) == (date(2027, 2, 1), 4)
