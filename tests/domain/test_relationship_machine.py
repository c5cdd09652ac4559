"""Random lifecycles of a Relationship: valid and invalid commands, departure and erasure anywhere.

Each rule predicts from a small model whether the command is accepted or which error refuses it,
then checks that an accepted command emits exactly one event of the expected type and a refused
one emits nothing and changes nothing.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from kam_domain.base import replay
from kam_domain.errors import (
    CommitmentAlreadyFulfilledError,
    CommitmentNotFoundError,
    CorrectionUnchangedError,
    DispositionUnchangedError,
    InvalidValueError,
    KamError,
    OwnerAlreadyAssignedError,
    PersonalDataErasedError,
    ReasonRequiredError,
    RoleUnchangedError,
    StakeholderLeftError,
)
from kam_domain.names import HIDDEN_CHARACTERS
from kam_domain.personal import ERASED
from kam_domain.relationships import Interaction, Relationship
from kam_domain.values import BuyingRole, Disposition, Envelope, InteractionKind, PersonalData

WHY = Envelope(actor="kam@us", reason="agreed in the account review")
NO_REASON = Envelope(actor="kam@us")
BLANK_REASON = Envelope(actor="kam@us", reason="   ")

metas = st.sampled_from([WHY, WHY, NO_REASON, BLANK_REASON])
dispositions = st.sampled_from([*Disposition, "supporter"])
roles = st.sampled_from([*BuyingRole, "champion"])
kinds = st.sampled_from([*InteractionKind, "meeting"])
influences = st.integers(-1, 7)
sentiments = st.integers(-4, 4)
# Printable text: control characters are refused by their own test (test_base.py).
printable = st.characters(blacklist_categories=("Cc", "Cs"))
texts = st.one_of(st.text(printable, max_size=8), st.sampled_from(["x" * 2000, "x" * 2001, " ok "]))
names = st.one_of(st.text(printable, max_size=6), st.sampled_from(["Ann", "n" * 200, "n" * 201]))
owners = st.sampled_from(["dana", "eli", " dana ", "", "  ", "o" * 201])
dates = st.dates(min_value=date(2026, 1, 1), max_value=date(2028, 12, 31))
maybe_dates = st.one_of(dates, dates, st.none(), st.just(datetime(2027, 1, 1, 12)))


def is_text(value: Any, max_length: int) -> bool:
    return isinstance(value, str) and bool(value.strip()) and len(value) <= max_length


emails = st.sampled_from([None, "", " ", "ann@customer.example", "ann.lee@new.example", "e" * 321])
phones = st.sampled_from([None, "", "+44 1", " +44 2 ", "p" * 51])
OTHER_BOSSES = (
    UUID("00000000-0000-4000-8000-0000000000b1"),
    UUID("00000000-0000-4000-8000-0000000000b2"),
)


def corrected(value: Any, max_length: int) -> tuple[bool, str | None]:
    """(valid, stored value) of an optional text a correction is given."""
    if value is None or not value.strip():
        return True, None
    return len(value) <= max_length, value.strip()


def is_date(value: Any) -> bool:
    return isinstance(value, date) and not isinstance(value, datetime)


def is_influence(value: Any) -> bool:
    return isinstance(value, int) and 1 <= value <= 5


class RelationshipMachine(RuleBasedStateMachine):
    """A stakeholder driven by random commands; the model predicts each outcome."""

    stakeholder: Relationship

    def __init__(self) -> None:
        super().__init__()
        self.events: list[Any] = []
        self.commitment_ids: list[UUID] = []
        self.fulfilled: set[UUID] = set()
        # The model's own record of accepted interactions, in the order they were logged
        # (the aggregate keeps only the latest and a count).
        self.interactions: list[Interaction] = []
        self.interactions_when_left: int | None = None

    def run(
        self,
        command: Callable[[], object],
        refused_with: type[KamError] | None,
        emits: str,
    ) -> Any:
        """Runs the command and checks it was accepted or refused as the model predicts."""
        if refused_with is not None:
            before = copy.deepcopy(self.state())
            with pytest.raises(refused_with) as refusal:
                command()
            assert type(refusal.value) is refused_with, f"{emits}: {refusal.value!r}"
            assert self.stakeholder.collect_events() == []
            assert self.state() == before
            return None
        result = command()
        new_events = self.stakeholder.collect_events()
        assert [type(e).__name__ for e in new_events] == [emits]
        self.events.extend(new_events)
        return result

    def state(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self.stakeholder).items() if k != "_pending_events"}

    @property
    def left(self) -> bool:
        return self.stakeholder.left_on is not None

    # --- Rules ---------------------------------------------------------------------------

    @initialize(role=st.sampled_from(BuyingRole), influence=st.integers(1, 5), title=st.none())
    def identify_stakeholder(self, role: BuyingRole, influence: int, title: str | None) -> None:
        self.stakeholder = Relationship.identify_stakeholder(
            account_id=uuid4(),
            personal=PersonalData(name="Ann Lee", email="ann@customer.example"),
            title=title,
            buying_role=role,
            influence=influence,
            reports_to=None,
            meta=WHY,
        )
        self.events.extend(self.stakeholder.collect_events())

    @rule(name=names, role=roles, influence=influences, title=st.one_of(st.none(), texts))
    def identify_another(self, name: str, role: Any, influence: Any, title: Any) -> None:
        valid = (
            is_text(name, 200)
            and not HIDDEN_CHARACTERS.search(name)  # a name shows what it says
            and isinstance(role, BuyingRole)
            and is_influence(influence)
            and (title is None or not title.strip() or len(title) <= 200)
        )
        try:
            other = Relationship.identify_stakeholder(
                account_id=uuid4(),
                personal=PersonalData(name=name),
                title=title,
                buying_role=role,
                influence=influence,
                reports_to=self.stakeholder.id,
                meta=WHY,
            )
        except InvalidValueError:
            assert not valid
        else:
            assert valid
            (created,) = other.collect_events()
            assert replay([created]) == other
            assert other.disposition is Disposition.NEUTRAL

    @rule(disposition=dispositions, meta=metas)
    def change_disposition(self, disposition: Any, meta: Envelope) -> None:
        refused_with: type[KamError] | None = None
        if self.left:
            refused_with = StakeholderLeftError
        elif not isinstance(disposition, Disposition):
            refused_with = InvalidValueError
        elif disposition is self.stakeholder.disposition:
            refused_with = DispositionUnchangedError
        elif not meta.has_reason:
            refused_with = ReasonRequiredError
        self.run(
            lambda: self.stakeholder.change_disposition(disposition=disposition, meta=meta),
            refused_with,
            "DispositionChanged",
        )

    @rule(role=roles, influence=influences, meta=metas)
    def change_role(self, role: Any, influence: Any, meta: Envelope) -> None:
        refused_with: type[KamError] | None = None
        if self.left:
            refused_with = StakeholderLeftError
        elif not isinstance(role, BuyingRole) or not is_influence(influence):
            refused_with = InvalidValueError
        elif (role, influence) == (self.stakeholder.buying_role, self.stakeholder.influence):
            refused_with = RoleUnchangedError
        self.run(
            lambda: self.stakeholder.change_role(buying_role=role, influence=influence, meta=meta),
            refused_with,
            "RoleChanged",
        )

    @rule(owner=owners, meta=metas)
    def assign_relationship_owner(self, owner: str, meta: Envelope) -> None:
        refused_with: type[KamError] | None = None
        if not is_text(owner, 200):
            refused_with = InvalidValueError
        elif owner.strip() == self.stakeholder.owner:
            refused_with = OwnerAlreadyAssignedError
        self.run(
            lambda: self.stakeholder.assign_relationship_owner(owner=owner, meta=meta),
            refused_with,
            "OwnerAssigned",
        )

    @rule(kind=kinds, on=maybe_dates, summary=texts, sentiment=sentiments, meta=metas)
    def log_interaction(
        self, kind: Any, on: Any, summary: str, sentiment: int, meta: Envelope
    ) -> None:
        refused_with: type[KamError] | None = None
        if self.left:
            refused_with = StakeholderLeftError
        elif not (
            isinstance(kind, InteractionKind)
            and is_date(on)
            and is_text(summary, 2000)
            and -2 <= sentiment <= 2
        ):
            refused_with = InvalidValueError
        interaction_id = self.run(
            lambda: self.stakeholder.log_interaction(
                kind=kind, on=on, summary=summary, sentiment=sentiment, meta=meta
            ),
            refused_with,
            "InteractionLogged",
        )
        if interaction_id is not None:
            self.interactions.append(
                Interaction(interaction_id, kind, on, summary.strip(), sentiment)
            )
            assert self.stakeholder.interaction_count == len(self.interactions)

    @rule(description=texts, due_on=maybe_dates, meta=metas)
    def make_commitment(self, description: str, due_on: Any, meta: Envelope) -> None:
        refused_with: type[KamError] | None = None
        if self.left:
            refused_with = StakeholderLeftError
        elif not is_text(description, 2000) or not (due_on is None or is_date(due_on)):
            refused_with = InvalidValueError
        commitment_id = self.run(
            lambda: self.stakeholder.make_commitment(
                description=description, due_on=due_on, meta=meta
            ),
            refused_with,
            "CommitmentMade",
        )
        if commitment_id is not None:
            self.commitment_ids.append(commitment_id)

    @rule(data=st.data(), note=st.one_of(st.none(), texts), meta=metas)
    def fulfil_commitment(self, data: st.DataObject, note: Any, meta: Envelope) -> None:
        known = st.sampled_from(self.commitment_ids) if self.commitment_ids else st.nothing()
        commitment_id = data.draw(st.one_of(known, st.uuids(version=4)), label="commitment_id")
        refused_with: type[KamError] | None = None
        if commitment_id not in self.commitment_ids:
            refused_with = CommitmentNotFoundError
        elif commitment_id in self.fulfilled:
            refused_with = CommitmentAlreadyFulfilledError
        elif note is not None and note.strip() and len(note) > 2000:
            refused_with = InvalidValueError
        self.run(
            lambda: self.stakeholder.fulfil_commitment(
                commitment_id=commitment_id, note=note, meta=meta
            ),
            refused_with,
            "CommitmentFulfilled",
        )
        if refused_with is None:
            self.fulfilled.add(commitment_id)

    @rule(
        left_on=st.one_of(dates, st.just("2027-01-01")),
        successor=st.sampled_from(["none", "other", "self"]),
        meta=metas,
    )
    def record_departure(self, left_on: Any, successor: str, meta: Envelope) -> None:
        successor_id = {"none": None, "other": uuid4(), "self": self.stakeholder.id}[successor]
        refused_with: type[KamError] | None = None
        if self.left:
            refused_with = StakeholderLeftError
        elif not is_date(left_on) or successor == "self":
            refused_with = InvalidValueError
        self.run(
            lambda: self.stakeholder.record_departure(
                left_on=left_on, successor_id=successor_id, meta=meta
            ),
            refused_with,
            "LeftCompany",
        )
        if refused_with is None:
            self.interactions_when_left = len(self.interactions)

    @rule(title=st.one_of(st.none(), texts, st.just("CFO")), meta=metas)
    def correct_title(self, title: Any, meta: Envelope) -> None:
        valid, stored = corrected(title, 200)
        refused_with: type[KamError] | None = None
        if self.stakeholder.erased:
            refused_with = PersonalDataErasedError
        elif not valid:
            refused_with = InvalidValueError
        elif stored == self.stakeholder.title:
            refused_with = CorrectionUnchangedError
        elif not meta.has_reason:
            refused_with = ReasonRequiredError
        self.run(
            lambda: self.stakeholder.correct_title(title=title, meta=meta),
            refused_with,
            "TitleCorrected",
        )
        if refused_with is None:
            assert self.stakeholder.title == stored

    @rule(email=emails, phone=phones, meta=metas)
    def correct_contact_details(self, email: Any, phone: Any, meta: Envelope) -> None:
        email_ok, new_email = corrected(email, 320)
        phone_ok, new_phone = corrected(phone, 50)
        personal = self.stakeholder.personal
        refused_with: type[KamError] | None = None
        if personal is None:
            refused_with = PersonalDataErasedError
        elif not (email_ok and phone_ok):
            refused_with = InvalidValueError
        elif (new_email, new_phone) == (personal.email, personal.phone):
            refused_with = CorrectionUnchangedError
        elif not meta.has_reason:
            refused_with = ReasonRequiredError
        self.run(
            lambda: self.stakeholder.correct_contact_details(email=email, phone=phone, meta=meta),
            refused_with,
            "ContactDetailsCorrected",
        )
        if refused_with is None:
            assert personal is not None and self.stakeholder.personal == dataclasses.replace(
                personal, email=new_email, phone=new_phone
            )

    @rule(boss=st.sampled_from([None, *OTHER_BOSSES, "self"]), meta=metas)
    def correct_reports_to(self, boss: Any, meta: Envelope) -> None:
        reports_to = self.stakeholder.id if boss == "self" else boss
        refused_with: type[KamError] | None = None
        if boss == "self":
            refused_with = InvalidValueError
        elif reports_to == self.stakeholder.reports_to:
            refused_with = CorrectionUnchangedError
        elif not meta.has_reason:
            refused_with = ReasonRequiredError
        self.run(
            lambda: self.stakeholder.correct_reports_to(reports_to=reports_to, meta=meta),
            refused_with,
            "ReportsToCorrected",
        )
        if refused_with is None:
            assert self.stakeholder.reports_to == reports_to

    @rule(meta=metas)
    def erase_personal_data(self, meta: Envelope) -> None:
        refused_with: type[KamError] | None = None
        if self.stakeholder.erased:
            refused_with = PersonalDataErasedError
        elif not meta.has_reason:
            refused_with = ReasonRequiredError
        self.run(
            lambda: self.stakeholder.erase_personal_data(meta=meta),
            refused_with,
            "PersonalDataErased",
        )
        if refused_with is None:
            # Erasure keeps each interaction's shape, not its text.
            self.interactions = [dataclasses.replace(i, summary=ERASED) for i in self.interactions]

    # --- Invariants ----------------------------------------------------------------------

    @invariant()
    def disposition_is_always_a_disposition(self) -> None:
        assert isinstance(self.stakeholder.disposition, Disposition)

    @invariant()
    def erased_means_no_personal_data(self) -> None:
        s = self.stakeholder
        assert (s.personal is None) == s.erased
        assert (s.display_name == "(erased)") == s.erased

    @invariant()
    def no_interaction_is_accepted_after_departure(self) -> None:
        s = self.stakeholder
        assert s.has_left == (self.interactions_when_left is not None)
        if self.interactions_when_left is not None:
            assert len(self.interactions) == self.interactions_when_left
            assert s.interaction_count == self.interactions_when_left
            assert not s.is_engaged(date(2027, 6, 1))

    @invariant()
    def last_interaction_is_the_latest_date(self) -> None:
        s = self.stakeholder
        assert s.interaction_count == len(self.interactions)
        assert s.last_interaction_on == max((i.on for i in self.interactions), default=None)
        # Of interactions on the latest date, the one logged later wins.
        latest = max(reversed(self.interactions), key=lambda i: i.on, default=None)
        assert s.last_interaction == latest
        assert s.last_interaction_on == (latest.on if latest else None)

    @invariant()
    def engagement_follows_the_latest_interaction(self) -> None:
        s, today = self.stakeholder, date(2027, 6, 1)
        last_on = max((i.on for i in self.interactions), default=None)
        expected = (
            not self.left and last_on is not None and today - timedelta(days=90) <= last_on <= today
        )
        assert s.is_engaged(today) == expected

    @invariant()
    def commitments_are_keyed_by_their_id_and_open_ones_are_unfulfilled(self) -> None:
        s = self.stakeholder
        assert list(s.commitments) == [str(c) for c in self.commitment_ids]
        assert all(k == str(c.commitment_id) for k, c in s.commitments.items())
        open_ids = {c.commitment_id for c in s.open_commitments()}
        assert open_ids == set(self.commitment_ids) - self.fulfilled

    @invariant()
    def replaying_all_events_rebuilds_the_same_relationship(self) -> None:
        assert self.stakeholder.collect_events() == []
        assert replay(self.events) == self.stakeholder
        assert self.stakeholder.version == len(self.events)


RelationshipMachine.TestCase.settings = settings(
    max_examples=60, stateful_step_count=30, deadline=None
)
TestRelationshipMachine = RelationshipMachine.TestCase
