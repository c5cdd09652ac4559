"""People the ledger names: the managers, team members, relationship owners and action owners
a command names must be real.

Pure: who the users of the service are is not known here but asked of a ``PeopleDirectory``
the application is given (``people=``; the service: the user store, wired in
``kam_api.bootstrap``), as "today" is asked of its clock. Without a directory (pure tests, the
benchmarks) names are not checked.

What each field may name (``handlers/people.py`` says which field keeps which rule):

- ``MANAGER``: an active user whose role may manage accounts (manager, director, admin): an
  account's manager and a handover's incoming manager;
- ``USER``: any active user: a team member, a relationship's owner on our side;
- ``USER_OR_EXTERNAL``: an active user, or a person outside the company written
  ``external:<name>`` (a customer's or partner's person): an action's owner, since a mutual
  action plan gives actions to the customer's people too.

A revoked user is no longer a valid new name for any of them; what they own already stays
theirs until someone reassigns it (removing or reassigning never needs the old name to be
valid).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from kam_domain.errors import InvalidValueError

#: How a person outside the company is named where one is allowed: ``external:Jane Roe``.
EXTERNAL_PREFIX = "external:"


@dataclass(frozen=True)
class KnownPerson:
    """What the directory knows of a user: whether they are active (not revoked) and whether
    their role may manage accounts."""

    name: str
    active: bool
    may_manage: bool


class PeopleDirectory(Protocol):
    """The users of the service, as the application asks about them."""

    def person(self, name: str) -> KnownPerson | None:
        """The user of that name (revoked ones included), or None if there is none."""
        ...


class PersonKind(Enum):
    """Who a field may name."""

    MANAGER = "manager"
    USER = "user"
    USER_OR_EXTERNAL = "user_or_external"


def is_external(name: str) -> bool:
    """True for a person named outside the company (``external:<name>``)."""
    return name.startswith(EXTERNAL_PREFIX)


def check_person(field: str, name: str, kind: PersonKind, directory: PeopleDirectory) -> None:
    """Refuses (``InvalidValueError`` naming the field) a name that is not a person the field
    may name."""
    name = name.strip()
    if is_external(name):
        if kind is not PersonKind.USER_OR_EXTERNAL:
            raise InvalidValueError(
                field, f"{name!r}: must be a user of the service, not an external person"
            )
        if not name[len(EXTERNAL_PREFIX) :].strip():
            raise InvalidValueError(field, f"{EXTERNAL_PREFIX}<name> needs a name after it")
        return
    known = directory.person(name)
    allowed = f" (or {EXTERNAL_PREFIX}<name> for someone outside the company)"
    if known is None:
        raise InvalidValueError(
            field,
            f"{name!r} is not a user of the service"
            + (allowed if kind is PersonKind.USER_OR_EXTERNAL else ""),
        )
    if not known.active:
        raise InvalidValueError(field, f"{name!r} is a revoked user")
    if kind is PersonKind.MANAGER and not known.may_manage:
        raise InvalidValueError(field, f"{name!r} is a user whose role may not manage accounts")
