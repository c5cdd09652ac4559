"""Read models react to events through tables keyed by event class."""

from __future__ import annotations

from eventsourcing.domain import CanMutateAggregate

from kam_domain.account_plans import AccountPlan
from kam_domain.application import KamApplication
from kam_domain.commands import RegisterAccount
from kam_domain.key_accounts import KeyAccount
from kam_domain.relationships import Relationship
from kam_domain.values import Envelope, ServiceProfile
from kam_projections.projector import build_models, decode
from kam_projections.summaries import SUMMARISERS

AGGREGATES = {a.__name__: a for a in (KeyAccount, AccountPlan, Relationship)}


def is_event_of_an_aggregate(cls: type) -> bool:
    aggregate, _, name = cls.__qualname__.partition(".")
    return (
        issubclass(cls, CanMutateAggregate)
        and aggregate in AGGREGATES
        and getattr(AGGREGATES[aggregate], name, None) is cls
    )


def test_every_reaction_and_summary_is_keyed_by_an_aggregates_event_class() -> None:
    for model in build_models():
        assert model.reactions or model.name in ("timeline", "sources"), model.name
        for cls in model.reactions:
            assert is_event_of_an_aggregate(cls), (model.name, cls)
    assert all(is_event_of_an_aggregate(cls) for cls in SUMMARISERS)


def test_who_reacts_to_a_completed_action() -> None:
    reacting = {m.name for m in build_models() if AccountPlan.ActionCompleted in m.reactions}
    assert reacting == {"actions", "health"}


def test_a_decoded_event_carries_the_class_its_topic_names(app: KamApplication) -> None:
    app.handle(
        RegisterAccount(
            name="Classy", industry="Retail", region="EMEA", service_profile=ServiceProfile.STANDARD
        ),
        meta=Envelope(actor="ann"),
    )
    events = [decode(app, n) for n in app.recorder.select_notifications(1, limit=10)]
    assert KeyAccount.Registered in {e.cls for e in events}
    for event in events:
        assert event.cls.__qualname__ == event.name
