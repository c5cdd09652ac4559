"""Relationship health: the facts the explainable model needs, per account, and the latest
score for lists and the portfolio.

Facts (stakeholders, interactions, feedback, assessments, actions, reviews) are updated event by
event. The stored score (``rm_health``) is recomputed for every account a batch touched, with
"today" from the projector's clock, and for every account when the date moves on
(``refresh_health``), so a relationship nobody touches turns amber and then red without any
new event (read back into the model's inputs by ``health_facts.load_inputs``).

Every such event is also logged with the day it happened (``rm_health_log``, see
``health_history``): ``health_reads.account_health`` computes one account's health as of any
day, and its trend, from the facts dated up to that day, so a past day's health is what the
history said then, and there is none before the account's registration.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from typing import Any
from uuid import UUID

from kam_domain.values import Disposition, EngagementLevel, ServiceProfile
from kam_projections.db import Dialect, Tx, ViewDatabase
from kam_projections.events import AccountPlan, KeyAccount, Relationship
from kam_projections.health_facts import load_inputs
from kam_projections.health_history import fact_row
from kam_projections.health_model import (
    HealthReport,
    HealthWeights,
    compute_health,
)
from kam_projections.tables import Event, ReadModel, iso

TREND_POINTS = 12  # month ends
#: Accounts scored from one read of their facts (all their stakeholders, feedback and open
#: actions). A rebuild scores every account at its end; with 500 per read, the 1,000,000-event
#: rebuild's RSS was ~180 MB two minutes in and peaked at 313 MB.
SCORE_CHUNK = 50


class HealthModel(ReadModel):
    name = "health"

    def __init__(self, weights: HealthWeights | None = None) -> None:
        super().__init__()
        self.weights = weights or HealthWeights()
        self.accounts = self.table(
            "rm_health_accounts",
            ["account_id"],
            [
                "account_id",
                "registered_on",
                "review_cadence_days",
                "last_review_on",
                "assessment_on",
                "engagement",
                "trust",
                "satisfaction",
                "partner_rating",
                "exited",
            ],
        )
        self.stakeholders = self.table(
            "rm_health_stakeholders",
            ["stakeholder_id"],
            [
                "stakeholder_id",
                "account_id",
                "buying_role",
                "influence",
                "disposition",
                "last_interaction_on",
                "left_on",
                "successor_id",
            ],
        )
        self.interactions = self.table(
            "rm_health_interactions",
            ["interaction_id"],
            ["interaction_id", "stakeholder_id", "account_id", "on_date", "sentiment"],
        )
        self.feedback = self.table(
            "rm_health_feedback",
            ["feedback_id"],
            ["feedback_id", "account_id", "on_date", "position", "nps", "csat"],
        )
        self.actions = self.table(
            "rm_health_actions", ["action_id"], ["action_id", "account_id", "due_on", "open"]
        )
        self.scores = self.table(
            "rm_health",
            ["account_id"],
            ["account_id", "as_of", "score", "band", "components", "flags"],
        )
        self.log = self.append_only(
            "rm_health_log",
            ["position"],
            ["position", "account_id", "on_date", "kind", "subject", "data"],
        )
        self.indexes = [
            ("rm_health_stakeholders_account", "rm_health_stakeholders", "account_id"),
            ("rm_health_interactions_account", "rm_health_interactions", "account_id, on_date"),
            ("rm_health_feedback_account", "rm_health_feedback", "account_id, position"),
            ("rm_health_actions_account", "rm_health_actions", "account_id"),
            ("rm_health_band", "rm_health", "band, score"),
            ("rm_health_log_account", "rm_health_log", "account_id, on_date, position"),
        ]
        self.dirty_accounts: set[str] = set()
        self.defer_scores = False  # a rebuild scores every account once, at the end

    def parameters(self) -> str:
        return repr(self.weights)  # stored scores are weighted

    def fresh(self) -> HealthModel:
        return type(self)(self.weights)

    def ddl(self, dialect: Dialect, suffix: str) -> list[str]:
        big = "BIGINT" if dialect == "postgres" else "INTEGER"
        return [
            f"CREATE TABLE IF NOT EXISTS rm_health_accounts{suffix} (account_id TEXT PRIMARY KEY, "
            "registered_on TEXT, review_cadence_days INTEGER NOT NULL, last_review_on TEXT, "
            "assessment_on TEXT, engagement TEXT, trust INTEGER, satisfaction INTEGER, "
            "partner_rating INTEGER, exited INTEGER NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS rm_health_stakeholders{suffix} ("
            "stakeholder_id TEXT PRIMARY KEY, account_id TEXT NOT NULL, buying_role TEXT NOT NULL, "
            "influence INTEGER NOT NULL, disposition TEXT NOT NULL, last_interaction_on TEXT, "
            "left_on TEXT, successor_id TEXT)",
            f"CREATE TABLE IF NOT EXISTS rm_health_interactions{suffix} ("
            "interaction_id TEXT PRIMARY KEY, stakeholder_id TEXT NOT NULL, "
            "account_id TEXT NOT NULL, on_date TEXT NOT NULL, sentiment INTEGER NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS rm_health_feedback{suffix} (feedback_id TEXT PRIMARY KEY, "
            f"account_id TEXT NOT NULL, on_date TEXT NOT NULL, position {big} NOT NULL, "
            "nps INTEGER, csat INTEGER)",
            f"CREATE TABLE IF NOT EXISTS rm_health_actions{suffix} (action_id TEXT PRIMARY KEY, "
            "account_id TEXT NOT NULL, due_on TEXT NOT NULL, open INTEGER NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS rm_health{suffix} (account_id TEXT PRIMARY KEY, "
            "as_of TEXT NOT NULL, score INTEGER NOT NULL, band TEXT NOT NULL, "
            "components TEXT NOT NULL, flags TEXT NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS rm_health_log{suffix} (position {big} PRIMARY KEY, "
            "account_id TEXT NOT NULL, on_date TEXT NOT NULL, kind TEXT NOT NULL, "
            "subject TEXT NOT NULL, data TEXT NOT NULL)",
        ]

    def apply(self, tx: Tx, event: Event, account_id: UUID | None) -> None:
        """Applies one event; an account any reaction touched is re-scored at the batch's
        end."""
        reaction = self.reactions.get(event.cls)
        if reaction is not None and account_id is not None:
            account = str(account_id)
            reaction(self, tx, event, account)
            self.dirty_accounts.add(account)
            logged = fact_row(event)
            if logged is not None:
                self.log.add(
                    {
                        "position": logged.position,
                        "account_id": account,
                        "on_date": logged.on.isoformat(),
                        "kind": logged.kind,
                        "subject": logged.subject,
                        "data": json.dumps(dict(logged.data), sort_keys=True),
                    }
                )

    # --- Reactions (the table is ``reactions``, below) ----------------------------------

    def _registered(self, tx: Tx, event: Event, account: str) -> None:
        profile = event.data["service_profile"]
        cadence = profile.review_cadence_days if isinstance(profile, ServiceProfile) else 60
        self.accounts.put(
            {
                "account_id": account,
                "registered_on": event.day.isoformat(),
                "review_cadence_days": cadence,
                "last_review_on": None,
                "assessment_on": None,
                "engagement": None,
                "trust": None,
                "satisfaction": None,
                "partner_rating": None,
                "exited": 0,
            }
        )

    def _feedback_recorded(self, tx: Tx, event: Event, account: str) -> None:
        data = event.data
        self.feedback.put(
            {
                "feedback_id": str(data["feedback_id"]),
                "account_id": account,
                "on_date": event.day.isoformat(),
                "position": event.position,
                "nps": data.get("nps"),
                "csat": data.get("csat"),
            }
        )

    def _relationship_assessed(self, tx: Tx, event: Event, account: str) -> None:
        self._update_account(tx, account, event.day, assessment=event.data)

    def _exited(self, tx: Tx, event: Event, account: str) -> None:
        self._update_account(tx, account, None, exited=True)

    def _service_profile_changed(self, tx: Tx, event: Event, account: str) -> None:
        """The review cadence follows the new profile (the contact cadence is read from the
        portfolio's profile, ``kam_projections.cadence``)."""
        row = self.accounts.get(tx, account)
        if row is not None:
            cadence = event.data["service_profile"].review_cadence_days
            self.accounts.put({**row, "review_cadence_days": cadence})

    def _plan_reviewed(self, tx: Tx, event: Event, account: str) -> None:
        self._update_account(tx, account, event.day)

    def _action_added(self, tx: Tx, event: Event, account: str) -> None:
        data = event.data
        self.actions.put(
            {
                "action_id": str(data["action_id"]),
                "account_id": account,
                "due_on": iso(data["due_on"]),
                "open": 1,
            }
        )

    def _action_rescheduled(self, tx: Tx, event: Event, account: str) -> None:
        self._update_action(tx, event, due_on=iso(event.data["due_on"]))

    def _action_closed(self, tx: Tx, event: Event, account: str) -> None:
        """Completed or cancelled: no longer open, so never overdue."""
        self._update_action(tx, event, open=0)

    def _identified(self, tx: Tx, event: Event, account: str) -> None:
        self.stakeholders.put(
            {
                "stakeholder_id": str(event.aggregate_id),
                "account_id": account,
                "buying_role": event.data["buying_role"].value,
                "influence": event.data["influence"],
                "disposition": Disposition.NEUTRAL.value,
                "last_interaction_on": None,
                "left_on": None,
                "successor_id": None,
            }
        )

    def _disposition_changed(self, tx: Tx, event: Event, account: str) -> None:
        self._update_stakeholder(tx, event, disposition=event.data["disposition"].value)

    def _role_changed(self, tx: Tx, event: Event, account: str) -> None:
        data = event.data
        self._update_stakeholder(
            tx, event, buying_role=data["buying_role"].value, influence=data["influence"]
        )

    def _interaction_logged(self, tx: Tx, event: Event, account: str) -> None:
        found = self.stakeholders.get(tx, str(event.aggregate_id))
        if found is None:
            return
        data = event.data
        on = data["on"].isoformat()
        self.interactions.put(
            {
                "interaction_id": str(data["interaction_id"]),
                "stakeholder_id": str(event.aggregate_id),
                "account_id": account,
                "on_date": on,
                "sentiment": data["sentiment"],
            }
        )
        if found["last_interaction_on"] is None or on > found["last_interaction_on"]:
            self.stakeholders.put({**found, "last_interaction_on": on})

    def _left_company(self, tx: Tx, event: Event, account: str) -> None:
        data = event.data
        successor = str(data["successor_id"]) if data.get("successor_id") else None
        self._update_stakeholder(
            tx, event, left_on=data["left_on"].isoformat(), successor_id=successor
        )

    def _touched(self, tx: Tx, event: Event, account: str) -> None:
        """No fact changes, but the account is re-scored as of the batch's day all the same."""

    reactions = {
        KeyAccount.Registered: _registered,
        KeyAccount.FeedbackRecorded: _feedback_recorded,
        KeyAccount.RelationshipAssessed: _relationship_assessed,
        KeyAccount.Exited: _exited,
        KeyAccount.ServiceProfileChanged: _service_profile_changed,
        AccountPlan.Reviewed: _plan_reviewed,
        AccountPlan.ActionAdded: _action_added,
        AccountPlan.ActionRescheduled: _action_rescheduled,
        AccountPlan.ActionCompleted: _action_closed,
        AccountPlan.ActionCancelled: _action_closed,
        AccountPlan.ActionStarted: _touched,
        AccountPlan.ActionBlocked: _touched,
        AccountPlan.ActionUnblocked: _touched,
        AccountPlan.ActionReassigned: _touched,
        Relationship.Identified: _identified,
        Relationship.DispositionChanged: _disposition_changed,
        Relationship.RoleChanged: _role_changed,
        Relationship.InteractionLogged: _interaction_logged,
        Relationship.LeftCompany: _left_company,
        Relationship.OwnerAssigned: _touched,
        Relationship.CommitmentMade: _touched,
        Relationship.CommitmentFulfilled: _touched,
        Relationship.PersonalDataErased: _touched,
    }

    def _update_account(
        self,
        tx: Tx,
        account: str,
        reviewed_on: date | None,
        *,
        assessment: dict[str, Any] | None = None,
        exited: bool = False,
    ) -> None:
        row = self.accounts.get(tx, account)
        if row is None:
            return
        row = dict(row)
        if reviewed_on is not None and (
            row["last_review_on"] is None or reviewed_on.isoformat() > row["last_review_on"]
        ):
            row["last_review_on"] = reviewed_on.isoformat()
        on = reviewed_on.isoformat() if reviewed_on else None
        if assessment is not None and (
            row["assessment_on"] is None or (on or "") >= row["assessment_on"]
        ):
            # The latest assessment is the one that happened last (as in ``health_history``).
            engagement = assessment["engagement"]
            row.update(
                assessment_on=reviewed_on.isoformat() if reviewed_on else None,
                engagement=engagement.value if isinstance(engagement, EngagementLevel) else None,
                trust=assessment["trust"],
                satisfaction=assessment["satisfaction"],
                partner_rating=assessment["partner_rating"],
            )
        if exited:
            row["exited"] = 1
        self.accounts.put(row)

    def _update_action(self, tx: Tx, event: Event, **values: Any) -> None:
        found = self.actions.get(tx, str(event.data["action_id"]))
        if found is not None:
            self.actions.put({**found, **values})

    def _update_stakeholder(self, tx: Tx, event: Event, **values: Any) -> None:
        found = self.stakeholders.get(tx, str(event.aggregate_id))
        if found is not None:
            self.stakeholders.put({**found, **values})

    def finish(self, tx: Tx, today: date) -> None:
        for table in self.tables:
            if table is not self.scores:
                table.flush(tx)
        self.log.flush(tx)
        if not self.defer_scores and self.dirty_accounts:
            self.score(tx, sorted(self.dirty_accounts), today)
        self.scores.flush(tx)

    def committed(self) -> None:
        super().committed()
        if not self.defer_scores:
            self.dirty_accounts.clear()

    def forget(self) -> None:
        super().forget()
        self.dirty_accounts.clear()

    def score(self, tx: Tx, accounts: Sequence[str], today: date) -> None:
        """Recomputes and stores the score of these accounts as of ``today``."""
        suffix = self.scores.suffix
        for chunk_start in range(0, len(accounts), SCORE_CHUNK):
            chunk = list(accounts[chunk_start : chunk_start + SCORE_CHUNK])
            for account, inputs in load_inputs(tx, chunk, suffix, today=today).items():
                report = compute_health(inputs, today, self.weights)
                self.scores.put(score_row(account, report))


def score_row(account: str, report: HealthReport) -> dict[str, Any]:
    return {
        "account_id": account,
        "as_of": report.as_of.isoformat(),
        "score": report.score,
        "band": report.band,
        "components": json.dumps(
            [
                {"name": c.name, "value": c.value, "weight": c.weight, "explanation": c.explanation}
                for c in report.components
            ]
        ),
        "flags": json.dumps(list(report.flags)),
    }


def refresh_health(views: ViewDatabase, model: HealthModel, today: date) -> int:
    """Re-scores every account whose stored score is older than ``today``; returns how many."""
    with views.transaction() as tx:
        stale = [
            r["account_id"]
            for r in tx.execute(
                "SELECT account_id FROM rm_health WHERE as_of < :today",
                {"today": today.isoformat()},
            )
        ]
        model.score(tx, stale, today)
        model.scores.flush(tx)
    model.scores.committed()
    return len(stale)
