"""Users, their tokens and the log of changes to them (``/users``, admins only). A token is
shown once, when it is made; token hashes are never shown."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from kam_api.auth import EMAIL_MAX, NAME, Role, valid_email
from kam_projections.users import UserChange, UserRow


def _email(value: str) -> str:
    if not valid_email(value):
        raise ValueError("not an e-mail address (local@domain)")
    return value


Email = Annotated[
    str,
    AfterValidator(_email),
    Field(
        max_length=EMAIL_MAX,
        description="Where the user's digest is sent (`kam digest --send`): one ASCII "
        "local@domain address",
        examples=["eve@example.com"],
    ),
]


class UserCreate(BaseModel):
    """A new user: their name (the actor recorded on their events), role and, if given, the
    e-mail address their digest is sent to."""

    name: Annotated[
        str,
        Field(
            pattern=NAME.pattern,
            description="1-64 letters, digits, '.', '_', '@' or '-', starting with a letter or "
            "digit",
        ),
    ]
    role: Role
    email: Email | None = None

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"name": "eve", "role": "manager", "email": "eve@example.com"}]
        },
    )


class UserEmail(BaseModel):
    """A user's e-mail address (null: none, so no digest is sent to them)."""

    email: Email | None

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"email": "eve@example.com"}]}
    )


class UserPublic(BaseModel):
    """A user: name, role, status and when they were created (and revoked)."""

    name: str
    role: Role
    status: Literal["active", "revoked"] = Field(
        description="revoked: their token no longer authenticates and no one may name them "
        "as a new manager or owner"
    )
    created_at: str = Field(description="When the user was created (ISO 8601, UTC)")
    revoked_at: str | None = Field(None, description="When they were revoked, if they were")
    email: str | None = Field(
        None, description="Where their digest is sent; null: no address, no digest sent"
    )


class UserChangePublic(BaseModel):
    """One entry of the users log: who changed which user, how and when."""

    seq: int = Field(description="The entry's place in the log")
    at: str = Field(description="When (ISO 8601, UTC)")
    actor: str = Field(description="Who made the change (an admin, or cli:<OS user>)")
    user: str
    change: Literal["created", "revoked", "token-rotated", "email-set", "email-removed"] = Field(
        description="email-set and email-removed do not say the address: the log is kept for "
        "ever, an address is the user's personal data"
    )
    role: Role = Field(description="The user's role at the change")


class UserDetailPublic(UserPublic):
    """A user and every change made to them, oldest first."""

    log: list[UserChangePublic]


class UsersPublic(BaseModel):
    """Every user, by name."""

    items: list[UserPublic]


class UserTokenIssued(UserPublic):
    """A user and their new token: shown only this once (store it; only its hash is kept)."""

    token: str


def user_public(row: UserRow) -> UserPublic:
    return UserPublic(
        name=row.name,
        role=Role(row.role),
        status="active" if row.active else "revoked",
        created_at=row.created_at,
        revoked_at=row.revoked_at,
        email=row.email,
    )


def change_public(change: UserChange) -> UserChangePublic:
    return UserChangePublic(
        seq=change.seq,
        at=change.at,
        actor=change.actor,
        user=change.user_name,
        change=change.change,
        role=Role(change.role),
    )
