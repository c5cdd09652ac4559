"""My work: the signed-in manager's start page — their overdue and due-soon actions, the
people of their accounts not contacted within the service profile's cadence, handovers
waiting for their acknowledgement, plan reviews and re-evaluations due (the digest,
``kam_api.digest.build``) — each with its one-form action inline: complete or reschedule an
action, log an interaction, acknowledge a handover."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from kam_api.auth import User
from kam_api.digest.build import manager_digest
from kam_api.web.auth import Form, PageWriter
from kam_api.web.forms import FormRefusedError, explain
from kam_api.web.routes.work_forms import (
    SENTIMENTS,
    Posted,
    kam_of,
    log_head,
    posted,
    submit_form,
    version_of,
    views_of,
)
from kam_api.web.templating import pages_of
from kam_domain import commands as cmd
from kam_domain.account_plans import AccountPlan
from kam_domain.errors import KamError
from kam_domain.relationships import Relationship
from kam_domain.values import InteractionKind
from kam_projections.owners import owned_by

router = APIRouter(include_in_schema=False)

#: "Due soon" on my work: due within this many days (no setting says otherwise).
SOON_DAYS = 14
DONE = {
    "complete": "Action completed",
    "reschedule": "Action rescheduled",
    "interaction": "Interaction logged",
    "acknowledge": "Handover acknowledged",
}
Done = Literal["complete", "reschedule", "interaction", "acknowledge"]


def _action_plans(request: Request, account_ids: set[UUID]) -> dict[UUID, tuple[UUID, int]]:
    """The plan (and its version) of every action of these accounts: what a form about an
    action names and expects."""
    kam, views = kam_of(request), views_of(request)
    found: dict[UUID, tuple[UUID, int]] = {}
    for account_id in account_ids:
        for plan_id in owned_by(views, account_id, "AccountPlan"):
            plan = kam.get_plan(plan_id)
            for action in plan.actions.values():
                found[action.id] = (plan.id, plan.version)
    return found


def work_page(
    request: Request, user: User, *, sent: Posted | None = None, done: str | None = None
) -> Response:
    """My work (with a refused form shown again, or the notice of one that worked)."""
    seen = log_head(request)  # before reading: a change after it is "what changed" later
    kam = kam_of(request)
    today = request.app.state.settings.clock()
    digest = manager_digest(kam, views_of(request), user.name, today=today, within_days=SOON_DAYS)
    listed = [*digest.overdue_actions, *digest.actions_due_soon]
    plans = _action_plans(request, {UUID(str(a.account_id)) for a in listed})
    shown: set[str] = set()

    def actions(items: list[Any]) -> list[dict[str, Any]]:
        rows = []
        for item in items:
            plan = plans.get(item.action_id)
            if plan is not None:
                shown.update({f"complete-{item.action_id}", f"reschedule-{item.action_id}"})
            rows.append({"item": item, "plan": plan})
        return rows

    contacts = []
    for group in digest.contacts_overdue:
        people = []
        for person in group.people:
            version = kam.get_stakeholder(person.stakeholder_id).version
            shown.add(f"interaction-{person.stakeholder_id}")
            people.append({"item": person, "version": version})
        contacts.append({"group": group, "people": people})
    handovers = []
    for handover in digest.handovers_to_acknowledge:
        shown.add(f"acknowledge-{handover.account_id}")
        version = kam.get_account(handover.account_id).version
        handovers.append({"item": handover, "version": version})
    context: dict[str, Any] = {
        "title": "My work",
        "digest": digest,
        "overdue": actions(digest.overdue_actions),
        "soon": actions(digest.actions_due_soon),
        "contacts": contacts,
        "handovers": handovers,
        "contact_count": sum(len(group.people) for group in digest.contacts_overdue),
        "soon_days": SOON_DAYS,
        "seen": seen,
        "posted": sent,
        "shown": shown,
        "notice": DONE.get(done or ""),
        "kinds": [k.value for k in InteractionKind],
        "sentiments": SENTIMENTS,
    }
    status = sent.refusal.status if sent else 200
    return pages_of(request).render(request, "my_work/page.html", context, status=status)


@router.get("/app/my-work")
def my_work(
    request: Request, user: PageWriter, done: Annotated[Done | None, Query()] = None
) -> Response:
    """What needs the signed-in manager's attention today, with its forms."""
    return work_page(request, user, done=done)


def _post(
    request: Request,
    user: User,
    name: str,
    form: FormData,
    account_of: Callable[[], UUID],
    send_it: Callable[[], object],
) -> Response:
    """Sends one inline form: back to my work with a notice, or my work again with the
    refusal beside the form (and what changed, when it was stale)."""
    account_id: UUID | None = None
    try:
        try:
            account_id = account_of()
            send_it()
        except KamError as error:
            raise FormRefusedError(explain(error)) from None
    except FormRefusedError as refused:
        sent = posted(request, name, form, refused.refusal, account_id)
        return work_page(request, user, sent=sent)
    return RedirectResponse(f"/app/my-work?done={name.split('-')[0]}", status_code=303)


@router.post("/app/my-work/actions/{plan_id}/{action_id}/complete")
def complete_action(
    request: Request, plan_id: UUID, action_id: UUID, user: PageWriter, form: Form
) -> Response:
    """Completes the action with its outcome."""
    return _post(
        request,
        user,
        f"complete-{action_id}",
        form,
        lambda: kam_of(request).load(AccountPlan, plan_id, fresh=False).account_id,
        lambda: submit_form(
            request,
            user,
            cmd.CompleteAction,
            form,
            version_of(form),
            plan_id=plan_id,
            action_id=action_id,
        ),
    )


@router.post("/app/my-work/actions/{plan_id}/{action_id}/reschedule")
def reschedule_action(
    request: Request, plan_id: UUID, action_id: UUID, user: PageWriter, form: Form
) -> Response:
    """Moves the action's due date, with the reason."""
    return _post(
        request,
        user,
        f"reschedule-{action_id}",
        form,
        lambda: kam_of(request).load(AccountPlan, plan_id, fresh=False).account_id,
        lambda: submit_form(
            request,
            user,
            cmd.RescheduleAction,
            form,
            version_of(form),
            plan_id=plan_id,
            action_id=action_id,
        ),
    )


@router.post("/app/my-work/people/{stakeholder_id}/interaction")
def log_interaction(
    request: Request, stakeholder_id: UUID, user: PageWriter, form: Form
) -> Response:
    """Logs a contact with the person."""
    return _post(
        request,
        user,
        f"interaction-{stakeholder_id}",
        form,
        lambda: kam_of(request).load(Relationship, stakeholder_id, fresh=False).account_id,
        lambda: submit_form(
            request,
            user,
            cmd.LogInteraction,
            form,
            version_of(form),
            stakeholder_id=stakeholder_id,
        ),
    )


@router.post("/app/my-work/handovers/{account_id}/acknowledge")
def acknowledge_handover(
    request: Request, account_id: UUID, user: PageWriter, form: Form
) -> Response:
    """Acknowledges the handover of the account to the signed-in manager."""
    return _post(
        request,
        user,
        f"acknowledge-{account_id}",
        form,
        lambda: kam_of(request).get_account(account_id).id,
        lambda: submit_form(
            request,
            user,
            cmd.AcknowledgeHandover,
            form,
            version_of(form),
            account_id=account_id,
        ),
    )
