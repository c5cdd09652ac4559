"""The account's Update tab: the forms of daily work (interactions, actions, feedback,
assessments, departures, handovers), each posting to its own route and sending the API's
command as the signed-in user against the version the page showed. Success sends the browser
back to the tab with a notice (post/redirect/get); a refusal shows the tab again with the
reason beside the form, the values entered and, when someone changed the account meanwhile,
what changed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from kam_api.auth import WRITERS, User
from kam_api.deps import authorize_account
from kam_api.errors import ApiError
from kam_api.web.auth import Form, PageStoreReader, PageWriter
from kam_api.web.forms import FormRefusedError, Refusal, explain
from kam_api.web.routes.work_forms import (
    SENTIMENTS,
    Posted,
    chosen_action,
    chosen_id,
    kam_of,
    log_head,
    managers,
    posted,
    submit_form,
    version_of,
    views_of,
)
from kam_api.web.templating import pages_of
from kam_domain import commands as cmd
from kam_domain.account_plans import AccountPlan
from kam_domain.errors import KamError
from kam_domain.key_accounts import KeyAccount
from kam_domain.relationships import Relationship
from kam_domain.values import EngagementLevel, InteractionKind, ObjectiveStatus
from kam_projections.owners import owned_by

router = APIRouter(include_in_schema=False)

#: The notice after each form succeeded (the ``done`` query parameter names the form).
DONE = {
    "interaction": "Interaction logged",
    "action": "Action added",
    "complete": "Action completed",
    "reschedule": "Action rescheduled",
    "reassign": "Action reassigned",
    "feedback": "Feedback recorded",
    "assessment": "Assessment recorded",
    "departure": "Departure recorded",
    "handover": "Account handed over",
    "acknowledge": "Handover acknowledged",
}
Done = Literal[
    "interaction",
    "action",
    "complete",
    "reschedule",
    "reassign",
    "feedback",
    "assessment",
    "departure",
    "handover",
    "acknowledge",
]


def why_not(user: User, account: KeyAccount) -> str | None:
    """Why the user may not change this account (None: they may)."""
    if user.role not in WRITERS:
        return (
            f"You are signed in with the {user.role.value} role, which reads accounts but "
            "changes nothing, so there are no forms here."
        )
    if account.exited:
        return "This account has left the key account list; its history is read-only."
    if user.writes_anything or account.manager == user.name or user.name in account.team:
        return None
    return (
        f"You neither manage this account nor are on its team, so you cannot change it "
        f"(its manager is {account.manager or 'not assigned yet'})."
    )


def person_label(person: Relationship) -> str:
    if person.erased or person.personal is None:
        return f"Erased person ({person.buying_role.value.replace('_', ' ')})"
    return f"{person.personal.name}, {person.title}" if person.title else person.personal.name


def _form_data(request: Request, account: KeyAccount, user: User) -> dict[str, Any]:
    """What the forms offer: the account's people, open plans, open actions, objectives."""
    kam, views = kam_of(request), views_of(request)
    people = [kam.get_stakeholder(i) for i in owned_by(views, account.id, "Relationship")]
    present = [p for p in people if not p.has_left and not p.erased]
    plans = sorted(
        (kam.get_plan(i) for i in owned_by(views, account.id, "AccountPlan")),
        key=lambda plan: plan.period,
        reverse=True,
    )
    open_plans = [plan for plan in plans if not plan.closed]
    actions = [
        {
            "id": f"{plan.id}:{action.id}",
            "label": f"{action.what} (due {action.due_on:%-d %b %Y}, {action.owner})",
        }
        for plan in open_plans
        for action in plan.actions.values()
        if not action.status.is_terminal
    ]
    return {
        "people": [
            {"id": str(p.id), "label": person_label(p), "version": p.version} for p in present
        ],
        "respondents": [
            {"id": str(p.id), "label": person_label(p)} for p in people if not p.erased
        ],
        "plans": [
            {
                "id": str(plan.id),
                "label": plan.period + (f" — {plan.title}" if plan.title else ""),
                "version": plan.version,
            }
            for plan in open_plans
        ],
        "actions": actions,
        "objectives": [
            {"id": str(o.id), "label": f"{plan.period}: {o.statement}"}
            for plan in open_plans
            for o in plan.objectives.values()
            if o.status is ObjectiveStatus.OPEN
        ],
        "managers": managers(request),
        "kinds": [k.value for k in InteractionKind],
        "engagements": [e.value for e in EngagementLevel],
        "sentiments": SENTIMENTS,
        "nps_scale": [str(n) for n in range(11)],
        "five": [str(n) for n in range(1, 6)],
        "acknowledge": account.pending_handover is not None
        and account.pending_handover.to_manager == user.name,
    }


