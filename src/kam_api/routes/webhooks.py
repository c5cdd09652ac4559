"""Webhook subscriptions (admins only): create, list, show, remove, the delivery log and
replay from a position. Delivery itself is ``kam_api.webhooks.delivery``'s."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from kam_api.deps import Admin, Kam
from kam_api.errors import ApiError
from kam_api.schemas.webhooks import (
    DeliveriesPublic,
    WebhookCreate,
    WebhookCreated,
    WebhookPublic,
    WebhookReplay,
    WebhooksPublic,
    delivery_public,
    webhook_public,
)
from kam_api.webhooks.store import WebhookStore
from kam_api.webhooks.subscribe import subscribe
from kam_projections.webhooks import SubscriptionNotFoundError

router = APIRouter(prefix="/webhooks", tags=["webhooks"])


async def get_webhooks(request: Request) -> WebhookStore:
    store: WebhookStore = request.app.state.webhooks
    return store


Webhooks = Annotated[WebhookStore, Depends(get_webhooks)]
WebhookId = Annotated[
    str,
    Path(
        pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
        description="The subscription's id",
    ),
]


def _not_found(subscription_id: str) -> ApiError:
    return ApiError(404, "not-found", "Not found", f"no webhook subscription {subscription_id}")


def _wake(request: Request) -> None:
    """A new or replayed subscription is delivered to at once, not at the next poll."""
    deliverer = getattr(request.app.state, "deliverer", None)
    if deliverer is not None:
        deliverer.wake()


@router.post("", response_model=WebhookCreated, status_code=201)
def create_webhook(
    body: WebhookCreate,
    admin: Admin,
    kam: Kam,
    webhooks: Webhooks,
    request: Request,
    response: Response,
) -> WebhookCreated:
    """Subscribes a URL to the event log (all events, or the types named), from now on or
    after a position, and answers its signing secret, shown only this once. Admins only."""
    subscription, secret = subscribe(webhooks, kam, body, actor=admin.name)
    response.headers["Location"] = f"/webhooks/{subscription.id}"
    _wake(request)
    return WebhookCreated(**webhook_public(subscription).model_dump(), secret=secret)


@router.get("", response_model=WebhooksPublic)
def list_webhooks(admin: Admin, webhooks: Webhooks) -> WebhooksPublic:
    """Every subscription and where its delivery stands (never a secret). Admins only."""
    return WebhooksPublic(items=[webhook_public(s) for s in webhooks.all()])


@router.get("/{subscription_id}", response_model=WebhookPublic)
def get_webhook(subscription_id: WebhookId, admin: Admin, webhooks: Webhooks) -> WebhookPublic:
    """One subscription: its filter, status, position and last error. Admins only."""
    try:
        return webhook_public(webhooks.get(subscription_id))
    except SubscriptionNotFoundError:
        raise _not_found(subscription_id) from None


@router.delete("/{subscription_id}", response_model=WebhookPublic)
def remove_webhook(subscription_id: WebhookId, admin: Admin, webhooks: Webhooks) -> WebhookPublic:
    """Removes a subscription: nothing more is delivered to it and its secret is wiped; it
    stays listed as ``disabled`` with its delivery log. 404 if unknown or removed already.
    Admins only."""
    try:
        return webhook_public(webhooks.disable(subscription_id))
    except SubscriptionNotFoundError:
        raise _not_found(subscription_id) from None


@router.get("/{subscription_id}/deliveries", response_model=DeliveriesPublic)
def list_deliveries(
    subscription_id: WebhookId,
    admin: Admin,
    webhooks: Webhooks,
    before: Annotated[
        int | None, Query(ge=1, le=2**62, description="Attempts before this seq")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> DeliveriesPublic:
    """A subscription's delivery log, newest first: each attempt's event position, time,
    status code or error, and duration. Admins only."""
    try:
        attempts = webhooks.deliveries(subscription_id, before=before, limit=limit)
    except SubscriptionNotFoundError:
        raise _not_found(subscription_id) from None
    next_before = attempts[-1].seq if len(attempts) == limit else None
    return DeliveriesPublic(items=[delivery_public(a) for a in attempts], next_before=next_before)


@router.post("/{subscription_id}/replay", response_model=WebhookPublic)
def replay_webhook(
    subscription_id: WebhookId,
    body: WebhookReplay,
    admin: Admin,
    webhooks: Webhooks,
    request: Request,
) -> WebhookPublic:
    """Delivers again every event after a position (each with its same ``webhook-id``), in
    order; resumes a paused (failing) subscription. 404 for a removed one. Admins only."""
    try:
        subscription = webhooks.replay(subscription_id, body.after, time.time())
    except SubscriptionNotFoundError:
        raise _not_found(subscription_id) from None
    _wake(request)
    return webhook_public(subscription)
