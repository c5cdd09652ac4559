"""Request dependencies: the services, the authenticated user and role checks, If-Match, the
event envelope, sending commands and read-your-writes waits. Use the ``Annotated`` aliases in
route signatures.

The cheap ones are ``async``: FastAPI runs a plain ``def`` dependency in the thread pool, and
half a dozen thread hops per request cost more than the command itself. Only what blocks on
the database for long (the routes, the min_position wait) runs in the pool.
"""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Header, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from kam_api.auth import DECISIONS, LOG_READERS, STORE_READERS, WRITERS, Role, User, UserStore
from kam_api.bootstrap import Services
from kam_api.errors import ApiError, ForbiddenError, NotReadyError, UnauthorizedError
from kam_api.observability import Metrics
from kam_api.schemas.commands import EnvelopeInput
from kam_api.schemas.common import CommandAccepted, accepted
from kam_api.settings import Settings
from kam_domain.application import CommandResult, KamApplication
from kam_domain.commands import Command
from kam_domain.errors import KamError
from kam_domain.idempotency import MAX_KEY_LENGTH
from kam_domain.key_accounts import KeyAccount
from kam_domain.values import Envelope
from kam_projections.db import ViewDatabase
from kam_projections.freshness import wait_for_position


async def get_kam(request: Request) -> KamApplication:
    kam: KamApplication = request.app.state.kam
    return kam


async def get_views(request: Request) -> ViewDatabase:
    """The read models the API's GET endpoints query (and ``min_position`` waits on): a
    streaming replica when ``KAM_READ_DATABASE_URL`` names one, else the primary."""
    views: ViewDatabase = request.app.state.read_views
    return views


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def get_users(request: Request) -> UserStore:
    users: UserStore = request.app.state.users
    return users


Kam = Annotated[KamApplication, Depends(get_kam)]
Views = Annotated[ViewDatabase, Depends(get_views)]
AppSettings = Annotated[Settings, Depends(get_settings)]
AppServices = Annotated[Services, Depends(get_services)]


async def get_today(settings: AppSettings) -> date:
    """Today, as the settings' clock tells it (fixed in demos and tests)."""
    return settings.clock()


Today = Annotated[date, Depends(get_today)]


bearer = HTTPBearer(auto_error=False, description="A token from `kam users add`")


