"""The relationship-health facts read back from the health read model's tables
(``rm_health_*``, written by ``health.HealthModel``) as the pure model's inputs
(``health_model.HealthInputs``), for many accounts in one round trip."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from kam_domain.values import BuyingRole, Disposition, EngagementLevel
from kam_projections.db import Tx
from kam_projections.health_model import (
    ActionFacts,
    AssessmentFacts,
    FeedbackFacts,
    HealthInputs,
    InteractionFacts,
    StakeholderFacts,
)

RECENT_DAYS = 90  # the model looks at interactions of the last 90 days (recency uses the
# stakeholders' own last-contact dates)


def _in(prefix: str, values: Sequence[str]) -> tuple[str, dict[str, Any]]:
    names = [f"{prefix}{i}" for i in range(len(values))]
    return ", ".join(f":{n}" for n in names), dict(zip(names, values, strict=True))


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def load_inputs(
    tx: Tx,
    accounts: Sequence[str],
    suffix: str = "",
    *,
    today: date | None = None,
) -> dict[str, HealthInputs]:
    """The model's inputs for these accounts, read from the fact tables (the facts as they
    are now, for the stored scores; ``health_history`` answers any past day). With
    ``today``, only what a score as of that day uses (the last 90 days of interactions, open
    actions); without, everything."""
    if not accounts:
        return {}
    placeholders, params = _in("a", accounts)
    by_account: dict[str, dict[str, list[Any]]] = {
        a: {"stakeholders": [], "interactions": [], "feedback": [], "actions": []} for a in accounts
    }

    def select(table: str, order: str = "", where: str = "") -> str:
        return f"SELECT * FROM {table}{suffix} WHERE account_id IN ({placeholders}) {where} {order}"

    recent = ""
    open_only = ""
    if today is not None:
        params = {**params, "recent_from": (today - timedelta(days=RECENT_DAYS)).isoformat()}
        recent = "AND on_date >= :recent_from"
        open_only = "AND open = 1"
    # Independent reads: one round trip on PostgreSQL.
    people, interactions, feedback, actions, infos = tx.batch(
        [
            (select("rm_health_stakeholders"), params),
            (select("rm_health_interactions", where=recent), params),
            (select("rm_health_feedback", "ORDER BY position"), params),
            (select("rm_health_actions", where=open_only), params),
            (select("rm_health_accounts"), params),
        ]
    )
    for r in people:
        by_account[r["account_id"]]["stakeholders"].append(
            StakeholderFacts(
                r["stakeholder_id"],
                BuyingRole(r["buying_role"]),
                r["influence"],
                Disposition(r["disposition"]),
                _day(r["last_interaction_on"]),
                _day(r["left_on"]),
                r["successor_id"],
            )
        )
    for r in interactions:
        by_account[r["account_id"]]["interactions"].append(
            InteractionFacts(r["stakeholder_id"], date.fromisoformat(r["on_date"]), r["sentiment"])
        )
    for r in feedback:
        by_account[r["account_id"]]["feedback"].append(
            FeedbackFacts(date.fromisoformat(r["on_date"]), r["nps"], r["csat"])
        )
    for r in actions:
        by_account[r["account_id"]]["actions"].append(
            ActionFacts(date.fromisoformat(r["due_on"]), bool(r["open"]))
        )
    accounts_rows = {r["account_id"]: r for r in infos}
    result: dict[str, HealthInputs] = {}
    for account, facts in by_account.items():
        info = accounts_rows.get(account)
        assessment = None
        if info and info["engagement"]:
            assessment = AssessmentFacts(
                date.fromisoformat(info["assessment_on"]),
                EngagementLevel(info["engagement"]),
                info["trust"],
                info["satisfaction"],
                info["partner_rating"],
            )
        result[account] = HealthInputs(
            stakeholders=tuple(facts["stakeholders"]),
            interactions=tuple(facts["interactions"]),
            feedback=tuple(facts["feedback"]),
            latest_assessment=assessment,
            actions=tuple(facts["actions"]),
            last_review_on=_day(info["last_review_on"]) if info else None,
            review_cadence_days=info["review_cadence_days"] if info else 60,
            registered_on=_day(info["registered_on"]) if info else None,
        )
    return result
