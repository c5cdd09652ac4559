"""Crypto-shredding's read cost: cold load of a stakeholder whose personal data is sealed with
the person's key, against the same history stored in clear.

- encrypted_load_vs_plain: cold load (a fresh application, no aggregate cache, snapshots OFF,
  so all 1,000 events are read and decoded) of a stakeholder with 1,000 events (interactions,
  commitments made and fulfilled, disposition and role changes, each with a reason: every event
  has a sealed part) through the sealing mapper, divided by loading an equal history written
  and read by the library's plain mapper. The data key is fetched from the store at most once a
  load (cached for ``KAM_KEY_CACHE_SECONDS``, default 1 s) and each event costs one AES-GCM open.
  Alternating rounds of each; the figure is the median of the per-round ratios.
- encrypted_load_vs_plain_snapshots: the same with snapshots every 50 events (the default), so a
  load reads one sealed snapshot and at most 49 events.
"""

from __future__ import annotations

import os
import statistics
from datetime import date, timedelta
from uuid import UUID, uuid4

from common import fresh_schema, median_time
from kam_api.bootstrap import open_services
from kam_api.settings import Settings
from kam_domain.application import KamApplication
from kam_domain.commands import (
    AssignRelationshipOwner,
    ChangeDisposition,
    ChangeRole,
    FulfilCommitment,
    IdentifyStakeholder,
    LogInteraction,
    MakeCommitment,
    RegisterAccount,
)
from kam_domain.values import (
    BuyingRole,
    Disposition,
    Envelope,
    InteractionKind,
    PersonalData,
    ServiceProfile,
)
from kam_store.crypto import personal_data_mapper
from kam_store.features import store_features

TARGETS = {
    "encrypted_load_vs_plain": ("<=", 1.3),
    "encrypted_load_vs_plain_snapshots": ("report", 0.0),
}
EVENTS = 1000
REPEAT = int(os.environ.get("KAM_BENCH_LOAD_REPEAT", "30"))
ROUNDS = int(os.environ.get("KAM_BENCH_ROUNDS", "7"))
WHY = Envelope(actor="bench", reason="agreed with the customer's sponsor in the weekly call")


def grow_stakeholder(app: KamApplication, events: int) -> UUID:
    """A stakeholder with exactly ``events`` events, each holding personal data or a reason."""
    account = app.handle(
        RegisterAccount(
            name=f"Crypto {uuid4().hex[:8]}",
            industry="Energy",
            region="NA",
            service_profile=ServiceProfile.PREMIUM,
        ),
        meta=WHY,
    ).id
    person = app.handle(
        IdentifyStakeholder.of(
            account,
            PersonalData("Dana Smith", "dana@example.com", "+44 20 7946 0000", "met at QBR"),
            title="Chief Financial Officer",
            buying_role=BuyingRole.ECONOMIC_BUYER,
            influence=4,
            reports_to=None,
        ),
        meta=WHY,
    ).id
    written, open_commitment, influence = 1, None, 4
    disposition = Disposition.NEUTRAL
    while written < events:
        step = written % 8
        if step == 1 and open_commitment is None:
            open_commitment = app.handle(
                MakeCommitment(
                    stakeholder_id=person, description="Send the revised roadmap", due_on=None
                ),
                meta=WHY,
            ).entity_id
        elif step == 2 and open_commitment is not None:
            app.handle(
                FulfilCommitment(
                    stakeholder_id=person, commitment_id=open_commitment, note="sent by email"
                ),
                meta=WHY,
            )
            open_commitment = None
        elif step == 3:
            disposition = (
                Disposition.SUPPORTER if disposition is Disposition.NEUTRAL else Disposition.NEUTRAL
            )
            app.handle(ChangeDisposition(stakeholder_id=person, disposition=disposition), meta=WHY)
        elif step == 4:
            influence = influence % 5 + 1
            app.handle(
                ChangeRole(
                    stakeholder_id=person, buying_role=BuyingRole.CHAMPION, influence=influence
                ),
                meta=WHY,
            )
        elif step == 5:
            app.handle(
                AssignRelationshipOwner(stakeholder_id=person, owner=f"o{written}"), meta=WHY
            )
        else:
            app.handle(
                LogInteraction(
                    stakeholder_id=person,
                    kind=InteractionKind.MEETING,
                    on=date(2026, 1, 1) + timedelta(days=written % 300),
                    summary="Walked through the renewal terms and the pilot's results",
                    sentiment=1,
                ),
                meta=WHY,
            )
        written += 1
    assert app.get_stakeholder(person).version == events
    return person


def cold_load_time(app: KamApplication, person: UUID, repeat: int) -> float:
    return median_time(lambda: app.get_stakeholder(person), repeat)


def run() -> dict[str, float]:
    figures: dict[str, float] = {}
    with fresh_schema("crypto") as (_, url):
        settings = Settings(database_url=url)
        assert settings.master() is not None
        plain_env = settings.library_env()
        plain = KamApplication(env=plain_env, store_features=store_features)
        try:
            plain_person = grow_stakeholder(plain, EVENTS)
        finally:
            plain.close()
        with open_services(settings, check_people=False) as services:
            sealed_person = grow_stakeholder(services.app, EVENTS)
        for label, snapshots in (("", "n"), ("_snapshots", "y")):
            cold = Settings(database_url=url, aggregate_cache_size=0)
            env = {**cold.library_env(), "IS_SNAPSHOTTING_ENABLED": snapshots}
            plain = KamApplication(env=env, store_features=store_features)
            # As the composition root builds it, with this round's snapshot setting.
            sealed = KamApplication(
                env=env,
                store_features=store_features,
                mapper=personal_data_mapper(cold.master(), cache_seconds=cold.key_cache_seconds),
            )
            try:
                assert sealed.get_stakeholder(sealed_person).personal.name == "Dana Smith"  # type: ignore[union-attr]
                for _ in range(5):  # warm the pools, prepared statements and the key cache
                    plain.get_stakeholder(plain_person)
                    sealed.get_stakeholder(sealed_person)
                # Alternating rounds on a shared, noisy machine: the median of their ratios.
                ratios, times = [], []
                for _ in range(ROUNDS):
                    t_plain = cold_load_time(plain, plain_person, REPEAT)
                    t_sealed = cold_load_time(sealed, sealed_person, REPEAT)
                    ratios.append(t_sealed / t_plain)
                    times.append((t_plain, t_sealed))
            finally:
                plain.close()
                sealed.close()
            t_plain, t_sealed = (statistics.median(t) for t in zip(*times, strict=True))
            print(
                f"   snapshots {'on' if snapshots == 'y' else 'off'}: "
                f"plain {t_plain * 1e3:.2f} ms, sealed {t_sealed * 1e3:.2f} ms "
                f"(ratios {', '.join(f'{r:.2f}' for r in ratios)})",
                flush=True,
            )
            figures[f"encrypted_load_vs_plain{label}"] = statistics.median(ratios)
    return figures
