"""Users and tokens (admins only): list, create, revoke, rotate a token, and each user's log
of changes. Users live in the read-model database, not in the event log (see the architecture
notes); a command naming a person is checked against them (``kam_domain.people``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response

from kam_api.auth import NAME, UserChangeRefusedError, UserExistsError, UserNotFoundError, UserStore
from kam_api.deps import Admin, get_users
from kam_api.errors import ApiError
from kam_api.schemas.users import (
    UserCreate,
    UserDetailPublic,
    UserEmail,
    UserPublic,
    UsersPublic,
    UserTokenIssued,
    change_public,
    user_public,
)

router = APIRouter(prefix="/users", tags=["users"])

Users = Annotated[UserStore, Depends(get_users)]
UserName = Annotated[str, Path(pattern=NAME.pattern, description="The user's name")]


def _not_found(name: str) -> ApiError:
    return ApiError(404, "not-found", "Not found", f"no user named {name!r}")


def _refused(error: UserChangeRefusedError) -> ApiError:
    return ApiError(409, "user-change-refused", "User change refused", str(error))


def _refusal(slug: str, why: str) -> dict[int | str, dict[str, object]]:
    """The 409 a route answers (``kam_api.openapi`` adds the problem schema)."""
    return {409: {"description": f"`{slug}`: {why}", "x-problem-types": [slug]}}


@router.get("", response_model=UsersPublic)
def list_users(admin: Admin, users: Users) -> UsersPublic:
    """Every user with their role, status (active or revoked) and creation time; never a token
    or its hash. Admins only."""
    return UsersPublic(items=[user_public(row) for row in users.all()])


@router.post(
    "",
    response_model=UserTokenIssued,
    status_code=201,
    responses=_refusal("user-exists", "the name is taken"),
)
def create_user(
    body: UserCreate, admin: Admin, users: Users, response: Response
) -> UserTokenIssued:
    """Creates a user and answers their token, shown only this once (409 ``user-exists`` if
    the name is taken). Admins only; logged with the admin as actor."""
    try:
        token = users.add(body.name, body.role, actor=admin.name, email=body.email)
    except UserExistsError as error:
        raise ApiError(409, "user-exists", "User exists", str(error)) from None
    row = users.get(body.name)
    assert row is not None
    response.headers["Location"] = f"/users/{body.name}"
    return UserTokenIssued(**user_public(row).model_dump(), token=token)


@router.get("/{name}", response_model=UserDetailPublic)
def get_user(name: UserName, admin: Admin, users: Users) -> UserDetailPublic:
    """A user and the log of every change made to them (who, when, what). Admins only."""
    row = users.get(name)
    if row is None:
        raise _not_found(name)
    log = [change_public(change) for change in users.log(name)]
    return UserDetailPublic(**user_public(row).model_dump(), log=log)


@router.post(
    "/{name}/revocation",
    response_model=UserPublic,
    responses=_refusal("user-change-refused", "revoked already, or the last active admin"),
)
def revoke_user(name: UserName, admin: Admin, users: Users) -> UserPublic:
    """Revokes a user: their token stops working at once (other processes of the service:
    within 30 seconds) and no one may name them as a new manager, team member or owner; what
    they own stays theirs until reassigned. 409 ``user-change-refused`` for a user revoked
    already or the last active admin. Admins only."""
    try:
        return user_public(users.revoke(name, actor=admin.name))
    except UserNotFoundError:
        raise _not_found(name) from None
    except UserChangeRefusedError as error:
        raise _refused(error) from None


@router.post(
    "/{name}/token",
    response_model=UserTokenIssued,
    responses=_refusal("user-change-refused", "the user is revoked"),
)
def rotate_token(name: UserName, admin: Admin, users: Users) -> UserTokenIssued:
    """Gives a user a new token, shown only this once; the old one stops working (as for a
    revocation). 409 ``user-change-refused`` for a revoked user. Admins only."""
    try:
        token = users.rotate(name, actor=admin.name)
    except UserNotFoundError:
        raise _not_found(name) from None
    except UserChangeRefusedError as error:
        raise _refused(error) from None
    row = users.get(name)
    assert row is not None
    return UserTokenIssued(**user_public(row).model_dump(), token=token)


@router.put(
    "/{name}/email",
    response_model=UserPublic,
    responses=_refusal("user-change-refused", "the user has this address already"),
)
def set_user_email(name: UserName, body: UserEmail, admin: Admin, users: Users) -> UserPublic:
    """Sets the e-mail address the user's digest is sent to (`null`: removes it, and no
    digest is sent to them). Logged without the address. 409 ``user-change-refused`` when it
    is the address they have already. Admins only."""
    try:
        return user_public(users.set_email(name, body.email, actor=admin.name))
    except UserNotFoundError:
        raise _not_found(name) from None
    except UserChangeRefusedError as error:
        raise _refused(error) from None