def update_page(
    request: Request,
    user: User,
    account_id: UUID,
    *,
    sent: Posted | None = None,
    done: str | None = None,
) -> Response:
    """The Update tab (with a refused form shown again, or the notice of one that worked)."""
    seen = log_head(request)  # before reading: a change after it is "what changed" later
    account = kam_of(request).get_account(account_id)
    reason = why_not(user, account)
    context: dict[str, Any] = {
        "title": f"Update · {account.name}",
        "account": account,
        "account_id": str(account.id),
        "account_name": account.name,
        "tab": "update",
        "as_of_query": "",
        "why_not": reason,
        "seen": seen,
        "posted": sent,
        "notice": DONE.get(done or ""),
    }
    if reason is None:
        context |= _form_data(request, account, user)
    status = sent.refusal.status if sent else 200
    return pages_of(request).render(request, "account/update.html", context, status=status)


@router.get("/app/accounts/{account_id}/update")
def update_tab(
    request: Request,
    account_id: UUID,
    user: PageStoreReader,
    done: Annotated[Done | None, Query()] = None,
) -> Response:
    """The account's forms of daily work, for those who may change it."""
    return update_page(request, user, account_id, done=done)


def _post(
    request: Request,
    user: User,
    account_id: UUID,
    name: str,
    form: FormData,
    send_it: Callable[[], object],
) -> Response:
    """Sends one form: back to the tab with a notice, or the tab again with the refusal."""
    kam_of(request).get_account(account_id)  # an unknown account: the 404 page
    try:
        try:
            authorize_account(kam_of(request), user, account_id)
            send_it()
        except (ApiError, KamError) as error:
            # The dispatcher's refusal, or an id chosen in the form that is not known: in
            # words beside the form, not an error page.
            raise FormRefusedError(explain(error)) from None
    except FormRefusedError as refused:
        sent = posted(request, name, form, refused.refusal, account_id)
        return update_page(request, user, account_id, sent=sent)
    return RedirectResponse(f"/app/accounts/{account_id}/update?done={name}", status_code=303)


def _stakeholder(request: Request, account_id: UUID, form: FormData, name: str) -> UUID:
    """The chosen stakeholder, who must be one of this account's."""
    chosen = chosen_id(form, name, "a person")
    assert chosen is not None
    if kam_of(request).load(Relationship, chosen, fresh=False).account_id != account_id:
        raise FormRefusedError(
            Refusal("That person is not a stakeholder of this account.", 422, {name: "not here"})
        )
    return chosen


def _plan(request: Request, account_id: UUID, plan_id: UUID) -> UUID:
    if kam_of(request).load(AccountPlan, plan_id, fresh=False).account_id != account_id:
        raise FormRefusedError(Refusal("That plan is not one of this account's.", 422))
    return plan_id


@router.post("/app/accounts/{account_id}/update/interaction")
def log_interaction(request: Request, account_id: UUID, user: PageWriter, form: Form) -> Response:
    """Logs a contact with one of the account's people."""

    def send_it() -> object:
        person = _stakeholder(request, account_id, form, "stakeholder_id")
        return submit_form(
            request,
            user,
            cmd.LogInteraction,
            form,
            version_of(form, person),
            stakeholder_id=person,
        )

    return _post(request, user, account_id, "interaction", form, send_it)


@router.post("/app/accounts/{account_id}/update/action")
def add_action(request: Request, account_id: UUID, user: PageWriter, form: Form) -> Response:
    """Adds an action to one of the account's open plans."""

    def send_it() -> object:
        plan = chosen_id(form, "plan_id", "a plan")
        assert plan is not None
        _plan(request, account_id, plan)
        return submit_form(request, user, cmd.AddAction, form, version_of(form, plan), plan_id=plan)

    return _post(request, user, account_id, "action", form, send_it)


