"""KeyAccount: cancelling a pending handover (given an account handed over, when cancelled,
then the outgoing manager manages it again and it can be handed over anew)."""

from __future__ import annotations

import copy
from datetime import date
from uuid import UUID

import pytest
from eventsourcing.persistence import Mapper
from tests.domain.test_key_accounts import (
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
