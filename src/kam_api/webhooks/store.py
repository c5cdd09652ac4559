"""Webhook subscriptions as the service keeps them: the table's (``kam_projections.webhooks``),
with each subscription's secret sealed with the master key when one is configured (AES-GCM,
the subscription's id as associated data), else kept as base64 in the row; never in a log or
an answer."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Sequence

from kam_projections.db import ViewDatabase
from kam_projections.webhooks import Subscription, WebhookTable
from kam_store.keys import MasterKey, MasterKeyError

SEALED, PLAIN = "aesgcm:", "plain:"


class WebhookStore(WebhookTable):
    """Subscriptions, their secrets and delivery log over the read-model database."""

    def __init__(self, views: ViewDatabase, master: MasterKey | None) -> None:
        super().__init__(views)
        self.master = master

    def _seal(self, subscription_id: str, key: bytes) -> str:
        if self.master is None:
            return PLAIN + base64.b64encode(key).decode("ascii")
        sealed = self.master.wrap(uuid.UUID(subscription_id), key)
        return SEALED + base64.b64encode(sealed).decode("ascii")

    def secret_key(self, subscription_id: str) -> bytes:
        """The HMAC key of a subscription (``MasterKeyError`` if sealed by another key)."""
        stored = self.stored_secret(subscription_id)
        if stored.startswith(PLAIN):
            return base64.b64decode(stored[len(PLAIN) :])
        if self.master is None:
            raise MasterKeyError(
                f"webhook {subscription_id}'s secret is sealed: configure the master key"
            )
        return self.master.unwrap(
            uuid.UUID(subscription_id), base64.b64decode(stored[len(SEALED) :])
        )

    def create(
        self,
        *,
        url: str,
        event_types: Sequence[str],
        key: bytes,
        position: int,
        actor: str,
        now: str,
        at: float,
    ) -> Subscription:
        """Adds a subscription whose HMAC key is ``key`` (sealed as the store seals)."""
        return self.insert(
            url=url,
            event_types=event_types,
            seal=lambda subscription_id: self._seal(subscription_id, key),
            position=position,
            actor=actor,
            now=now,
            at=at,
        )
