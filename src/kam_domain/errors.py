"""Typed domain errors. The API maps each family to one HTTP status (kam_api/errors.py).

- ``NotFoundError``: the thing named does not exist (404).
- ``InvalidValueError``: a value is out of its range or malformed (422).
- ``RuleViolationError``: the command breaks a business rule; ``rule`` names it (409).
- ``ConflictError``: someone else changed the aggregate first; nothing was written (409).
"""

from __future__ import annotations

from typing import Any


class KamError(Exception):
    """Base class of every error the domain raises on purpose."""

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class NotFoundError(KamError):
    """The aggregate or entity named does not exist."""


class InvalidValueError(KamError):
    """A value is out of range or malformed."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}", field=field)
        self.field = field


class RuleViolationError(KamError):
    """The command breaks a business rule; ``rule`` is a stable, URL-safe name for it."""

    rule = "rule-violation"


class ConflictError(KamError):
    """The aggregate changed since it was read (optimistic concurrency); nothing was written."""


class VersionMismatchError(ConflictError):
    """The expected version (If-Match) is not the aggregate's current version."""


class ReasonRequiredError(RuleViolationError):
    """This change must say why (manager changes, overrides, exits, ...)."""

    rule = "reason-required"


# --- Not found ------------------------------------------------------------------------


class AccountNotFoundError(NotFoundError):
    """No key account with this id."""


class PlanNotFoundError(NotFoundError):
    """No account plan with this id."""


class StakeholderNotFoundError(NotFoundError):
    """No stakeholder relationship with this id."""


class ObjectiveNotFoundError(NotFoundError):
    """The plan has no objective with this id."""


class OpportunityNotFoundError(NotFoundError):
    """The plan has no opportunity with this id."""


class ActionNotFoundError(NotFoundError):
    """The plan has no action with this id."""


class RiskNotFoundError(NotFoundError):
    """The account has no risk with this id."""


class CommitmentNotFoundError(NotFoundError):
    """The relationship has no commitment with this id."""


class ResearchQuestionNotFoundError(NotFoundError):
    """The research question bank has no question with this id."""


class TeamMemberNotFoundError(NotFoundError):
    """The person is not on the account team."""


# --- KeyAccount rules -------------------------------------------------------------------


class AccountNameTakenError(RuleViolationError):
    """Another key account already has this name (names are unique, case-insensitively)."""

    rule = "account-name-taken"


class TierCapExceededError(RuleViolationError):
    """The tier is at its cap; classifying another account into it needs an override reason."""

    rule = "tier-cap-exceeded"


class NotClassifiedError(RuleViolationError):
    """The account has no tier yet, so it cannot be downgraded."""

    rule = "account-not-classified"


class NoLowerTierError(RuleViolationError):
    """The account is in the lowest tier: there is nothing to downgrade it to."""

    rule = "no-lower-tier"


class ServiceProfileUnchangedError(RuleViolationError):
    """The account already has this service profile."""

    rule = "service-profile-unchanged"


class AccountExitedError(RuleViolationError):
    """The account has exited the key account programme; its history is read-only."""

    rule = "account-exited"


class IllegalStageTransitionError(RuleViolationError):
    """Stages follow the cycle strategy, research, action plan, execution, review."""

    rule = "illegal-stage-transition"


class ManagerAlreadyAssignedError(RuleViolationError):
    """The account already has this manager."""

    rule = "manager-already-assigned"


class NoManagerError(RuleViolationError):
    """The account has no manager to hand over from."""

    rule = "no-manager"


class HandoverPendingError(RuleViolationError):
    """A handover is already waiting to be acknowledged."""

    rule = "handover-pending"


class NoPendingHandoverError(RuleViolationError):
    """There is no handover waiting to be acknowledged."""

    rule = "no-pending-handover"


class NotIncomingManagerError(RuleViolationError):
    """Only the incoming manager can acknowledge a handover (a director or admin may cancel
    it)."""

    rule = "not-incoming-manager"


class TeamRolesUnchangedError(RuleViolationError):
    """The team member already has exactly these KAM roles."""

    rule = "team-roles-unchanged"


class TeamMemberAlreadyPresentError(RuleViolationError):
    """The person is already on the account team."""

    rule = "team-member-already-present"


class RiskAlreadyMitigatedError(RuleViolationError):
    """The risk has already been mitigated."""

    rule = "risk-already-mitigated"


# --- AccountPlan rules ------------------------------------------------------------------


class PlanAlreadyExistsError(RuleViolationError):
    """The account already has a plan for this period."""

    rule = "plan-already-exists"


class PlanClosedError(RuleViolationError):
    """The plan is closed; it can no longer change."""

    rule = "plan-closed"


class IllegalActionTransitionError(RuleViolationError):
    """The plan action cannot move from its current status by this command."""

    rule = "illegal-action-transition"


class ObjectiveAlreadyResolvedError(RuleViolationError):
    """The objective was already achieved or missed."""

    rule = "objective-already-resolved"


class OpportunityAlreadyClosedError(RuleViolationError):
    """The opportunity was already won or lost."""

    rule = "opportunity-already-closed"


# --- Relationship rules -----------------------------------------------------------------


class StakeholderLeftError(RuleViolationError):
    """The stakeholder has left the company; the relationship only keeps its history."""

    rule = "stakeholder-left"


class CorrectionUnchangedError(RuleViolationError):
    """A correction that changes nothing: the stakeholder's record already says this."""

    rule = "correction-unchanged"


class PersonalDataErasedError(RuleViolationError):
    """The stakeholder's personal data was erased; it cannot be changed or erased again."""

    rule = "personal-data-erased"


class CommitmentAlreadyFulfilledError(RuleViolationError):
    """The commitment was already fulfilled."""

    rule = "commitment-already-fulfilled"


class DispositionUnchangedError(RuleViolationError):
    """The stakeholder already has this disposition."""

    rule = "disposition-unchanged"


class RoleUnchangedError(RuleViolationError):
    """The stakeholder already has this buying role and influence."""

    rule = "role-unchanged"


class OwnerAlreadyAssignedError(RuleViolationError):
    """The relationship is already owned by this person."""

    rule = "owner-already-assigned"
