"""Which person of which command must be whom (``kam_domain.people``), checked before the
command's handler runs, so a refused name changes nothing."""

from __future__ import annotations

from kam_domain import commands as cmd
from kam_domain.people import PeopleDirectory, PersonKind, check_person

#: The fields naming people, per command, and who they may name.
PEOPLE: dict[type[cmd.Command], tuple[tuple[str, PersonKind], ...]] = {
    cmd.AssignManager: (("manager", PersonKind.MANAGER),),
    cmd.HandOver: (("to", PersonKind.MANAGER),),
    cmd.AddTeamMember: (("member", PersonKind.USER),),
    cmd.AssignRelationshipOwner: (("owner", PersonKind.USER),),
    cmd.AddAction: (("owner", PersonKind.USER_OR_EXTERNAL),),
    cmd.ReassignAction: (("owner", PersonKind.USER_OR_EXTERNAL),),
}


def check_people(command: cmd.Command, directory: PeopleDirectory) -> None:
    """Refuses (``InvalidValueError`` naming the field) a command naming someone the directory
    does not know, a revoked user, or a user who may not be what the field makes them."""
    for name, kind in PEOPLE.get(type(command), ()):
        check_person(name, getattr(command, name), kind, directory)
