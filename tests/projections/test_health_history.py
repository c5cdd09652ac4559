"""The health facts folded from an account's dated fact rows (``health_history``), and the
health as of a day with its trend (``health_reads.health_as_of``): pure, no storage."""

from __future__ import annotations

from datetime import date
from typing import Any

from kam_domain.values import BuyingRole, Disposition
from kam_projections.health_history import FactRow, HealthHistory
from kam_projections.health_model import HealthWeights, compute_health
from kam_projections.health_reads import health_as_of

ACCOUNT = "acct"
REGISTERED = date(2026, 3, 10)


class Log:
    """Given: fact rows, numbered in the order they were recorded."""

    def __init__(self) -> None:
        self.rows: list[FactRow] = []

    def add(self, on: date, kind: str, subject: str = "x", **data: Any) -> Log:
        self.rows.append(FactRow(on, len(self.rows) + 1, kind, subject, data))
        return self

    def by_day(self) -> list[FactRow]:
        return sorted(self.rows, key=lambda r: (r.on, r.position))

    def upto(self, day: date) -> HealthHistory:
        return HealthHistory().apply_all(r for r in self.by_day() if r.on <= day)


def account_log() -> Log:
    return (
        Log()
        .add(REGISTERED, "Registered", ACCOUNT, service_profile="premium")
        .add(date(2026, 4, 1), "Identified", "ann", buying_role="champion", influence=4)
        .add(date(2026, 4, 2), "ActionAdded", "act", due_on="2026-05-01")
        .add(date(2026, 6, 1), "ActionCompleted", "act")
        .add(date(2026, 6, 20), "InteractionLogged", "ann", sentiment=2)
        # Recorded later, but happened earlier: placed at its own day.
        .add(date(2026, 4, 15), "InteractionLogged", "ann", sentiment=-1)
        .add(date(2026, 5, 5), "DispositionChanged", "ann", disposition="supporter")
    )


def test_the_facts_as_of_a_day_are_those_that_happened_by_then() -> None:
    log = account_log()

    may = log.upto(date(2026, 5, 2)).inputs()
    july = log.upto(date(2026, 7, 1)).inputs()

    assert [(i.on, i.sentiment) for i in may.interactions] == [(date(2026, 4, 15), -1)]
    assert [s.disposition for s in may.stakeholders] == [Disposition.NEUTRAL]
    assert [(a.due_on, a.open) for a in may.actions] == [(date(2026, 5, 1), True)]
    assert [s.disposition for s in july.stakeholders] == [Disposition.SUPPORTER]
    assert [a.open for a in july.actions] == [False]
    assert len(july.interactions) == 2
    assert (july.registered_on, july.review_cadence_days) == (REGISTERED, 30)


def test_a_disposition_dated_before_the_identification_is_where_the_person_starts() -> None:
    log = (
        Log()
        .add(REGISTERED, "Registered", ACCOUNT, service_profile="standard")
        .add(date(2026, 5, 1), "Identified", "bob", buying_role="decision_maker", influence=3)
        .add(date(2026, 4, 1), "DispositionChanged", "bob", disposition="detractor")
    )

    inputs = log.upto(date(2026, 6, 1)).inputs()

    assert [(s.buying_role, s.disposition) for s in inputs.stakeholders] == [
        (BuyingRole.DECISION_MAKER, Disposition.DETRACTOR)
    ]


def test_the_latest_assessment_is_the_one_that_happened_last() -> None:
    scores = {"trust": 3, "satisfaction": 3, "partner_rating": 5}
    log = (
        Log()
        .add(REGISTERED, "Registered", ACCOUNT, service_profile="light")
        .add(date(2026, 6, 1), "RelationshipAssessed", ACCOUNT, engagement="engaged", **scores)
        .add(date(2026, 4, 1), "RelationshipAssessed", ACCOUNT, engagement="disengaged", **scores)
    )

    june = log.upto(date(2026, 6, 30)).inputs().latest_assessment
    may = log.upto(date(2026, 5, 31)).inputs().latest_assessment

    assert june is not None and june.engagement.value == "engaged"
    assert may is not None and may.engagement.value == "disengaged"


def test_there_is_no_health_before_the_registration_and_no_trend_point_before_it() -> None:
    rows = account_log().by_day()
    weights = HealthWeights()

    before = health_as_of(
        ACCOUNT, [r for r in rows if r.on <= date(2026, 3, 9)], date(2026, 3, 9), weights
    )
    on_the_day = health_as_of(ACCOUNT, [r for r in rows if r.on <= REGISTERED], REGISTERED, weights)
    later = health_as_of(
        ACCOUNT, [r for r in rows if r.on <= date(2026, 7, 15)], date(2026, 7, 15), weights
    )

    assert before is None
    assert on_the_day is not None and [p["on"] for p in on_the_day["trend"]] == ["2026-03-10"]
    assert later is not None
    assert [p["on"] for p in later["trend"]] == [
        "2026-03-31",
        "2026-04-30",
        "2026-05-31",
        "2026-06-30",
        "2026-07-15",
    ]


def test_the_first_days_of_the_calendar_have_no_health_and_raise_nothing() -> None:
    # The trend's month ends stop at 1 January of year 1 (found by the API fuzzer: as_of
    # 0001-01-01 answered 500 while the month before it was computed).
    for day in (date.min, date(1, 2, 15)):
        assert health_as_of(ACCOUNT, [], day, HealthWeights()) is None


def test_each_trend_point_is_the_health_over_the_facts_up_to_its_day() -> None:
    log = account_log()
    today = date(2026, 7, 15)

    health = health_as_of(
        ACCOUNT, [r for r in log.by_day() if r.on <= today], today, HealthWeights()
    )

    assert health is not None
    for point in health["trend"]:
        day = date.fromisoformat(point["on"])
        expected = compute_health(log.upto(day).inputs(), day)
        assert (point["score"], point["band"]) == (expected.score, expected.band), day
    assert health["score"] == health["trend"][-1]["score"]
