"""Relationship health: the facts the explainable model needs, per account, and the latest
score for lists and the portfolio.

Facts (stakeholders, interactions, feedback, assessments, actions, reviews) are updated event by
event. The stored score (``rm_health``) is recomputed for every account a batch touched, with
"today" from the projector's clock, and for every account when the date moves on
(``refresh_health``), so a relationship nobody touches turns amber and then red without any
new event. ``account_health`` computes the score for any "today" straight from the facts.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any
from uuid import UUID

from kam_domain.values import (
    BuyingRole,
    Disposition,
    EngagementLevel,
    ServiceProfile,
)
from kam_projections.db import Dialect, Tx, ViewDatabase
from kam_projections.health_model import (
    ENGAGED_DAYS,
    ActionFacts,
    AssessmentFacts,
    FeedbackFacts,
    HealthInputs,
    HealthReport,
    HealthWeights,
    InteractionFacts,
    StakeholderFacts,
    compute_health,
)
from kam_projections.pagination import InvalidCursorError, Page, decode_cursor, encode_cursor
from kam_projections.tables import Event, ReadModel, iso

TREND_POINTS = 12  # month ends
RECENT_DAYS = 90  # the model looks at interactions of the last 90 days (recency uses the
# stakeholders' own last-contact dates)


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
        self.indexes = [
            ("rm_health_stakeholders_account", "rm_health_stakeholders", "account_id"),
            ("rm_health_interactions_account", "rm_health_interactions", "account_id, on_date"),
            ("rm_health_feedback_account", "rm_health_feedback", "account_id, position"),
            ("rm_health_actions_account", "rm_health_actions", "account_id"),
            ("rm_health_band", "rm_health", "band, score"),
        ]
        self.dirty_accounts: set[str] = set()
        self.defer_scores = False  # a rebuild scores every account once, at the end

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
        ]

    def apply(self, tx: Tx, event: Event, account_id: UUID | None) -> None:
        if account_id is None:
            return
        account = str(account_id)
        name, data = event.name, event.data
        if name == "KeyAccount.Registered":
            profile = data["service_profile"]
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
        elif name == "KeyAccount.FeedbackRecorded":
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
        elif name == "KeyAccount.RelationshipAssessed":
            self._update_account(tx, account, event.day, assessment=data)
        elif name == "KeyAccount.Exited":
            self._update_account(tx, account, None, exited=True)
        elif name == "AccountPlan.Reviewed":
            self._update_account(tx, account, event.day)
        elif name.startswith("AccountPlan.Action"):
            self._apply_action(tx, event, account)
        elif event.aggregate_type == "Relationship":
            self._apply_relationship(tx, event, account)
        else:
            return
        self.dirty_accounts.add(account)

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
        if assessment is not None:
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

    def _apply_action(self, tx: Tx, event: Event, account: str) -> None:
        data = event.data
        action_id = str(data["action_id"])
        if event.event_type == "ActionAdded":
            self.actions.put(
                {
                    "action_id": action_id,
                    "account_id": account,
                    "due_on": iso(data["due_on"]),
                    "open": 1,
                }
            )
            return
        row = self.actions.get(tx, action_id)
        if row is None:
            return
        row = dict(row)
        if event.event_type == "ActionRescheduled":
            row["due_on"] = iso(data["due_on"])
        elif event.event_type in ("ActionCompleted", "ActionCancelled"):
            row["open"] = 0
        self.actions.put(row)

    def _apply_relationship(self, tx: Tx, event: Event, account: str) -> None:
        data, stakeholder_id = event.data, str(event.aggregate_id)
        if event.event_type == "Identified":
            self.stakeholders.put(
                {
                    "stakeholder_id": stakeholder_id,
                    "account_id": account,
                    "buying_role": data["buying_role"].value,
                    "influence": data["influence"],
                    "disposition": Disposition.NEUTRAL.value,
                    "last_interaction_on": None,
                    "left_on": None,
                    "successor_id": None,
                }
            )
            return
        found = self.stakeholders.get(tx, stakeholder_id)
        if found is None:
            return
        row = dict(found)
        if event.event_type == "DispositionChanged":
            row["disposition"] = data["disposition"].value
        elif event.event_type == "RoleChanged":
            row["buying_role"] = data["buying_role"].value
            row["influence"] = data["influence"]
        elif event.event_type == "InteractionLogged":
            on = data["on"].isoformat()
            self.interactions.put(
                {
                    "interaction_id": str(data["interaction_id"]),
                    "stakeholder_id": stakeholder_id,
                    "account_id": account,
                    "on_date": on,
                    "sentiment": data["sentiment"],
                }
            )
            if row["last_interaction_on"] is None or on > row["last_interaction_on"]:
                row["last_interaction_on"] = on
        elif event.event_type == "LeftCompany":
            row["left_on"] = data["left_on"].isoformat()
            row["successor_id"] = str(data["successor_id"]) if data.get("successor_id") else None
        else:
            return
        self.stakeholders.put(row)

    def finish(self, tx: Tx, today: date) -> None:
        for table in self.tables:
            if table is not self.scores:
                table.flush(tx)
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
        for chunk_start in range(0, len(accounts), 500):
            chunk = list(accounts[chunk_start : chunk_start + 500])
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
    history_from: date | None = None,
) -> dict[str, HealthInputs]:
    """The model's inputs for these accounts, read from the fact tables. With ``today``, only
    what a score as of that day uses (the last 90 days of interactions, open actions); with
    ``history_from``, what scores as of any day from ``history_from + 90 days`` on use (the
    interactions since ``history_from``, and each person's last one before it); with neither,
    everything."""
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
    # Before ``history_from`` only each person's latest contact matters (for "last contact as
    # of a day"); its sentiment never counts, as every sentiment window starts later.
    earlier = "SELECT NULL AS account_id WHERE 1 = 0"
    if history_from is not None:
        params = {**params, "history_from": history_from.isoformat()}
        recent = "AND on_date >= :history_from"
        earlier = (
            f"SELECT account_id, stakeholder_id, MAX(on_date) AS on_date "
            f"FROM rm_health_interactions{suffix} WHERE account_id IN ({placeholders}) "
            "AND on_date < :history_from GROUP BY account_id, stakeholder_id"
        )
    # Independent reads: one round trip on PostgreSQL.
    people, before, interactions, feedback, actions, infos = tx.batch(
        [
            (select("rm_health_stakeholders"), params),
            (earlier, params),
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
    for r in before:
        by_account[r["account_id"]]["interactions"].append(
            InteractionFacts(r["stakeholder_id"], date.fromisoformat(r["on_date"]), 0)
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


# --- Queries ----------------------------------------------------------------------------


def _month_ends(today: date, count: int) -> list[date]:
    points, current = [], today
    for _ in range(count):
        points.append(current)
        current = current.replace(day=1) - timedelta(days=1)
    return list(reversed(points))


def account_health(
    views: ViewDatabase, account_id: UUID, *, today: date, weights: HealthWeights | None = None
) -> dict[str, Any] | None:
    """Score, band, components, flags as of ``today`` and the trend over the last 12 months;
    None for an account the health model does not know."""
    days = _month_ends(today, TREND_POINTS)
    history_from = days[0] - timedelta(days=ENGAGED_DAYS)
    with views.read() as tx:
        inputs = load_inputs(tx, [str(account_id)], history_from=history_from).get(str(account_id))
        known = tx.one(
            "SELECT account_id FROM rm_health_accounts WHERE account_id = :a",
            {"a": str(account_id)},
        )
    if inputs is None or known is None:
        return None
    weights = weights or HealthWeights()
    report = compute_health(inputs, today, weights)
    trend = [
        {"on": day.isoformat(), "score": point.score, "band": point.band}
        for day in days
        if (point := compute_health(inputs, day, weights))
    ]
    row = score_row(str(account_id), report)
    return {
        **row,
        "components": json.loads(row["components"]),
        "flags": json.loads(row["flags"]),
        "trend": trend,
    }


def health_list(
    views: ViewDatabase, *, band: str | None = None, limit: int = 50, cursor: str | None = None
) -> Page:
    """Stored scores, weakest first (then by account id), optionally of one band."""
    clauses: list[str] = []
    params: dict[str, Any] = {"limit": limit + 1}
    if band:
        clauses.append("band = :band")
        params["band"] = band
    if cursor:
        values = decode_cursor(cursor)
        if len(values) != 2:
            raise InvalidCursorError("cursor is not valid for this list")
        clauses.append("(score > :c_score OR (score = :c_score AND account_id > :c_id))")
        params["c_score"], params["c_id"] = int(values[0]), str(values[1])
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    rows = views.query(
        f"SELECT * FROM rm_health {where} ORDER BY score, account_id LIMIT :limit", params
    )
    more = len(rows) > limit
    rows = rows[:limit]
    items = [
        {**r, "components": json.loads(r["components"]), "flags": json.loads(r["flags"])}
        for r in rows
    ]
    next_cursor = encode_cursor([rows[-1]["score"], rows[-1]["account_id"]]) if more else None
    return Page(items=items, next_cursor=next_cursor)


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
