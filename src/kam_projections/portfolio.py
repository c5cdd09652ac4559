"""Portfolio: one row per key account for the director's view, kept from the events.

Revenue share, cumulative share, Pareto rank and the top-20 % flag depend on every account's
revenue, so they are recomputed for the whole portfolio whenever a batch changed any revenue
(once, at the end, in a rebuild). Health comes from the health model; open and overdue actions
from the action model, worked out against "today" when read.

Money (``money.py``): revenue, won cross-sell and upsell, and revenue at risk are converted to
the reporting currency with dated rates (``ExchangeRate.Recorded``, kept in ``rm_fx_rates``)
whenever revenue, a win, a risk or a rate changed, in the same pass as the ranking; an amount
with no usable rate stays unconverted (``revenue`` None, listed in ``unconverted_won``, or
``revenue_at_risk_converted`` None) and is never summed. The Pareto share, rank and top-20 %
flag count only accounts whose converted revenue is above zero.
"Last period" is the latest by time (``Period``); a stored label that names no one period
(e.g. ``FY2025``) is kept in ``unordered_periods`` and takes no part in it.

Read by ``portfolio_reads.py``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import date, timedelta
from typing import Any
from uuid import UUID

from kam_domain.cadence import reevaluation_due_on
from kam_domain.values import OpportunityKind, Period, ReevaluationDecision, ServiceProfile
from kam_projections.db import Dialect, Tx
from kam_projections.events import AccountPlan, ExchangeRate, KeyAccount, Relationship
from kam_projections.money import (
    RATE_COLUMNS,
    Rates,
    at_risk_by_account,
    won_by_account,
)
from kam_projections.pareto import DERIVED, revenue_ranking
from kam_projections.tables import Event, ReadModel, bigint, iso, real

COLUMNS = (
    "account_id",
    "name",
    "industry",
    "region",
    "service_profile",
    "review_cadence_days",
    "tier",
    "kind",
    "manager",
    "stage",
    "attractiveness",
    "last_period",
    "last_revenue",
    "currency",
    "revenue_at_risk",
    "pending_handover_from",
    "pending_handover_to",
    "pending_handover_since",
    "exited",
    "registered_on",
    "last_review_on",
    "next_review_due",
    "last_interaction_on",
    "revenue_share",
    "cumulative_share",
    "pareto_rank",
    "top20",
    "last_reevaluation_decision",
    "last_reevaluation_on",
    "reevaluation_due_on",
    "exit_decided",
    # Money and KPIs (see the module docstring).
    "period_end",
    "revenue",
    "gross_margin",
    "unordered_periods",
    "cross_sell_won",
    "upsell_won",
    "unconverted_won",
    "revenue_at_risk_converted",
    "nps",
    "nps_on",
    "csat",
    "csat_on",
)
#: Won opportunities of these kinds count in ``cross_sell_won`` and ``upsell_won``.
_WON_KINDS = {
    OpportunityKind.CROSS_SELL.value: "cross_sell",
    OpportunityKind.UPSELL.value: "upsell",
}


class PortfolioModel(ReadModel):
    name = "portfolio"

    def __init__(self, reporting_currency: str = "EUR") -> None:
        super().__init__()
        self.reporting_currency = reporting_currency
        self.rows = self.table("rm_portfolio", ["account_id"], COLUMNS)
        self.rates = self.table(
            "rm_fx_rates", ["currency", "to_currency", "effective_on"], RATE_COLUMNS
        )
        self.wins = self.table(
            "rm_portfolio_wins",
            ["opportunity_id"],
            ["opportunity_id", "account_id", "kind", "value", "currency", "won_on"],
        )
        self.risks = self.table(
            "rm_portfolio_risks",
            ["risk_id"],
            ["risk_id", "account_id", "amount", "open", "currency", "raised_on"],
        )
        # Match the list sorts below, so a page is an index range scan, not a sort of every row.
        # No index holds the derived rank and share columns: re-ranking then rewrites rows
        # without touching any index (HOT updates), so it does not bloat them.
        self.indexes = [
            (
                "rm_portfolio_revenue",
                "rm_portfolio",
                "exited, (COALESCE(revenue, 0)) DESC, account_id",
            ),
            ("rm_portfolio_name", "rm_portfolio", "exited, name, account_id"),
            ("rm_portfolio_manager", "rm_portfolio", "manager"),
        ]
        self.revenue_changed = False  # set when ranks must be recomputed
        self.defer_shares = False  # a rebuild ranks the portfolio once, at the end

    def parameters(self) -> str:
        return self.reporting_currency  # stored amounts are converted to it

    def fresh(self) -> PortfolioModel:
        return type(self)(self.reporting_currency)

    def ddl(self, dialect: Dialect, suffix: str) -> list[str]:
        r = real(dialect)
        return [
            f"CREATE TABLE IF NOT EXISTS rm_portfolio{suffix} (account_id TEXT PRIMARY KEY, "
            "name TEXT NOT NULL, industry TEXT NOT NULL, region TEXT NOT NULL, "
            "service_profile TEXT NOT NULL, review_cadence_days INTEGER NOT NULL, tier TEXT, "
            "kind TEXT, manager TEXT, stage TEXT NOT NULL, attractiveness INTEGER, "
            f"last_period TEXT, last_revenue {r}, currency TEXT, revenue_at_risk {r} NOT NULL, "
            "pending_handover_from TEXT, pending_handover_to TEXT, pending_handover_since TEXT, "
            "exited INTEGER NOT NULL, registered_on TEXT NOT NULL, last_review_on TEXT, "
            "next_review_due TEXT NOT NULL, last_interaction_on TEXT, "
            f"revenue_share {r}, cumulative_share {r}, pareto_rank {bigint(dialect)}, top20 "
            "INTEGER NOT NULL, last_reevaluation_decision TEXT, last_reevaluation_on TEXT, "
            "reevaluation_due_on TEXT NOT NULL, exit_decided INTEGER NOT NULL, "
            f"period_end TEXT, revenue {r}, gross_margin {r}, "
            f"unordered_periods TEXT, cross_sell_won {r}, upsell_won {r}, unconverted_won TEXT, "
            f"revenue_at_risk_converted {r}, "
            "nps INTEGER, nps_on TEXT, csat INTEGER, csat_on TEXT)",
            f"CREATE TABLE IF NOT EXISTS rm_fx_rates{suffix} (currency TEXT NOT NULL, "
            "to_currency TEXT NOT NULL, effective_on TEXT NOT NULL, rate TEXT NOT NULL, "
            f"recorded_by TEXT NOT NULL, recorded_at TEXT NOT NULL, position {bigint(dialect)} "
            "NOT NULL, PRIMARY KEY (currency, to_currency, effective_on))",
            f"CREATE TABLE IF NOT EXISTS rm_portfolio_wins{suffix} (opportunity_id TEXT PRIMARY "
            f"KEY, account_id TEXT NOT NULL, kind TEXT NOT NULL, value {r} NOT NULL, "
            "currency TEXT, won_on TEXT)",
            f"CREATE TABLE IF NOT EXISTS rm_portfolio_risks{suffix} (risk_id TEXT PRIMARY KEY, "
            f"account_id TEXT NOT NULL, amount {r} NOT NULL, open INTEGER NOT NULL, "
            "currency TEXT, raised_on TEXT)",
        ]

    # --- Reactions (the table is ``reactions``, below) ----------------------------------

    def _registered(self, tx: Tx, event: Event, account: str) -> None:
        data = event.data
        profile: ServiceProfile = data["service_profile"]
        row: dict[str, Any] = dict.fromkeys(COLUMNS)
        row.update(
            account_id=account,
            name=data["name"],
            industry=data["industry"],
            region=data["region"],
            service_profile=profile.value,
            review_cadence_days=profile.review_cadence_days,
            stage="strategy",
            revenue_at_risk=0.0,
            exited=0,
            registered_on=event.day.isoformat(),
            top20=0,
            exit_decided=0,
        )
        self._set_review(row, None)
        self._set_reevaluation_due(row)
        self.rows.put(row)
        self.revenue_changed = True  # one more account: every rank and the top 20 % move

    def _reviewed(self, tx: Tx, event: Event, account: str) -> None:
        """A plan review or a formal assessment: the account was reviewed that day."""
        self._change(tx, account, lambda r: self._set_review(r, event.day))

    def _interaction_logged(self, tx: Tx, event: Event, account: str) -> None:
        on = event.data["on"].isoformat()
        self._change(
            tx,
            account,
            lambda r: r.update(last_interaction_on=max(on, r["last_interaction_on"] or on)),
        )

    def _classified(self, tx: Tx, event: Event, account: str) -> None:
        data = event.data
        self._set(tx, account, tier=data["tier"].value, kind=data["kind"].value)

    def _criteria_scored(self, tx: Tx, event: Event, account: str) -> None:
        self._set(tx, account, attractiveness=event.data["attractiveness"])

    def _manager_assigned(self, tx: Tx, event: Event, account: str) -> None:
        self._set(tx, account, manager=event.data["manager"])

    def _handed_over(self, tx: Tx, event: Event, account: str) -> None:
        data = event.data
        self._set(
            tx,
            account,
            manager=data["to_manager"],
            pending_handover_from=data["from_manager"],
            pending_handover_to=data["to_manager"],
            pending_handover_since=iso(data["effective_on"]),
        )

    def _handover_acknowledged(self, tx: Tx, event: Event, account: str) -> None:
        self._set(
            tx,
            account,
            pending_handover_from=None,
            pending_handover_to=None,
            pending_handover_since=None,
        )

    def _handover_cancelled(self, tx: Tx, event: Event, account: str) -> None:
        self._set(
            tx,
            account,
            manager=event.data["from_manager"],
            pending_handover_from=None,
            pending_handover_to=None,
            pending_handover_since=None,
        )

    def _stage_advanced(self, tx: Tx, event: Event, account: str) -> None:
        self._set(tx, account, stage=event.data["to_stage"].value)

    def _financials_recorded(self, tx: Tx, event: Event, account: str) -> None:
        self._change(tx, account, lambda r: self._set_revenue(r, event.data))

    def _risk_raised(self, tx: Tx, event: Event, account: str) -> None:
        """Revenue at risk is in the account's currency (that of its last period's figures
        when the risk was raised; none recorded yet: unknown, never converted)."""
        data = event.data
        amount = float(data["revenue_at_risk"] or 0)
        row = self.rows.get(tx, account)
        self.risks.put(
            {
                "risk_id": str(data["risk_id"]),
                "account_id": account,
                "amount": amount,
                "open": 1,
                "currency": row["currency"] if row else None,
                "raised_on": event.day.isoformat(),
            }
        )
        self._change(tx, account, lambda r: r.update(revenue_at_risk=r["revenue_at_risk"] + amount))
        self.revenue_changed = self.revenue_changed or amount > 0

    def _risk_mitigated(self, tx: Tx, event: Event, account: str) -> None:
        risk = self.risks.get(tx, str(event.data["risk_id"]))
        if risk is not None and risk["open"]:
            self.risks.put({**risk, "open": 0})
            self.revenue_changed = self.revenue_changed or risk["amount"] > 0
            self._change(
                tx,
                account,
                lambda r: r.update(revenue_at_risk=r["revenue_at_risk"] - risk["amount"]),
            )

    def _feedback_recorded(self, tx: Tx, event: Event, account: str) -> None:
        """The latest NPS and the latest CSAT, each by the day it was given."""
        data, day = event.data, event.day.isoformat()

        def update(row: dict[str, Any]) -> None:
            for score in ("nps", "csat"):
                if data[score] is not None and (row[f"{score}_on"] or day) <= day:
                    row.update({score: data[score], f"{score}_on": day})

        self._change(tx, account, update)

    def _opportunity_identified(self, tx: Tx, event: Event, account: str) -> None:
        kind = event.data["kind"].value
        if kind in _WON_KINDS:
            self.wins.put(
                {
                    "opportunity_id": str(event.data["opportunity_id"]),
                    "account_id": account,
                    "kind": _WON_KINDS[kind],
                    "value": float(event.data["value"]),
                    "currency": None,
                    "won_on": None,
                }
            )

    def _opportunity_won(self, tx: Tx, event: Event, account: str) -> None:
        """A won cross-sell or upsell: its value is in the account's currency (that of its
        last period's figures when it was won; none recorded yet: unknown, never converted)."""
        win = self.wins.get(tx, str(event.data["opportunity_id"]))
        row = self.rows.get(tx, account)
        if win is not None and row is not None:
            self.wins.put(
                {
                    **win,
                    "value": float(event.data["value"]),
                    "currency": row["currency"],
                    "won_on": event.day.isoformat(),
                }
            )
            self.revenue_changed = True

    def _exchange_rate_recorded(self, tx: Tx, event: Event) -> None:
        data = event.data
        self.rates.put(
            {
                "currency": data["currency"],
                "to_currency": data["to_currency"],
                "effective_on": data["effective_on"].isoformat(),
                "rate": str(data["rate"]),
                "recorded_by": data["meta"].actor,
                "recorded_at": iso(event.recorded_at),
                "position": event.position,
            }
        )
        self.revenue_changed = True

    def prefetch(self, tx: Tx, batch: Sequence[tuple[Event, UUID | None]]) -> None:
        mine = [(e, str(a)) for e, a in batch if a is not None and e.cls in self.reactions]
        self.rows.load(tx, ((account,) for _, account in mine))
        self.risks.load(
            tx, ((str(e.data["risk_id"]),) for e, _ in mine if e.cls is KeyAccount.RiskMitigated)
        )
        self.wins.load(
            tx,
            (
                (str(e.data["opportunity_id"]),)
                for e, _ in mine
                if e.cls is AccountPlan.OpportunityWon
            ),
        )

    def apply(self, tx: Tx, event: Event, account_id: UUID | None) -> None:
        if event.cls is ExchangeRate.Recorded:  # of no account: the whole portfolio's
            self._exchange_rate_recorded(tx, event)
        else:
            super().apply(tx, event, account_id)

    def _exited(self, tx: Tx, event: Event, account: str) -> None:
        self._set(tx, account, exited=1, top20=0, exit_decided=0)
        self.revenue_changed = True

    def _reevaluated(self, tx: Tx, event: Event, account: str) -> None:
        decision: ReevaluationDecision = event.data["decision"]

        def update(row: dict[str, Any]) -> None:
            row.update(
                last_reevaluation_decision=decision.value,
                last_reevaluation_on=event.day.isoformat(),
                exit_decided=int(decision is ReevaluationDecision.EXIT),
            )
            self._set_reevaluation_due(row)

        self._change(tx, account, update)

    def _service_profile_changed(self, tx: Tx, event: Event, account: str) -> None:
        profile: ServiceProfile = event.data["service_profile"]

        def update(row: dict[str, Any]) -> None:
            row.update(
                service_profile=profile.value, review_cadence_days=profile.review_cadence_days
            )
            self._set_review(row, None)
            self._set_reevaluation_due(row)

        self._change(tx, account, update)

    reactions = {
        KeyAccount.Registered: _registered,
        KeyAccount.Classified: _classified,
        KeyAccount.CriteriaScored: _criteria_scored,
        KeyAccount.ManagerAssigned: _manager_assigned,
        KeyAccount.HandedOver: _handed_over,
        KeyAccount.HandoverAcknowledged: _handover_acknowledged,
        KeyAccount.HandoverCancelled: _handover_cancelled,
        KeyAccount.StageAdvanced: _stage_advanced,
        KeyAccount.FinancialsRecorded: _financials_recorded,
        KeyAccount.RelationshipAssessed: _reviewed,
        KeyAccount.RiskRaised: _risk_raised,
        KeyAccount.RiskMitigated: _risk_mitigated,
        KeyAccount.Exited: _exited,
        KeyAccount.Reevaluated: _reevaluated,
        KeyAccount.ServiceProfileChanged: _service_profile_changed,
        KeyAccount.FeedbackRecorded: _feedback_recorded,
        AccountPlan.Reviewed: _reviewed,
        AccountPlan.OpportunityIdentified: _opportunity_identified,
        AccountPlan.OpportunityWon: _opportunity_won,
        Relationship.InteractionLogged: _interaction_logged,
    }

    def _change(self, tx: Tx, account: str, update: Callable[[dict[str, Any]], object]) -> None:
        found = self.rows.get(tx, account)
        if found is None:
            return
        row = dict(found)
        update(row)
        self.rows.put(row)

    def _set(self, tx: Tx, account: str, **values: Any) -> None:
        self._change(tx, account, lambda r: r.update(values))

    def _set_revenue(self, row: dict[str, Any], data: Mapping[str, Any]) -> None:
        label = data["period"]
        period = Period.read(label)
        if period is None:  # e.g. "FY2025": kept, shown, but not ordered by time
            kept = set(json.loads(row["unordered_periods"] or "[]")) | {label}
            row["unordered_periods"] = json.dumps(sorted(kept))
            return
        last = Period.read(row["last_period"]) if row["last_period"] else None
        if last is None or not period < last:
            margin = data["gross_margin"]
            row.update(
                last_period=str(period),
                period_end=period.end.isoformat(),
                last_revenue=float(data["revenue"]),
                gross_margin=None if margin is None else float(margin),
                currency=data["currency"],
            )
            self.revenue_changed = True

    @staticmethod
    def _set_review(row: dict[str, Any], reviewed_on: date | None) -> None:
        if reviewed_on is not None and (
            row["last_review_on"] is None or reviewed_on.isoformat() > row["last_review_on"]
        ):
            row["last_review_on"] = reviewed_on.isoformat()
        since = date.fromisoformat(row["last_review_on"] or row["registered_on"])
        row["next_review_due"] = (since + timedelta(days=row["review_cadence_days"])).isoformat()

    @staticmethod
    def _set_reevaluation_due(row: dict[str, Any]) -> None:
        last = row["last_reevaluation_on"]
        due = reevaluation_due_on(
            ServiceProfile(row["service_profile"]),
            date.fromisoformat(last) if last else None,
            date.fromisoformat(row["registered_on"]),
        )
        row["reevaluation_due_on"] = due.isoformat()

    def finish(self, tx: Tx, today: date) -> None:
        for table in self.tables:
            table.flush(tx)
        if self.revenue_changed and not self.defer_shares:
            self.rank(tx)

    def committed(self) -> None:
        super().committed()
        if not self.defer_shares:
            self.revenue_changed = False

    def forget(self) -> None:
        super().forget()
        self.revenue_changed = False

    def rank(self, tx: Tx) -> None:
        """Revenue and won cross-sell and upsell in the reporting currency, then revenue share,
        cumulative share, Pareto rank and top-20 % flag of every live account whose converted
        revenue is above zero (others: no rank, no share)."""
        table = self.rows.table
        rates = Rates.load(tx, self.rates.table, self.reporting_currency)
        won = won_by_account(tx, self.wins.table, rates)
        at_risk = at_risk_by_account(tx, self.risks.table, rates)
        rows = tx.execute(
            f"SELECT account_id, exited, last_revenue, currency, period_end, "
            f"{', '.join(DERIVED)} FROM {table}"
        )
        updates = revenue_ranking(rows, rates, won, at_risk)
        # Rewrite only the rows whose derived values moved.
        before = {r["account_id"]: [r[c] for c in DERIVED] for r in rows}
        changed = [u for u in updates if [u[c] for c in DERIVED] != before[u["account_id"]]]
        tx.executemany(
            f"UPDATE {table} SET {', '.join(f'{c} = :{c}' for c in DERIVED)} "
            "WHERE account_id = :account_id",
            [{c: u[c] for c in ("account_id", *DERIVED)} for u in changed],
        )
        # The cached rows take the values just written, so they stay valid (no re-reads).
        for u in changed:
            self.rows.refresh((u["account_id"],), {c: u[c] for c in DERIVED})
