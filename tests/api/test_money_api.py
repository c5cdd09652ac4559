"""Money over HTTP, on both backends: ISO currencies and typed periods (422 otherwise), dated
exchange rates (recorded by directors, listed with who recorded them), the portfolio in the
reporting currency with unconverted amounts kept apart, the last period by time, the Pareto
share over accounts with revenue, and the KPIs: gross margin, lifetime value, latest NPS and
CSAT, won cross-sell and upsell."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.api.conftest import assert_problem, register

from kam_api.settings import Settings

Headers = dict[str, dict[str, str]]


def post(client: TestClient, path: str, body: dict[str, Any], headers: dict[str, str]) -> int:
    """Posts a command that must be accepted; returns its log position."""
    position: int = accepted(client, path, body, headers)["position"]
    return position


def accepted(
    client: TestClient, path: str, body: dict[str, Any], headers: dict[str, str]
) -> dict[str, Any]:
    response = client.post(path, json=body, headers=headers)
    assert response.status_code in (200, 201), response.text
    result: dict[str, Any] = response.json()
    return result


def figures(
    client: TestClient,
    auth: Headers,
    account: str,
    period: str,
    revenue: str,
    currency: str = "EUR",
    **more: Any,
) -> int:
    body = {"period": period, "revenue": revenue, "currency": currency, **more}
    return post(client, f"/accounts/{account}/financials", body, auth["dora"])


def rate(client: TestClient, auth: Headers, currency: str, value: str, effective_on: str) -> int:
    body = {"currency": currency, "rate": value, "effective_on": effective_on}
    return post(client, "/exchange-rates", body, auth["dora"])


def row(client: TestClient, auth: Headers, account: str, position: int) -> dict[str, Any]:
    rows = portfolio(client, auth, position)
    found: dict[str, Any] = next(r for r in rows if r["account_id"] == account)
    return found


def portfolio(client: TestClient, auth: Headers, position: int) -> list[dict[str, Any]]:
    response = client.get(f"/portfolio?min_position={position}", headers=auth["vic"])
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def summary(client: TestClient, auth: Headers, position: int) -> dict[str, Any]:
    response = client.get(f"/portfolio/summary?min_position={position}", headers=auth["vic"])
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def new_account(client: TestClient, auth: Headers, name: str) -> str:
    return str(register(client, auth["dora"], name)["id"])


# --- Validation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"period": "2026-Q4", "revenue": "10", "currency": "XYZ"},
        {"period": "Q4/2026", "revenue": "10", "currency": "EUR"},
        {"period": "FY2025", "revenue": "10", "currency": "EUR"},
        {"period": "2026-Q5", "revenue": "10", "currency": "EUR"},
    ],
)
def test_figures_in_an_unknown_currency_or_period_are_refused_and_change_nothing(
    client: TestClient, auth: Headers, account: str, body: dict[str, Any]
) -> None:
    kam = client.app.state.kam  # type: ignore[attr-defined]
    before = kam.recorder.max_notification_id()
    response = client.post(f"/accounts/{account}/financials", json=body, headers=auth["mia"])
    assert_problem(response, 422)
    assert kam.recorder.max_notification_id() == before


@pytest.mark.parametrize(
    "body",
    [
        {"currency": "XYZ", "rate": "1.1", "effective_on": "2026-01-01"},
        {"currency": "EUR", "rate": "1", "effective_on": "2026-01-01"},  # the reporting one
        {"currency": "USD", "rate": "0", "effective_on": "2026-01-01"},
        {"currency": "USD", "rate": "-0.9", "effective_on": "2026-01-01"},
        {"currency": "USD", "rate": "0.9", "effective_on": "1980-01-01"},
        {"currency": "USD", "rate": "0.9"},
    ],
)
def test_a_rate_that_cannot_be_is_refused_and_changes_nothing(
    client: TestClient, auth: Headers, body: dict[str, Any]
) -> None:
    kam = client.app.state.kam  # type: ignore[attr-defined]
    before = kam.recorder.max_notification_id()
    assert_problem(client.post("/exchange-rates", json=body, headers=auth["dora"]), 422)
    assert kam.recorder.max_notification_id() == before


def test_recorded_rates_are_listed_with_who_recorded_them(
    client: TestClient, auth: Headers
) -> None:
    rate(client, auth, "USD", "0.90", "2026-01-01")
    rate(client, auth, "GBP", "1.17", "2026-01-01")
    position = rate(client, auth, "USD", "0.85", "2026-07-01")
    response = client.get(f"/exchange-rates?min_position={position}", headers=auth["vic"])
    assert response.status_code == 200, response.text
    listed = [
        (r["currency"], r["effective_on"], r["rate"], r["to_currency"]) for r in response.json()
    ]
    assert listed == [
        ("GBP", "2026-01-01", "1.17", "EUR"),
        ("USD", "2026-01-01", "0.90", "EUR"),
        ("USD", "2026-07-01", "0.85", "EUR"),
    ]
    first = response.json()[0]
    assert first["recorded_by"] == "dora" and first["reporting"] and first["position"] > 0
    only_usd = client.get("/exchange-rates?currency=USD", headers=auth["vic"]).json()
    assert {r["currency"] for r in only_usd} == {"USD"}
    history = client.get("/events", headers=auth["audrey"])
    assert history.status_code == 200, history.text


# --- Conversion -----------------------------------------------------------------------------


def test_a_periods_revenue_converts_with_the_latest_rate_effective_by_the_periods_end(
    client: TestClient, auth: Headers, account: str
) -> None:
    """Given USD rates from January (0.90) and July (0.80), when Q2 figures are recorded, then
    they convert at 0.90 (Q2 ends 30 June); when Q3 figures come, at 0.80."""
    rate(client, auth, "USD", "0.90", "2026-01-01")
    rate(client, auth, "USD", "0.80", "2026-07-01")
    position = figures(client, auth, account, "2026-Q2", "1000", "USD")
    q2 = row(client, auth, account, position)
    assert (q2["last_revenue"], q2["currency"], q2["period_end"]) == (1000, "USD", "2026-06-30")
    assert q2["revenue"] == pytest.approx(900) and q2["revenue_converted"]
    position = figures(client, auth, account, "2026-Q3", "1000", "USD")
    assert row(client, auth, account, position)["revenue"] == pytest.approx(800)


def test_a_rate_recorded_later_converts_figures_already_recorded(
    client: TestClient, auth: Headers, account: str
) -> None:
    figures(client, auth, account, "2026-Q2", "1000", "USD")
    position = rate(client, auth, "USD", "0.90", "2026-04-01")
    assert row(client, auth, account, position)["revenue"] == pytest.approx(900)


def test_an_amount_without_a_usable_rate_is_reported_apart_never_summed(
    client: TestClient, auth: Headers
) -> None:
    """Given EUR, USD (rate known) and GBP (no rate) and CHF (only a rate from after the
    period) accounts, the totals hold EUR and converted USD only; GBP and CHF are listed
    apart in their own currencies."""
    eur, usd, gbp, chf = (
        new_account(client, auth, n) for n in ("Eur Co", "Usd Co", "Gbp Co", "Chf Co")
    )
    rate(client, auth, "USD", "0.5", "2026-01-01")
    rate(client, auth, "CHF", "1.05", "2027-01-01")
    figures(client, auth, eur, "2026-Q4", "1000")
    figures(client, auth, usd, "2026-Q4", "1000", "USD")
    figures(client, auth, gbp, "2026-Q4", "700", "GBP")
    position = figures(client, auth, chf, "2026-Q4", "300", "CHF")
    rows = {r["name"]: r for r in portfolio(client, auth, position)}
    assert rows["Gbp Co"]["revenue"] is None and not rows["Gbp Co"]["revenue_converted"]
    assert rows["Chf Co"]["revenue"] is None and rows["Chf Co"]["pareto_rank"] is None
    assert rows["Usd Co"]["revenue"] == pytest.approx(500)
    assert [r["name"] for r in portfolio(client, auth, position)][:2] == ["Eur Co", "Usd Co"]
    totals = summary(client, auth, position)
    assert totals["reporting_currency"] == "EUR"
    assert totals["total_revenue"] == pytest.approx(1500)
    assert totals["unconverted_revenue"] == [
        {"currency": "CHF", "amount": 300, "accounts": 1},
        {"currency": "GBP", "amount": 700, "accounts": 1},
    ]
    assert rows["Eur Co"]["revenue_share"] == pytest.approx(1000 / 1500)


# --- Last period, Pareto ------------------------------------------------------------------


def test_the_last_period_is_the_latest_by_time_not_by_its_text(
    client: TestClient, auth: Headers, account: str
) -> None:
    """Given 2026-Q1 recorded, when June 2026 comes (before it as text), then June is the last
    period; when an earlier quarter and year come later, it stays June."""
    figures(client, auth, account, "2026-Q1", "400")
    position = figures(client, auth, account, "2026-06", "150")
    latest = row(client, auth, account, position)
    assert (latest["last_period"], latest["last_revenue"], latest["period_end"]) == (
        "2026-06",
        150,
        "2026-06-30",
    )
    figures(client, auth, account, "2026-Q2", "9000")  # ends the same day, started earlier
    position = figures(client, auth, account, "2025", "9000")
    assert row(client, auth, account, position)["last_period"] == "2026-06"


def test_the_pareto_share_counts_only_accounts_with_revenue(
    client: TestClient, auth: Headers
) -> None:
    """Given six accounts of which two have revenue, the top 20 % is one account (of the two),
    not two (of six); accounts without revenue have no rank and no share."""
    names = ["A", "B", "C", "D", "E", "F"]
    ids = {n: new_account(client, auth, f"{n} Co") for n in names}
    figures(client, auth, ids["A"], "2026", "500")
    position = figures(client, auth, ids["B"], "2026", "400")
    for n in ("C", "D"):
        position = figures(client, auth, ids[n], "2026", "0")
    rows = {r["name"]: r for r in portfolio(client, auth, position)}
    assert [n for n in names if rows[f"{n} Co"]["top20"]] == ["A"]
    assert (rows["A Co"]["pareto_rank"], rows["B Co"]["pareto_rank"]) == (1, 2)
    assert rows["B Co"]["cumulative_share"] == pytest.approx(1.0)
    for n in ("C", "D", "E", "F"):
        assert rows[f"{n} Co"]["pareto_rank"] is None and rows[f"{n} Co"]["revenue_share"] is None
    assert summary(client, auth, position)["top20_revenue"] == pytest.approx(500)


# --- KPIs ----------------------------------------------------------------------------------


def test_gross_margin_and_lifetime_value_follow_the_documented_formula(
    client: TestClient, auth: Headers, account: str
) -> None:
    """Given a quarter of USD 1,000 at 30 % margin and a rate of 0.5: the margin is EUR 150,
    EUR 600 a year; with r = 0.85 and d = 0.10 the lifetime value is 600 x 0.85 / 0.25."""
    rate(client, auth, "USD", "0.5", "2026-01-01")
    position = figures(client, auth, account, "2026-Q4", "1000", "USD", gross_margin="0.3")
    kpis = row(client, auth, account, position)
    assert kpis["gross_margin"] == pytest.approx(0.3)
    assert kpis["gross_margin_amount"] == pytest.approx(150)
    assert kpis["lifetime_value"] == pytest.approx(600 * 0.85 / 0.25)
    listed = client.get(f"/accounts?min_position={position}", headers=auth["vic"]).json()
    assert listed["items"][0]["lifetime_value"] == pytest.approx(600 * 0.85 / 0.25)


def test_the_lifetime_value_assumptions_are_settings(
    api_settings: Settings, auth: Headers, client: TestClient, account: str
) -> None:
    api_settings.clv_retention, api_settings.clv_discount_rate = 0.9, 0.1
    position = figures(client, auth, account, "2026", "1000", gross_margin="0.25")
    assert row(client, auth, account, position)["lifetime_value"] == pytest.approx(250 * 4.5)


def test_no_lifetime_value_without_a_gross_margin_or_a_rate(
    client: TestClient, auth: Headers, account: str
) -> None:
    position = figures(client, auth, account, "2026", "1000")
    assert row(client, auth, account, position)["lifetime_value"] is None
    position = figures(client, auth, account, "2027", "1000", "GBP", gross_margin="0.2")
    unconverted = row(client, auth, account, position)
    assert unconverted["lifetime_value"] is None and unconverted["gross_margin_amount"] is None


def test_the_row_shows_the_latest_nps_and_the_latest_csat(
    client: TestClient, auth: Headers, account: str
) -> None:
    """Each score by the day it was given, not the order it was recorded in; a response with
    only an NPS leaves the latest CSAT as it was."""
    feedback = f"/accounts/{account}/feedback"
    post(client, feedback, {"nps": 6, "csat": 4, "occurred_on": "2026-01-15"}, auth["mia"])
    post(client, feedback, {"nps": 9, "occurred_on": "2026-03-01"}, auth["mia"])
    body = {"nps": 3, "csat": 2, "occurred_on": "2026-02-01"}  # older, recorded last
    position = post(client, feedback, body, auth["mia"])
    voice = row(client, auth, account, position)
    assert (voice["nps"], voice["nps_on"]) == (9, "2026-03-01")
    assert (voice["csat"], voice["csat_on"]) == (2, "2026-02-01")


def test_won_cross_sell_and_upsell_count_by_kind_in_the_reporting_currency(
    client: TestClient, auth: Headers, account: str
) -> None:
    """Given an account whose figures are in USD (rate 0.5), when a cross-sell is won at 120,
    an upsell at its estimated 50 and an expansion at 70, and another cross-sell is lost, then
    the row shows cross-sell 60 and upsell 25 (EUR); the expansion and the loss count for
    neither."""
    rate(client, auth, "USD", "0.5", "2026-01-01")
    figures(client, auth, account, "2026-Q1", "1000", "USD")
    plan_id = accepted(client, f"/accounts/{account}/plans", {"period": "2026"}, auth["mia"])["id"]

    def opportunity(kind: str, value: str) -> str:
        body = {"kind": kind, "title": kind, "value": value, "probability": 50}
        return str(
            accepted(client, f"/plans/{plan_id}/opportunities", body, auth["mia"])["entity_id"]
        )

    cross, up, expansion, lost = (
        opportunity("cross_sell", "100"),
        opportunity("upsell", "50"),
        opportunity("expansion", "70"),
        opportunity("cross_sell", "999"),
    )
    win = f"/plans/{plan_id}/opportunities/{{}}/win"
    post(client, win.format(cross), {"value": "120"}, auth["mia"])
    post(client, win.format(up), {}, auth["mia"])
    post(client, win.format(expansion), {}, auth["mia"])
    position = post(
        client, f"/plans/{plan_id}/opportunities/{lost}/lose", {"reason": "budget"}, auth["mia"]
    )
    won = row(client, auth, account, position)
    assert won["cross_sell_won"] == pytest.approx(60) and won["upsell_won"] == pytest.approx(25)
    assert won["unconverted_won"] == []


def test_a_win_with_no_usable_rate_is_listed_apart(
    client: TestClient, auth: Headers, account: str
) -> None:
    figures(client, auth, account, "2026-Q1", "1000", "GBP")
    plan_id = accepted(client, f"/accounts/{account}/plans", {"period": "2026"}, auth["mia"])["id"]
    body = {"kind": "upsell", "title": "More seats", "value": "80", "probability": 50}
    oid = accepted(client, f"/plans/{plan_id}/opportunities", body, auth["mia"])["entity_id"]
    position = post(client, f"/plans/{plan_id}/opportunities/{oid}/win", {}, auth["mia"])
    won = row(client, auth, account, position)
    assert won["upsell_won"] == 0
    assert won["unconverted_won"] == [{"kind": "upsell", "amount": 80, "currency": "GBP"}]


def test_an_accounts_kpis_are_served_on_their_own(
    client: TestClient, auth: Headers, account: str
) -> None:
    rate(client, auth, "USD", "0.5", "2026-01-01")
    figures(client, auth, account, "2026-Q4", "1000", "USD", gross_margin="0.3")
    body = {"nps": 8, "csat": 5, "occurred_on": "2026-10-01"}
    position = post(client, f"/accounts/{account}/feedback", body, auth["mia"])
    response = client.get(f"/accounts/{account}/kpis?min_position={position}", headers=auth["vic"])
    assert response.status_code == 200, response.text
    kpis = response.json()
    assert kpis["reporting_currency"] == "EUR" and kpis["last_period"] == "2026-Q4"
    assert kpis["revenue"] == pytest.approx(500) and kpis["gross_margin_amount"] == 150
    assert kpis["lifetime_value"] == pytest.approx(600 * 0.85 / 0.25)
    assert (kpis["nps"], kpis["csat"]) == (8, 5)
    unknown = "/accounts/00000000-0000-4000-8000-000000000000/kpis"
    assert_problem(client.get(unknown, headers=auth["vic"]), 404)


def test_revenue_at_risk_converts_like_revenue_and_is_never_summed_unconverted(
    client: TestClient, auth: Headers
) -> None:
    """Given a USD account (rate 0.5) and a GBP account (no rate), each with a risk of 100,
    then the USD risk counts 50 in the summary and the GBP one is left out of it."""
    usd, gbp = new_account(client, auth, "Usd Co"), new_account(client, auth, "Gbp Co")
    rate(client, auth, "USD", "0.5", "2026-01-01")
    figures(client, auth, usd, "2026-Q1", "1000", "USD")
    figures(client, auth, gbp, "2026-Q1", "1000", "GBP")
    risk = {"title": "Budget cut", "severity": "high", "revenue_at_risk": "100"}
    risk_on = {**risk, "occurred_on": "2026-05-01"}
    post(client, f"/accounts/{usd}/risks", risk_on, auth["dora"])
    position = post(client, f"/accounts/{gbp}/risks", risk_on, auth["dora"])
    rows = {r["name"]: r for r in portfolio(client, auth, position)}
    assert rows["Usd Co"]["revenue_at_risk"] == 100
    assert rows["Usd Co"]["revenue_at_risk_converted"] == pytest.approx(50)
    assert rows["Gbp Co"]["revenue_at_risk_converted"] is None
    totals = summary(client, auth, position)
    assert totals["revenue_at_risk"] == pytest.approx(50)
    assert totals["accounts_with_unconverted_risk"] == 1
