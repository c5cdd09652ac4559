"""Webhook subscriptions (``/webhooks``, admins only). A secret is shown once, in the answer
that creates the subscription; never again."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Annotated, Literal
from urllib.parse import urlsplit

from eventsourcing.domain import DomainEvent
from pydantic import BaseModel, ConfigDict, Field, field_validator

from kam_api.webhooks.signing import InvalidSecretError, secret_key
from kam_domain.account_plans import AccountPlan
from kam_domain.exchange_rates import ExchangeRate
from kam_domain.indexes import AccountName, TierRoster
from kam_domain.key_accounts import KeyAccount
from kam_domain.relationships import Relationship
from kam_projections.webhooks import Attempt, Subscription


@cache
def event_type_names() -> frozenset[str]:
    """Every name a filter may use: an event's ``type`` as ``/events`` shows it
    (``Classified``) and its ``aggregate_type.type`` (``KeyAccount.Classified``)."""
    names: set[str] = set()
    for aggregate in (KeyAccount, AccountPlan, Relationship, AccountName, TierRoster, ExchangeRate):
        for name, value in vars(aggregate).items():
            event = isinstance(value, type) and issubclass(value, DomainEvent)
            if event and name not in ("Created", "Event"):
                names |= {name, f"{aggregate.__name__}.{name}"}
    return frozenset(names)


def check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("a webhook URL is http:// or https:// with a host")
    if parts.username or parts.password:
        raise ValueError("a webhook URL may not carry credentials (sign with the secret)")
    return url


class WebhookCreate(BaseModel):
    """A new subscription: where to POST, which events, the secret to sign with."""

    url: Annotated[
        str,
        Field(
            min_length=8,
            max_length=2000,
            description="http:// or https:// address the events are POSTed to (redirects "
            "are not followed)",
        ),
    ]
    event_types: Annotated[
        list[Annotated[str, Field(max_length=100)]],
        Field(
            max_length=200,
            description="Only these event types, by the `type` `/events` shows (`Classified`) "
            "or with its aggregate (`KeyAccount.Classified`); empty: every event",
        ),
    ] = []
    secret: Annotated[
        str | None,
        Field(
            max_length=200,
            description="The signing secret, `whsec_` and base64 of 24 to 64 bytes; "
            "omitted: one is generated. Shown only in this answer",
        ),
    ] = None
    after: Annotated[
        int | None,
        Field(
            ge=0,
            le=2**62,
            description="Deliver the events after this log position (0: the whole log); "
            "omitted: only events written from now on",
        ),
    ] = None

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"url": "https://crm.example.com/kam-hook", "event_types": ["Classified"]}]
        },
    )

    @field_validator("url")
    @classmethod
    def _url(cls, url: str) -> str:
        return check_url(url)

    @field_validator("event_types")
    @classmethod
    def _types(cls, types: list[str]) -> list[str]:
        unknown = sorted(set(types) - event_type_names())
        if unknown:
            raise ValueError(f"unknown event types: {', '.join(unknown)}")
        return list(dict.fromkeys(types))

    @field_validator("secret")
    @classmethod
    def _secret(cls, secret: str | None) -> str | None:
        if secret is not None:
            try:
                secret_key(secret)
            except InvalidSecretError as error:
                raise ValueError(str(error)) from None
        return secret


class WebhookReplay(BaseModel):
    """Where to deliver from again."""

    after: Annotated[
        int, Field(ge=0, le=2**62, description="Deliver again every event after this position")
    ]

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"after": 1200}]})


class WebhookPublic(BaseModel):
    """A subscription and where its delivery stands (never its secret)."""

    id: str
    url: str
    event_types: list[str] = Field(description="Empty: every event")
    status: Literal["active", "failing", "disabled"] = Field(
        description="failing: paused after too many failed attempts (replay resumes it); "
        "disabled: removed"
    )
    position: int = Field(description="Every event up to this log position is delivered")
    attempts: int = Field(description="Failed attempts at the next event")
    next_attempt_at: datetime | None = Field(description="When the next event is retried")
    last_error: str | None
    created_at: str
    created_by: str


class WebhookCreated(WebhookPublic):
    """A new subscription, with its secret: shown only this once."""

    secret: str = Field(description="Verify each delivery's `webhook-signature` with it")


class WebhooksPublic(BaseModel):
    items: list[WebhookPublic]


class DeliveryPublic(BaseModel):
    """One delivery attempt."""

    seq: int
    position: int = Field(description="The event's log position")
    message_id: str = Field(description="The `webhook-id` header sent")
    attempt: int = Field(description="1 for the first attempt at this event, then 2, ...")
    attempted_at: str
    status_code: int | None = Field(description="The receiver's answer (null: no answer)")
    error: str | None = Field(description="timeout, or why the request failed")
    duration_ms: float


class DeliveriesPublic(BaseModel):
    """A subscription's attempts, newest first; pass ``next_before`` as ``before`` for more."""

    items: list[DeliveryPublic]
    next_before: int | None = None


def webhook_public(subscription: Subscription) -> WebhookPublic:
    retry = subscription.attempts > 0 and subscription.status == "active"
    return WebhookPublic(
        id=subscription.id,
        url=subscription.url,
        event_types=list(subscription.event_types),
        status=subscription.status,
        position=subscription.position,
        attempts=subscription.attempts,
        next_attempt_at=(
            datetime.fromtimestamp(subscription.next_attempt_at, UTC) if retry else None
        ),
        last_error=subscription.last_error,
        created_at=subscription.created_at,
        created_by=subscription.created_by,
    )


def delivery_public(attempt: Attempt) -> DeliveryPublic:
    return DeliveryPublic(
        seq=attempt.seq,
        position=attempt.position,
        message_id=attempt.message_id,
        attempt=attempt.attempt,
        attempted_at=attempt.attempted_at,
        status_code=attempt.status_code,
        error=attempt.error,
        duration_ms=attempt.duration_ms,
    )