async def current_user(
    users: Annotated[UserStore, Depends(get_users)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> User:
    """The user whose bearer token came with the request (401 otherwise)."""
    if credentials is None or not credentials.credentials.strip():
        raise UnauthorizedError("use 'Authorization: Bearer <token>'")
    user = users.authenticate(credentials.credentials.strip())
    if user is None:
        raise UnauthorizedError("unknown or revoked token")
    return user


CurrentUser = Annotated[User, Depends(current_user)]


async def writer(user: CurrentUser) -> User:
    """A user allowed to write (admin, director, manager)."""
    if user.role not in WRITERS:
        raise ForbiddenError(f"the {user.role.value} role cannot change anything")
    return user


async def store_reader(user: CurrentUser) -> User:
    """A user allowed to read aggregates from the store (not viewers)."""
    if user.role not in STORE_READERS:
        raise ForbiddenError(f"the {user.role.value} role reads only the read-model endpoints")
    return user


async def director(user: CurrentUser) -> User:
    """A user allowed to write anything (admin, director): the role of the endpoints of
    ``auth.DECISIONS``, so a manager is refused before the body or the account is looked at."""
    if not user.writes_anything:
        raise ForbiddenError(
            f"only directors and admins may do this, not the {user.role.value} role"
        )
    return user


async def admin(user: CurrentUser) -> User:
    if user.role is not Role.ADMIN:
        raise ForbiddenError("only admins may do this")
    return user


async def log_reader(user: CurrentUser) -> User:
    """A user allowed to read the whole event log and the ledger (admin, director, auditor)."""
    if user.role not in LOG_READERS:
        raise ForbiddenError(f"the {user.role.value} role cannot read the event log")
    return user


Writer = Annotated[User, Depends(writer)]
LogReader = Annotated[User, Depends(log_reader)]
StoreReader = Annotated[User, Depends(store_reader)]
Director = Annotated[User, Depends(director)]
Admin = Annotated[User, Depends(admin)]


def authorize_account(kam: KamApplication, user: User, account_id: UUID) -> None:
    """Directors and admins write anywhere; a manager only to accounts they manage or are on
    the team of (404 for an unknown account, 403 for someone else's)."""
    if user.writes_anything:
        return
    account: KeyAccount = kam.load(KeyAccount, account_id, fresh=False)
    if account.manager != user.name and user.name not in account.team:
        account = kam.get_account(account_id)  # the cached copy may predate a change
        if account.manager != user.name and user.name not in account.team:
            raise ForbiddenError(
                f"{user.name} neither manages account {account_id} nor is on its team"
            )


#: A version has at most 18 digits (it fits a BIGINT); a longer number is malformed, not a 500.
_ETAG = re.compile(r'^\s*(?:W/)?"?(\d{1,18})"?\s*$')


async def expected_version(
    if_match: Annotated[
        str | None,
        Header(description='The version the change is based on, as given by ETag (e.g. "3")'),
    ] = None,
) -> int | None:
    """The version named by If-Match (None when absent; 400 when malformed)."""
    if if_match is None or if_match.strip() == "*":
        return None
    match = _ETAG.match(if_match)
    if match is None:
        raise ApiError(
            400,
            "bad-if-match",
            "Bad If-Match",
            'If-Match must be a version number as given by ETag, e.g. "3"',
        )
    return int(match.group(1))


IfMatch = Annotated[int | None, Depends(expected_version)]


def envelope(user: User, request: Request, body: EnvelopeInput | None = None) -> Envelope:
    """The event envelope of a command: the authenticated actor, why and when, request id."""
    occurred = body.occurred_on if body is not None else None
    if isinstance(occurred, date) and not isinstance(occurred, datetime):
        occurred = datetime(occurred.year, occurred.month, occurred.day)
    if occurred is not None and occurred.tzinfo is None:
        from datetime import UTC

        occurred = occurred.replace(tzinfo=UTC)
    # The request's correlation id (CorrelationMiddleware), also on its log lines.
    correlation = getattr(request.state, "correlation_id", None) or str(uuid.uuid4())
    return Envelope(
        actor=user.name,
        occurred_on=occurred,
        reason=(body.reason.strip() or None) if body is not None and body.reason else None,
        correlation_id=correlation[:100],
    )


def etag(response: Response, version: int) -> None:
    """Names the aggregate's version as the answer's ETag (what If-Match sends back)."""
    response.headers["ETag"] = f'"{version}"'


def authorize(kam: KamApplication, user: User, command: Command) -> None:
    """Whether the user may send the command: directors and admins anything, a manager only
    commands on accounts they manage or are on the team of, and never a decision
    (``auth.DECISIONS``: classification, criteria, re-evaluation, manager, exit, registration)."""
    if user.writes_anything:
        return
    if type(command) in DECISIONS:
        raise ForbiddenError(
            f"only directors and admins may do this, not the {user.role.value} role"
        )
    account_id = kam.account_of(command)
    if account_id is None:
        raise ForbiddenError("only directors and admins may do this")
    authorize_account(kam, user, account_id)


def dispatch(
    kam: KamApplication,
    user: User,
    command: Command,
    meta: Envelope,
    expected_version: int | None,
    metrics: Metrics,
    idempotency_key: str | None = None,
) -> CommandResult:
    """The one way a request sends a command, for the API and the web app's forms alike:
    checks the user may (``authorize``), runs it with the envelope and the expected version
    (once per ``idempotency_key``, see ``dispatch_once``), and counts it accepted or refused."""
    result, _ = dispatch_once(kam, user, command, meta, expected_version, metrics, idempotency_key)
    return result


def dispatch_once(
    kam: KamApplication,
    user: User,
    command: Command,
    meta: Envelope,
    expected_version: int | None,
    metrics: Metrics,
    idempotency_key: str | None,
) -> tuple[CommandResult, bool]:
    """``dispatch``, also saying whether the answer is a replay: with a key the user already
    sent this command with, its stored answer, nothing written (``kam_domain.idempotency``)."""
    name = type(command).__name__
    try:
        authorize(kam, user, command)
        if idempotency_key is None:
            result, replayed = (
                kam.handle(command, meta=meta, expected_version=expected_version),
                False,
            )
        else:
            result, replayed = kam.handle_once(
                command,
                meta=meta,
                user=user.name,
                key=idempotency_key,
                expected_version=expected_version,
            )
    except (KamError, ApiError) as error:
        metrics.refused(name, error)
        raise
    if replayed:
        metrics.replayed(name)
    else:
        metrics.accepted(name, result.position)
    return result, replayed


class CommandSender:
    """Sends commands for the request's user: checks they may, records them as the actor
    (with the body's reason and occurred_on and the request id), passes If-Match as the
    expected version, and answers the new version (also as ETag) and log position."""

    def __init__(
        self,
        kam: KamApplication,
        user: User,
        request: Request,
        response: Response,
        expected_version: int | None,
        idempotency_key: str | None = None,
    ) -> None:
        self.kam, self.user, self.request, self.response = kam, user, request, response
        self.expected_version = expected_version
        self.idempotency_key = idempotency_key

    def __call__(
        self, command: Command, body: EnvelopeInput | None = None, *, location: str = ""
    ) -> CommandAccepted:
        """Sends ``command``; ``location`` (e.g. "/plans/{id}") names what it created."""
        result, replayed = dispatch_once(
            self.kam,
            self.user,
            command,
            envelope(self.user, self.request, body),
            self.expected_version,
            self.request.app.state.metrics,
            self.idempotency_key,
        )
        if replayed:
            self.response.headers["Idempotent-Replayed"] = "true"
        etag(self.response, result.version)
        if location:
            self.response.headers["Location"] = location.format(id=result.id)
        return accepted(result)


async def idempotency_key(
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            description="Any unique string (a UUID) of up to 255 visible ASCII characters: "
            "sending the same command again with the same key (e.g. after a lost answer) "
            "applies it once and answers the first answer again (header "
            "`Idempotent-Replayed: true`); keys are per user and expire after "
            "`KAM_IDEMPOTENCY_HOURS`. The same key with another command: 422 "
            "`idempotency-key-reused`; while the first is still running: 409 "
            "`idempotency-in-progress`",
            min_length=1,
            max_length=MAX_KEY_LENGTH,
            pattern=r"^[!-~]+$",
        ),
    ] = None,
) -> str | None:
    """The request's ``Idempotency-Key`` header (see ``kam_domain.idempotency``)."""
    return idempotency_key


