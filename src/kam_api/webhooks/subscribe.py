"""Making a subscription, the same from ``POST /webhooks`` and ``kam webhooks add``."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from kam_api.schemas.webhooks import WebhookCreate
from kam_api.webhooks.signing import generate_secret, secret_key
from kam_api.webhooks.store import WebhookStore
from kam_domain.application import KamApplication
from kam_projections.webhooks import Subscription


def subscribe(
    store: WebhookStore, app: KamApplication, request: WebhookCreate, *, actor: str
) -> tuple[Subscription, str]:
    """A new subscription (from the log's head unless ``after`` is given) and its secret,
    generated unless given: the only time it is shown."""
    secret = request.secret if request.secret is not None else generate_secret()
    head = app.recorder.max_notification_id() or 0
    subscription = store.create(
        url=request.url,
        event_types=request.event_types,
        key=secret_key(secret),
        position=request.after if request.after is not None else head,
        actor=actor,
        now=datetime.now(UTC).isoformat(),
        at=time.time(),
    )
    return subscription, secret
