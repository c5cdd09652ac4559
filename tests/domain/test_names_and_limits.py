"""Names and bounded text in the domain, without storage: names in NFC with no hidden
characters, uniqueness keyed on the normalised form, and a bounded reason on every change."""

from __future__ import annotations

import pytest

from kam_domain.commands import AddTeamMember, IdentifyStakeholder, RegisterAccount
from kam_domain.commands.base import CommandValidationError
from kam_domain.errors import InvalidValueError
from kam_domain.indexes import AccountName
from kam_domain.key_accounts import KeyAccount
from kam_domain.transcodings import DataclassAsDict
from kam_domain.values import REASON_MAX_LENGTH, BuyingRole, Envelope, KamRole, ServiceProfile

META = Envelope(actor="dora")
#: Bidi controls and zero-width characters, and control characters (NUL, NEL).
HIDDEN = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u202e", "\u202d", "\u2067", "\u200e"]
HIDDEN += ["\x00", "\x85"]


def register(name: str) -> KeyAccount:
    return KeyAccount.register_account(
        name=name,
        industry="Manufacturing",
        region="EMEA",
        service_profile=ServiceProfile.STANDARD,
        meta=META,
    )


@pytest.mark.parametrize("hidden", HIDDEN)
def test_an_account_name_with_a_hidden_or_control_character_is_refused(hidden: str) -> None:
    # When an account is registered with a bidi control or zero-width character in its name
    # Then the aggregate refuses it, and so does the command
    with pytest.raises(InvalidValueError, match=r"zero-width|control characters"):
        register(f"Acme{hidden} Industrial")
    with pytest.raises(CommandValidationError, match=r"zero-width|control characters"):
        RegisterAccount(name=f"Acme{hidden} Industrial", industry="x", region="y")


def test_an_account_name_is_kept_in_nfc_and_unique_on_its_normalised_form() -> None:
    # When an account is registered with a decomposed accent
    account = register("Cafe\u0301 Noir")
    command = RegisterAccount(name="Cafe\u0301 Noir", industry="x", region="y")
    # Then its name is the composed form, in the aggregate and the command
    assert account.name == command.name == "Caf\u00e9 Noir"
    # ... and names that differ from it in Unicode form, case and spacing only key the same
    # AccountName index (uniqueness is decided on the normalised form); another name does not
    names = [account.name, "Cafe\u0301 Noir", "CAF\u00c9   noir", " caf\u00e9 noir "]
    assert len({AccountName.create_id(name) for name in names}) == 1
    assert AccountName.create_id("Cafe Noir") != AccountName.create_id(names[0])


def test_team_member_and_stakeholder_names_refuse_hidden_characters() -> None:
    account = register("Acme")
    account_id = account.id
    # When a team member, a manager or an incoming manager is named with a hidden character
    # Then the aggregate refuses it
    with pytest.raises(InvalidValueError, match="zero-width"):
        account.add_team_member(member="ann\u200b", roles=[KamRole.INNOVATOR], meta=META)
    with pytest.raises(InvalidValueError, match="zero-width"):
        account.assign_manager(manager="\u202emia", meta=META)
    assert account.team == {} and account.manager is None
    # ... and so does the command, for a team member or a stakeholder
    with pytest.raises(CommandValidationError, match="zero-width"):
        AddTeamMember(account_id=account_id, member="ann\u200b", roles=[KamRole.INNOVATOR])
    with pytest.raises(CommandValidationError, match="zero-width"):
        IdentifyStakeholder(
            account_id=account_id,
            name="\u202eMarie",
            buying_role=BuyingRole.CHAMPION,
            influence=3,
        )


def test_a_reason_longer_than_its_maximum_is_refused_but_history_stays_readable() -> None:
    # When a change carries a reason one character over the maximum
    # Then the envelope refuses it, while one at the maximum is fine
    with pytest.raises(InvalidValueError, match="at most"):
        Envelope(actor="dora", reason="r" * (REASON_MAX_LENGTH + 1))
    assert Envelope(actor="dora", reason="r" * REASON_MAX_LENGTH).has_reason
    # ... and an envelope stored before the limit, with a longer reason, still decodes
    stored = {"actor": "dora", "reason": "r" * (REASON_MAX_LENGTH * 10)}
    decoded = DataclassAsDict(Envelope).decode(stored)
    assert decoded.reason == stored["reason"]
