"""The aggregate cache: a copy that missed another process's write never overwrites it, never
answers wrongly, and reads always see the store."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

from kam_domain.application import KamApplication, VersionMismatchError
from kam_domain.commands import (
    AcknowledgeHandover,
    AdvanceStage,
    AssignManager,
    ExitAccount,
    HandOver,
    IdentifyStakeholder,
    LogInteraction,
    NoteCompetitor,
    RegisterAccount,
    SetFocus,
)
from kam_domain.errors import AccountExitedError, NoPendingHandoverError
from kam_domain.values import (
    BuyingRole,
    Envelope,
    FocusWeights,
    InteractionKind,
    PersonalData,
    ServiceProfile,
    Stage,
)
from kam_store.features import store_features

ANN = Envelope(actor="ann")
WHY = Envelope(actor="ann", reason="agreed")


@pytest.fixture
def two_processes(store_env: dict[str, str]) -> Iterator[tuple[KamApplication, KamApplication]]:
    """Two application instances with caches on one store, as two API processes would be."""
    first = KamApplication(
        env=store_env, aggregate_cache_size=100, liveness_ttl=0, store_features=store_features
    )
    second = KamApplication(
        env=store_env, aggregate_cache_size=100, liveness_ttl=0, store_features=store_features
    )
    try:
        yield first, second
    finally:
        first.close()
        second.close()


def register(app: KamApplication) -> object:
    return app.handle(
        RegisterAccount(
            name="Acme",
            industry="Chemicals",
            region="EMEA",
            service_profile=ServiceProfile.STANDARD,
        ),
        meta=ANN,
    ).id


def test_a_command_on_a_stale_cached_copy_is_rerun_on_the_stored_state(two_processes) -> None:  # type: ignore[no-untyped-def]
    a, b = two_processes
    account_id = register(a)
    a.handle(SetFocus.of(account_id, FocusWeights(100, 0, 0)), meta=ANN)  # now cached in a
    b.handle(AdvanceStage(account_id=account_id, to=Stage.RESEARCH), meta=ANN)  # a's copy is stale
    result = a.handle(SetFocus.of(account_id, FocusWeights(0, 100, 0)), meta=ANN)
    stored = b.get_account(account_id)
    assert result.version == stored.version == 4
    assert stored.stage is Stage.RESEARCH  # b's change was not lost
    assert stored.focus == FocusWeights(0, 100, 0)


def test_a_refusal_based_on_a_stale_copy_is_checked_against_the_store(two_processes) -> None:  # type: ignore[no-untyped-def]
    a, b = two_processes
    account_id = register(a)
    a.handle(AssignManager(account_id=account_id, manager="ann"), meta=ANN)
    b.handle(HandOver(account_id=account_id, to="eve", effective_on=date(2027, 1, 1)), meta=WHY)
    # a's cached copy has no pending handover, the store has one: eve may acknowledge.
    a.handle(AcknowledgeHandover(account_id=account_id, notes=None), meta=Envelope(actor="eve"))
    assert b.get_account(account_id).pending_handover is None
    with pytest.raises(NoPendingHandoverError):
        a.handle(AcknowledgeHandover(account_id=account_id, notes=None), meta=Envelope(actor="eve"))


def test_if_match_is_judged_against_the_stored_version_not_the_cache(two_processes) -> None:  # type: ignore[no-untyped-def]
    a, b = two_processes
    account_id = register(a)
    seen = a.handle(SetFocus.of(account_id, FocusWeights(100, 0, 0)), meta=ANN).version
    b.handle(AdvanceStage(account_id=account_id, to=Stage.RESEARCH), meta=ANN)
    with pytest.raises(VersionMismatchError):
        a.handle(SetFocus.of(account_id, FocusWeights(0, 0, 100)), meta=ANN, expected_version=seen)
    current = b.get_account(account_id).version
    assert (
        a.handle(
            SetFocus.of(account_id, FocusWeights(0, 0, 100)), meta=ANN, expected_version=current
        ).version
        == current + 1
    )


def test_reads_see_writes_made_elsewhere(two_processes) -> None:  # type: ignore[no-untyped-def]
    a, b = two_processes
    account_id = register(a)
    a.get_account(account_id)
    b.handle(AdvanceStage(account_id=account_id, to=Stage.RESEARCH), meta=ANN)
    assert a.get_account(account_id).stage is Stage.RESEARCH


def test_an_exit_elsewhere_stops_work_on_the_accounts_stakeholders(two_processes) -> None:  # type: ignore[no-untyped-def]
    a, b = two_processes
    account_id = register(a)
    person = a.handle(
        IdentifyStakeholder.of(
            account_id,
            PersonalData(name="Kim"),
            title=None,
            buying_role=BuyingRole.CHAMPION,
            influence=3,
            reports_to=None,
        ),
        meta=ANN,
    ).id
    b.handle(ExitAccount(account_id=account_id), meta=WHY)
    with pytest.raises(AccountExitedError):
        a.handle(
            LogInteraction(
                stakeholder_id=person,
                kind=InteractionKind.CALL,
                on=date(2026, 1, 5),
                summary="call",
                sentiment=0,
            ),
            meta=ANN,
        )
    assert a.get_stakeholder(person).version == 1


def test_a_trusted_liveness_answer_expires(store_env: dict[str, str]) -> None:
    a = KamApplication(env=store_env, liveness_ttl=60, store_features=store_features)
    b = KamApplication(env=store_env, store_features=store_features)
    try:
        account_id = register(a)
        person = a.handle(
            IdentifyStakeholder.of(
                account_id,
                PersonalData(name="Kim"),
                title=None,
                buying_role=BuyingRole.USER,
                influence=2,
                reports_to=None,
            ),
            meta=ANN,
        ).id
        b.handle(ExitAccount(account_id=account_id), meta=WHY)
        # Within the TTL a trusts its earlier answer (documented); once expired it re-reads.
        a._live_until[account_id] = 0.0
        with pytest.raises(AccountExitedError):
            a.handle(
                LogInteraction(
                    stakeholder_id=person,
                    kind=InteractionKind.CALL,
                    on=date(2026, 1, 5),
                    summary="call",
                    sentiment=0,
                ),
                meta=ANN,
            )
    finally:
        a.close()
        b.close()


def test_concurrent_writers_through_two_caches_lose_nothing(two_processes) -> None:  # type: ignore[no-untyped-def]
    import threading

    from kam_domain.errors import ConflictError
    from kam_domain.values import ThreatLevel

    a, b = two_processes
    account_id = register(a)
    accepted: list[str] = []
    refused: list[str] = []
    lock = threading.Lock()

    def write(app: KamApplication, worker: int) -> None:
        for i in range(15):
            note = f"w{worker}-{i}"
            try:
                app.handle(
                    NoteCompetitor(
                        account_id=account_id, name="Globex", threat=ThreatLevel.LOW, notes=note
                    ),
                    meta=ANN,
                )
            except ConflictError:
                with lock:
                    refused.append(note)
            else:
                with lock:
                    accepted.append(note)

    threads = [threading.Thread(target=write, args=((a, b)[w % 2], w)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stored = [e.notes for e in list(a.events.get(account_id))[1:]]  # type: ignore[attr-defined]
    assert sorted(stored) == sorted(accepted)
    assert len(accepted) + len(refused) == 120
    assert a.get_account(account_id).version == 1 + len(accepted)
