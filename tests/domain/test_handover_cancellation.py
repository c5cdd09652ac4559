"""KeyAccount: cancelling a pending handover (given an account handed over, when cancelled,
then the outgoing manager manages it again and it can be handed over anew)."""

from __future__ import annotations

import copy
from datetime import date
from uuid import UUID

import pytest
from eventsourcing.persistence import Mapper
from tests.domain.test_key_accounts import (
    REGISTERED,
    assert_refused,
    handed_over,
    kam_transcoder,
    managed_by,
    meta,
    only_event,
)

from kam_domain.base import replay
from kam_domain.errors import NoPendingHandoverError, NotIncomingManagerError, ReasonRequiredError
from kam_domain.key_accounts import KeyAccount, ManagerTenure
from kam_domain.values import KamRole, ServiceProfile


def test_cancelling_a_pending_handover_gives_the_account_back_to_the_outgoing_manager() -> None:
    account = handed_over("ghost")
    account.cancel_handover(meta=meta("dora", reason="ghost never joined"))
    event = only_event(account, KeyAccount.HandoverCancelled)
    assert (event.from_manager, event.to_manager) == ("bob", "ghost")
    assert event.meta.reason == "ghost never joined"
    assert account.manager == "bob"
    assert account.pending_handover is None
    assert [t.manager for t in account.manager_history] == ["bob"]


def test_after_a_cancellation_the_account_can_be_handed_over_again() -> None:
    account = handed_over("ghost")
    account.cancel_handover(meta=meta("dora", reason="wrong person"))
    account.collect_events()
    account.hand_over(to="cat", effective_on=date(2026, 5, 1), meta=meta(reason="retry"))
    event = only_event(account, KeyAccount.HandedOver)
    assert (event.from_manager, event.to_manager) == ("bob", "cat")
    assert account.manager_history[-1] == ManagerTenure("cat", date(2026, 5, 1), "retry")


def test_cancelling_needs_a_reason() -> None:
    assert_refused(
        handed_over("ghost"), ReasonRequiredError, lambda a: a.cancel_handover(meta=meta("dora"))
    )


def test_cancelling_without_a_pending_handover_is_refused() -> None:
    assert_refused(
        managed_by("bob"),
        NoPendingHandoverError,
        lambda a: a.cancel_handover(meta=meta("dora", reason="r")),
    )


def test_a_stored_cancellation_replays_to_the_same_state() -> None:
    account = handed_over("ghost")
    before = copy.deepcopy(account)
    account.cancel_handover(meta=meta("dora", reason="r"))
    (event,) = account.collect_events()
    mapper: Mapper[UUID] = Mapper(transcoder=kam_transcoder())
    decoded = mapper.to_domain_event(mapper.to_stored_event(event))
    assert decoded == event
    assert replay([decoded], before) == account


@pytest.mark.parametrize("actor", ["bob", "dora"])
def test_the_refused_acknowledgement_names_the_incoming_manager_and_the_way_out(
    actor: str,
) -> None:
    account = handed_over("cat")
    with pytest.raises(NotIncomingManagerError) as refused:
        account.acknowledge_handover(notes=None, meta=meta(actor))
    assert "only the incoming manager, cat," in refused.value.message
    assert actor in refused.value.message
    assert "cancel" in refused.value.message


def test_a_cancellation_puts_the_outgoing_manager_back_on_the_team_the_handover_took_them_off() -> (
    None
):
    # Given bob, the manager, on the team, and a handover that took him off.
    account = KeyAccount.register_account(
        name="Acme",
        industry="Retail",
        region="EMEA",
        service_profile=ServiceProfile.STANDARD,
        meta=meta(on=REGISTERED),  # before the handover (else: the day the test runs)
    )
    account.assign_manager(manager="bob", meta=meta())
    account.add_team_member(member="bob", roles=[KamRole.RELATIONSHIP_LEADER], meta=meta())
    account.hand_over(to="cat", effective_on=date(2026, 4, 1), meta=meta(reason="moves"))
    assert "bob" not in account.team
    # When a director cancels the handover.
    account.cancel_handover(meta=meta("dora", reason="cat declined"))
    # Then bob is back on the team with his roles, also after a snapshot's round trip.
    assert account.team == {"bob": [KamRole.RELATIONSHIP_LEADER]}
    events = account.collect_events()
    mapper: Mapper[UUID] = Mapper(transcoder=kam_transcoder())
    decoded = [mapper.to_domain_event(mapper.to_stored_event(e)) for e in events]
    replayed = replay(decoded)
    assert replayed is not None
    assert replayed.team == {"bob": [KamRole.RELATIONSHIP_LEADER]}
    # And a snapshot taken while the handover was pending keeps the roles to put back.
    at_handover = replay(decoded[:-1])
    assert at_handover is not None and at_handover.pending_handover is not None
    snapshot = mapper.to_domain_event(mapper.to_stored_event(KeyAccount.Snapshot.take(at_handover)))
    restored = replay([decoded[-1]], snapshot.mutate(None))
    assert restored is not None
    assert restored.team == {"bob": [KamRole.RELATIONSHIP_LEADER]}


def test_a_cancellation_leaves_the_team_alone_when_the_outgoing_manager_was_kept_on_it() -> None:
    account = managed_by("bob")
    account.add_team_member(member="bob", roles=[KamRole.RELATIONSHIP_LEADER], meta=meta())
    account.hand_over(
        to="cat", effective_on=date(2026, 4, 1), keep_on_team=True, meta=meta(reason="moves")
    )
    account.add_team_member(member="cat", roles=[KamRole.TECHNICAL_EXPERT], meta=meta())
    account.cancel_handover(meta=meta("dora", reason="cat declined"))
    assert account.team == {"bob": [KamRole.RELATIONSHIP_LEADER], "cat": [KamRole.TECHNICAL_EXPERT]}
