"""Refusals read as sentences: no message of a domain error shows a Python repr of a value
(``Stage.STRATEGY``, ``<Tier.KEY: 'key'>``) or a method's name, over the generated histories'
mistakes (each kind of mistake the generator makes on purpose) on both backends."""

from __future__ import annotations

import contextlib
import enum
import inspect
import random
import re
from typing import Any
from uuid import uuid4

from tests.strategies import apply_history, build_history

import kam_domain.people as people
import kam_domain.values as values
from kam_domain.application import KamApplication
from kam_domain.commands import AdvanceStage, ChangeDisposition, RegisterAccount, StartAction
from kam_domain.errors import KamError
from kam_domain.values import Disposition, Envelope, Tier
from kam_store.features import store_features

ENUMS = sorted(
    name
    for module in (values, people)
    for name, cls in inspect.getmembers(module, inspect.isclass)
    if issubclass(cls, enum.Enum) and cls.__module__ == module.__name__
)
#: ``<Stage.STRATEGY: 'strategy'>`` (repr), ``Stage.STRATEGY`` (str of a plain Enum), and a
#: method's name where a verb belongs (``unblock_action is not allowed``).
AGGREGATES = ("KeyAccount", "AccountPlan", "Relationship", "AccountName", "TierRoster")
REPR = re.compile(
    rf"<\w+\.\w+: |\b(?:{'|'.join(ENUMS)})\.[A-Z]|\b[a-z]+_action\b"
    rf"|\b(?:{'|'.join(AGGREGATES)})\b"
)


WHO = Envelope(actor="dora", reason="a test of the messages")
DISPOSITION = next(iter(Disposition))


def refusals(store_env: dict[str, str], seeds: range) -> set[str]:
    """The messages of every command the generated histories got refused."""
    app = KamApplication(
        env=store_env,
        snapshot_interval=5,
        tier_caps={Tier.STRATEGIC: 1, Tier.KEY: 2, Tier.EMERGING: 3},
        store_features=store_features,
    )
    messages: set[str] = set()
    handle = app.handle

    def recording(*args: Any, **kwargs: Any) -> Any:
        try:
            return handle(*args, **kwargs)
        except KamError as error:
            messages.add(str(error))
            raise

    app.handle = recording  # type: ignore[method-assign]
    try:
        for seed in seeds:
            apply_history(app, build_history(random.Random(seed), 3, 60))
        account = app.handle(
            RegisterAccount(name="Umbrella", industry="Retail", region="EMEA"), meta=WHO
        ).id
        for command, version in [
            (AdvanceStage(account_id=uuid4(), to=values.Stage.RESEARCH), None),  # no account
            (StartAction(plan_id=uuid4(), action_id=uuid4()), None),  # no plan
            (ChangeDisposition(stakeholder_id=uuid4(), disposition=DISPOSITION), None),
            (AdvanceStage(account_id=account, to=values.Stage.RESEARCH), 7),  # stale If-Match
        ]:
            with contextlib.suppress(KamError):
                app.handle(command, meta=WHO, expected_version=version)
    finally:
        app.close()
    return messages


def test_the_pattern_catches_the_reprs_it_is_for() -> None:
    assert REPR.search(f"after strategy comes research, not {values.Stage.STRATEGY}")
    assert REPR.search(f"tier {values.Tier.KEY!r} is full")
    assert REPR.search("unblock_action is not allowed on a planned action")
    assert REPR.search("KeyAccount 8f0e... not found")
    assert not REPR.search("cannot unblock an action that is planned")


def test_no_refusal_shows_a_python_repr(store_env: dict[str, str]) -> None:
    # Given the mistakes of forty generated histories (a stage skipped, an action moved from
    # a status it cannot leave, a tier over its cap, ...)
    messages = refusals(store_env, range(40))

    # Then there were many kinds of refusal, and none shows a repr or a method's name
    assert len(messages) > 20
    shown = [message for message in messages if REPR.search(message)]
    assert shown == []
    assert any(message.startswith("after ") for message in messages)  # a stage skipped
    assert any(message.startswith("cannot ") and "an action" in message for message in messages)
    assert any(message.startswith("no account ") for message in messages)  # not found
    assert any("is at version" in message for message in messages)  # If-Match