def _action_form(
    request: Request, account_id: UUID, user: User, form: FormData, kind: type[cmd.Command]
) -> Callable[[], object]:
    def send_it() -> object:
        plan, action = chosen_action(form)
        _plan(request, account_id, plan)
        return submit_form(
            request, user, kind, form, version_of(form, plan), plan_id=plan, action_id=action
        )

    return send_it


@router.post("/app/accounts/{account_id}/update/action/complete")
def complete_action(request: Request, account_id: UUID, user: PageWriter, form: Form) -> Response:
    """Completes an open action with its outcome."""
    send_it = _action_form(request, account_id, user, form, cmd.CompleteAction)
    return _post(request, user, account_id, "complete", form, send_it)


@router.post("/app/accounts/{account_id}/update/action/reschedule")
def reschedule_action(request: Request, account_id: UUID, user: PageWriter, form: Form) -> Response:
    """Moves an open action's due date (with the reason)."""
    send_it = _action_form(request, account_id, user, form, cmd.RescheduleAction)
    return _post(request, user, account_id, "reschedule", form, send_it)


@router.post("/app/accounts/{account_id}/update/action/reassign")
def reassign_action(request: Request, account_id: UUID, user: PageWriter, form: Form) -> Response:
    """Gives an open action to another owner."""
    send_it = _action_form(request, account_id, user, form, cmd.ReassignAction)
    return _post(request, user, account_id, "reassign", form, send_it)


def _account_form(
    request: Request, account_id: UUID, user: User, form: FormData, kind: type[cmd.Command]
) -> Callable[[], object]:
    return lambda: submit_form(request, user, kind, form, version_of(form), account_id=account_id)


@router.post("/app/accounts/{account_id}/update/feedback")
def record_feedback(request: Request, account_id: UUID, user: PageWriter, form: Form) -> Response:
    """Records an NPS and/or CSAT answer."""

    def send_it() -> object:
        respondent = chosen_id(form, "respondent_id", "a respondent", required=False)
        if respondent is not None:
            _stakeholder(request, account_id, form, "respondent_id")
        return _account_form(request, account_id, user, form, cmd.RecordFeedback)()

    return _post(request, user, account_id, "feedback", form, send_it)


@router.post("/app/accounts/{account_id}/update/assessment")
def assess_relationship(
    request: Request, account_id: UUID, user: PageWriter, form: Form
) -> Response:
    """Records a relationship assessment (x-ray)."""
    send_it = _account_form(request, account_id, user, form, cmd.AssessRelationship)
    return _post(request, user, account_id, "assessment", form, send_it)


@router.post("/app/accounts/{account_id}/update/departure")
def record_departure(request: Request, account_id: UUID, user: PageWriter, form: Form) -> Response:
    """Records that a person left the customer, and their successor if known."""

    def send_it() -> object:
        person = _stakeholder(request, account_id, form, "stakeholder_id")
        if chosen_id(form, "successor_id", "a successor", required=False) is not None:
            _stakeholder(request, account_id, form, "successor_id")
        return submit_form(
            request,
            user,
            cmd.RecordDeparture,
            form,
            version_of(form, person),
            stakeholder_id=person,
        )

    return _post(request, user, account_id, "departure", form, send_it)


@router.post("/app/accounts/{account_id}/update/handover")
def hand_over(request: Request, account_id: UUID, user: PageWriter, form: Form) -> Response:
    """Hands the account to another manager (with the reason)."""
    send_it = _account_form(request, account_id, user, form, cmd.HandOver)
    return _post(request, user, account_id, "handover", form, send_it)


@router.post("/app/accounts/{account_id}/update/handover/acknowledge")
def acknowledge_handover(
    request: Request, account_id: UUID, user: PageWriter, form: Form
) -> Response:
    """The incoming manager acknowledges the handover."""
    send_it = _account_form(request, account_id, user, form, cmd.AcknowledgeHandover)
    return _post(request, user, account_id, "acknowledge", form, send_it)