IdempotencyKey = Annotated[str | None, Depends(idempotency_key)]


async def command_sender(
    kam: Kam,
    user: Writer,
    request: Request,
    response: Response,
    version: IfMatch,
    key: IdempotencyKey,
) -> CommandSender:
    return CommandSender(kam, user, request, response, version, key)


async def command_creator(
    kam: Kam, user: Writer, request: Request, response: Response, key: IdempotencyKey
) -> CommandSender:
    return CommandSender(kam, user, request, response, None, key)


#: Sends a command on an existing aggregate (If-Match honoured).
Send = Annotated[CommandSender, Depends(command_sender)]
#: Sends a command that creates an aggregate (no If-Match: there is no version yet).
Create = Annotated[CommandSender, Depends(command_creator)]


async def min_position(
    views: Views,
    settings: AppSettings,
    kam: Kam,
    min_position: Annotated[
        int | None,
        Query(
            ge=0,
            description="Wait until the read models have passed this position "
            "(from a command's response) before answering",
        ),
    ] = None,
) -> None:
    """Read-your-writes: waits (bounded) until the read models have passed the position."""
    if not min_position:
        return
    head = await run_in_threadpool(kam.recorder.max_notification_id)
    if min_position > (head or 0):
        # No command has answered this position: waiting could never succeed.
        raise ApiError(
            400,
            "bad-min-position",
            "Bad min_position",
            f"position {min_position} is beyond the end of the event log",
        )
    reached = await run_in_threadpool(
        wait_for_position, views, min_position, settings.read_wait_seconds
    )
    if not reached:
        raise NotReadyError(
            f"the read models have not reached position {min_position} yet; retry shortly"
        )


MinPosition = Annotated[None, Depends(min_position)]


AsOf = Annotated[
    datetime | None,
    Query(
        description="An instant in the past: the state as it was then, rebuilt from the "
        "events recorded up to it (ISO 8601; without a time zone, UTC)"
    ),
]
