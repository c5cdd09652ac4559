"""Who a field may name (``kam_domain.people``), pure: given a directory of plain data, when a
name is checked, then it passes or is refused naming the field."""

from __future__ import annotations

import pytest

from kam_domain.errors import InvalidValueError
from kam_domain.people import KnownPerson, PersonKind, check_person

PEOPLE = {
    "mia": KnownPerson("mia", active=True, may_manage=True),
    "vic": KnownPerson("vic", active=True, may_manage=False),
    "old": KnownPerson("old", active=False, may_manage=True),
}


class Directory:
    def person(self, name: str) -> KnownPerson | None:
        return PEOPLE.get(name)


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("mia", PersonKind.MANAGER),
        (" mia ", PersonKind.MANAGER),
        ("vic", PersonKind.USER),
        ("vic", PersonKind.USER_OR_EXTERNAL),
        ("external:Jane Roe", PersonKind.USER_OR_EXTERNAL),
    ],
)
def test_a_person_the_field_may_name_passes(name: str, kind: PersonKind) -> None:
    check_person("owner", name, kind, Directory())


@pytest.mark.parametrize(
    ("name", "kind", "says"),
    [
        ("ghost", PersonKind.USER, "'ghost' is not a user of the service"),
        ("ghost", PersonKind.USER_OR_EXTERNAL, "or external:<name>"),
        ("old", PersonKind.USER, "'old' is a revoked user"),
        ("old", PersonKind.USER_OR_EXTERNAL, "revoked"),
        ("vic", PersonKind.MANAGER, "may not manage accounts"),
        ("external:Jane", PersonKind.MANAGER, "not an external person"),
        ("external:Jane", PersonKind.USER, "not an external person"),
        ("external:  ", PersonKind.USER_OR_EXTERNAL, "needs a name after it"),
    ],
)
def test_a_person_the_field_may_not_name_is_refused_naming_the_field(
    name: str, kind: PersonKind, says: str
) -> None:
    with pytest.raises(InvalidValueError, match=says.replace("(", r"\(")) as refused:
        check_person("owner", name, kind, Directory())
    assert refused.value.field == "owner"
