"""The relationship health model: each component and flag, a scripted decline, time passing,
and properties that hold for any inputs on any day.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from fractions import Fraction
from math import floor

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kam_domain.errors import InvalidValueError
from kam_domain.values import BuyingRole, Disposition, EngagementLevel
from kam_projections.health_model import (
    ActionFacts,
    AssessmentFacts,
    FeedbackFacts,
    HealthInputs,
    HealthReport,
    HealthWeights,
    InteractionFacts,
    StakeholderFacts,
    band_for,
    compute_health,
)

TODAY = date(2025, 6, 1)
DM, EB, CHAMPION, USER = (
    BuyingRole.DECISION_MAKER,
    BuyingRole.ECONOMIC_BUYER,
    BuyingRole.CHAMPION,
    BuyingRole.USER,
)
SUPPORTER, NEUTRAL, DETRACTOR = Disposition.SUPPORTER, Disposition.NEUTRAL, Disposition.DETRACTOR
ALL_FLAGS = {
    "single_threaded",
    "no_decision_maker",
    "champion_left",
    "detractor_decision_maker",
    "no_contact_60d",
    "nps_drop",
    "review_overdue",
    "overdue_actions",
}


def ago(days: int) -> date:
    return TODAY - timedelta(days=days)


def person(
    sid: str,
    role: BuyingRole = USER,
    disposition: Disposition = SUPPORTER,
    *,
    influence: int = 3,
    left_on: date | None = None,
    last: date | None = None,
    successor: str | None = None,
) -> StakeholderFacts:
    return StakeholderFacts(sid, role, influence, disposition, last, left_on, successor)


def talk(sid: str, days_ago: int, sentiment: int = 0) -> InteractionFacts:
    return InteractionFacts(sid, ago(days_ago), sentiment)


def facts(
    stakeholders: tuple[StakeholderFacts, ...] = (),
    interactions: tuple[InteractionFacts, ...] = (),
    feedback: tuple[FeedbackFacts, ...] = (),
    assessment: AssessmentFacts | None = None,
    actions: tuple[ActionFacts, ...] = (),
    last_review_on: date | None = None,
    cadence: int = 60,
    registered_on: date | None = None,
) -> HealthInputs:
    return HealthInputs(
        stakeholders,
        interactions,
        feedback,
        assessment,
        actions,
        last_review_on,
        cadence,
        registered_on,
    )


def health(inputs: HealthInputs, today: date = TODAY) -> HealthReport:
    return compute_health(inputs, today)


def value(report: HealthReport, name: str) -> int:
    return next(c.value for c in report.components if c.name == name)


def why(report: HealthReport, name: str) -> str:
    return next(c.explanation for c in report.components if c.name == name)


def values(report: HealthReport) -> dict[str, int]:
    return {c.name: c.value for c in report.components}


KEY_TEAM = (person("dm", DM), person("eb", EB), person("ch", CHAMPION))
TALKED_TO_ALL = (talk("dm", 1), talk("eb", 1), talk("ch", 1))


# --- weights and bands -------------------------------------------------------------------


def test_default_weights_are_the_designed_ones_and_add_up_to_100() -> None:
    w = HealthWeights()
    assert (w.coverage, w.recency, w.sentiment) == (25, 20, 20)
    assert (w.voice_of_customer, w.execution, w.assessment) == (15, 10, 10)


@pytest.mark.parametrize(
    "weights", [{"coverage": -1}, {"recency": True}, dict.fromkeys(HealthWeights().__dict__, 0)]
)
def test_weights_refuse_negative_non_integer_or_all_zero(weights: dict[str, int]) -> None:
    with pytest.raises(InvalidValueError):
        HealthWeights(**weights)


def test_given_only_recency_weighted_when_computed_then_score_is_recency() -> None:
    inputs = facts(KEY_TEAM, (talk("dm", 45),))
    weights = HealthWeights(0, 1, 0, 0, 0, 0)
    report = compute_health(inputs, TODAY, weights)
    assert report.score == value(report, "recency") == 50
    assert [c.weight for c in report.components] == [0, 1, 0, 0, 0, 0]


@pytest.mark.parametrize(
    ("score", "band"),
    [(100, "green"), (70, "green"), (69, "amber"), (40, "amber"), (39, "red"), (0, "red")],
)
def test_band_thresholds(score: int, band: str) -> None:
    assert band_for(score) == band


def test_report_lists_components_in_order_with_weights_and_as_of() -> None:
    report = health(facts())
    assert [(c.name, c.weight) for c in report.components] == [
        ("coverage", 25),
        ("recency", 20),
        ("sentiment", 20),
        ("voice_of_customer", 15),
        ("execution", 10),
        ("assessment", 10),
    ]
    assert report.as_of == TODAY


def test_facts_out_of_range_or_duplicate_stakeholders_are_refused() -> None:
    with pytest.raises(InvalidValueError):
        InteractionFacts("a", TODAY, 3)
    with pytest.raises(InvalidValueError):
        person("a", influence=0)
    with pytest.raises(InvalidValueError):
        FeedbackFacts(TODAY, 11, None)
    with pytest.raises(InvalidValueError):
        facts((person("a"), person("a")))


# --- coverage ----------------------------------------------------------------------------


def test_given_key_roles_held_by_supporters_and_three_engaged_then_coverage_is_full() -> None:
    assert value(health(facts(KEY_TEAM, TALKED_TO_ALL)), "coverage") == 100


def test_given_a_detractor_in_a_key_role_then_that_role_is_not_covered() -> None:
    team = (person("dm", DM, DETRACTOR), person("eb", EB, NEUTRAL), person("ch", CHAMPION))
    report = health(facts(team, TALKED_TO_ALL))
    assert value(report, "coverage") == 40 + 40
    assert "decision maker" in why(report, "coverage")


def test_given_departed_stakeholders_then_they_cover_nothing_unless_they_leave_later() -> None:
    team = (person("dm", DM, left_on=ago(0)), person("eb", EB, left_on=ago(-1)))
    report = health(facts(team, (talk("dm", 1), talk("eb", 1))))
    assert value(report, "coverage") == 20 + 10  # economic buyer still there, one engaged


@pytest.mark.parametrize(("engaged", "bonus"), [(0, 0), (1, 10), (2, 20), (3, 40), (4, 40)])
def test_engaged_contacts_add_to_coverage(engaged: int, bonus: int) -> None:
    people = tuple(person(f"u{n}") for n in range(4))
    talks = tuple(talk(f"u{n}", 5) for n in range(engaged))
    assert value(health(facts(people, talks)), "coverage") == bonus


def test_contact_exactly_90_days_ago_still_engages_but_91_or_tomorrow_does_not() -> None:
    people = (person("a"), person("b"), person("c"))
    talks = (talk("a", 90), talk("b", 91), talk("c", -1))
    assert value(health(facts(people, talks)), "coverage") == 10


def test_last_interaction_on_from_the_stakeholder_counts_as_contact() -> None:
    assert value(health(facts((person("a", last=ago(3)),))), "coverage") == 10


# --- recency -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days", "expected"), [(0, 100), (3, 97), (45, 50), (70, 22), (89, 1), (90, 0), (200, 0)]
)
def test_recency_decays_linearly_to_zero_at_90_days(days: int, expected: int) -> None:
    report = health(facts(KEY_TEAM, (talk("ch", days),)))
    assert value(report, "recency") == expected


def test_recency_explanation_gives_the_days() -> None:
    report = health(facts(KEY_TEAM, (talk("dm", 70),)))
    assert why(report, "recency") == (
        "Last contact with a decision maker or champion 70 days ago (decays to 0 at 90)"
    )


def test_given_contact_only_with_economic_buyer_or_departed_champion_then_recency_is_zero() -> None:
    team = (person("eb", EB), person("ch", CHAMPION, left_on=ago(5)))
    report = health(facts(team, (talk("eb", 0), talk("ch", 10))))
    assert value(report, "recency") == 0
    assert "No contact" in why(report, "recency")


def test_interaction_after_today_is_ignored_by_recency() -> None:
    report = health(facts(KEY_TEAM, (talk("dm", 30), talk("dm", -5))))
    assert value(report, "recency") == 67


# --- sentiment ---------------------------------------------------------------------------


def test_given_nothing_known_then_sentiment_is_neutral() -> None:
    assert value(health(facts()), "sentiment") == 50


def test_sentiment_extremes() -> None:
    happy = facts((person("a", influence=5),), (talk("a", 1, 2), talk("a", 2, 2)))
    angry = facts((person("a", USER, DETRACTOR),), (talk("a", 1, -2),))
    assert value(health(happy), "sentiment") == 100
    assert value(health(angry), "sentiment") == 0


def test_dispositions_are_weighted_by_influence_and_halves_round_up() -> None:
    team = (person("a", influence=3), person("b", USER, DETRACTOR, influence=1))
    # interactions: none -> 50; dispositions: (100*3 + 0*1) / 4 = 75; (50 + 75) / 2 = 62.5
    assert value(health(facts(team)), "sentiment") == 63


def test_only_interactions_of_the_last_90_days_and_current_stakeholders_count() -> None:
    team = (person("a", USER, NEUTRAL), person("gone", USER, DETRACTOR, left_on=ago(1)))
    talks = (talk("a", 90, 2), talk("a", 91, -2), talk("a", -1, -2))
    # interactions: +2 -> 100; dispositions: neutral only -> 50
    assert value(health(facts(team, talks)), "sentiment") == 75


# --- voice of customer -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("nps", "csat", "expected"), [(7, None, 70), (None, 4, 75), (8, 5, 90), (0, None, 0)]
)
def test_voice_of_customer_from_latest_nps_and_or_csat(
    nps: int | None, csat: int | None, expected: int
) -> None:
    report = health(facts(feedback=(FeedbackFacts(ago(1), nps, csat),)))
    assert value(report, "voice_of_customer") == expected


def test_given_no_feedback_then_voice_of_customer_is_unknown_50() -> None:
    report = health(facts(feedback=(FeedbackFacts(ago(1), None, None),)))
    assert value(report, "voice_of_customer") == 50
    assert "unknown" in why(report, "voice_of_customer")


def test_latest_feedback_wins_whatever_the_order_and_future_feedback_is_ignored() -> None:
    responses = (
        FeedbackFacts(ago(-3), 0, None),
        FeedbackFacts(ago(2), 6, None),
        FeedbackFacts(ago(40), 10, None),
    )
    report = health(facts(feedback=responses))
    assert value(report, "voice_of_customer") == 60
    assert why(report, "voice_of_customer") == f"Latest feedback ({ago(2)}): NPS 6"


# --- execution ---------------------------------------------------------------------------


def test_given_no_open_actions_then_execution_is_full() -> None:
    closed_late = (ActionFacts(ago(30), open=False),)
    assert value(health(facts(actions=closed_late)), "execution") == 100


def test_execution_is_the_share_of_open_actions_not_overdue_and_due_today_is_not_late() -> None:
    actions = (
        ActionFacts(ago(1), True),
        ActionFacts(ago(0), True),
        ActionFacts(ago(-10), True),
        ActionFacts(ago(-20), True),
        ActionFacts(ago(50), False),
    )
    report = health(facts(actions=actions))
    assert value(report, "execution") == 75
    assert why(report, "execution") == "1 of 4 open actions overdue"
    assert "overdue_actions" in report.flags


# --- assessment --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("level", "trust", "satisfaction", "rating", "expected"),
    [
        (EngagementLevel.ENGAGED, 5, 5, 10, 100),
        (EngagementLevel.SEEKING_REPLACEMENT, 1, 1, 0, 0),
        (EngagementLevel.INDIFFERENT, 3, 3, 5, 53),  # (60 + 50 + 50 + 50) / 4 = 52.5
        (EngagementLevel.DISENGAGED, 2, 4, 6, 48),  # (30 + 25 + 75 + 60) / 4 = 47.5
    ],
)
def test_assessment_is_the_mean_of_engagement_trust_satisfaction_and_rating(
    level: EngagementLevel, trust: int, satisfaction: int, rating: int, expected: int
) -> None:
    report = health(facts(assessment=AssessmentFacts(ago(10), level, trust, satisfaction, rating)))
    assert value(report, "assessment") == expected


@pytest.mark.parametrize(("days", "expected"), [(180, 100), (181, 75), (-1, 50)])
def test_assessment_older_than_180_days_halves_toward_50_and_future_is_ignored(
    days: int, expected: int
) -> None:
    assessment = AssessmentFacts(ago(days), EngagementLevel.ENGAGED, 5, 5, 10)
    report = health(facts(assessment=assessment))
    assert value(report, "assessment") == expected
    assert ("stale" in why(report, "assessment")) is (days == 181)


def test_given_no_assessment_then_it_is_unknown_50() -> None:
    report = health(facts())
    assert value(report, "assessment") == 50
    assert "unknown" in why(report, "assessment")


# --- flags -------------------------------------------------------------------------------


def test_single_threaded_below_three_engaged_contacts() -> None:
    assert "single_threaded" in health(facts(KEY_TEAM, TALKED_TO_ALL[:2])).flags
    assert "single_threaded" not in health(facts(KEY_TEAM, TALKED_TO_ALL)).flags


def test_no_decision_maker_when_none_is_current() -> None:
    gone = (person("dm", DM, left_on=ago(3)), person("eb", EB))
    assert "no_decision_maker" in health(facts(gone)).flags
    assert "no_decision_maker" not in health(facts(KEY_TEAM)).flags


@pytest.mark.parametrize(
    ("left_days_ago", "successor_role", "flagged"),
    [
        (10, None, True),
        (180, None, True),
        (181, None, False),
        (-1, None, False),
        (10, CHAMPION, False),
    ],
)
def test_champion_left_within_180_days_without_a_current_champion(
    left_days_ago: int, successor_role: BuyingRole | None, flagged: bool
) -> None:
    team = [person("dm", DM), person("ch", CHAMPION, left_on=ago(left_days_ago), successor="s")]
    if successor_role is not None:
        team.append(person("s", successor_role))
    assert ("champion_left" in health(facts(tuple(team))).flags) is flagged


def test_detractor_decision_maker_for_current_decision_maker_or_economic_buyer() -> None:
    assert "detractor_decision_maker" in health(facts((person("eb", EB, DETRACTOR),))).flags
    departed = (person("dm", DM, DETRACTOR, left_on=ago(1)),)
    assert "detractor_decision_maker" not in health(facts(departed)).flags
    assert "detractor_decision_maker" not in health(facts((person("u", USER, DETRACTOR),))).flags


@pytest.mark.parametrize(("days", "flagged"), [(0, False), (60, False), (61, True)])
def test_no_contact_60d_after_more_than_60_days(days: int, flagged: bool) -> None:
    report = health(facts((person("u"),), (talk("u", days), talk("u", -1))))
    assert ("no_contact_60d" in report.flags) is flagged


def test_no_contact_60d_when_never_contacted_but_not_if_stakeholder_facts_show_contact() -> None:
    assert "no_contact_60d" in health(facts()).flags
    assert "no_contact_60d" not in health(facts((person("u", last=ago(5)),))).flags


@pytest.mark.parametrize(
    ("scores", "flagged"),
    [((9, 7), True), ((9, 8), False), ((5, 9), False), ((9,), False), ((9, 5, 9), False)],
)
def test_nps_drop_when_latest_nps_is_two_below_the_previous(
    scores: tuple[int, ...], flagged: bool
) -> None:
    dated = [FeedbackFacts(ago(10 * (len(scores) - n)), s, None) for n, s in enumerate(scores)]
    dated.append(FeedbackFacts(ago(1), None, 1))  # a later CSAT-only response does not hide it
    report = health(facts(feedback=tuple(reversed(dated))))
    assert ("nps_drop" in report.flags) is flagged


def test_nps_after_today_is_ignored_by_nps_drop() -> None:
    responses = (FeedbackFacts(ago(20), 9, None), FeedbackFacts(ago(-1), 2, None))
    assert "nps_drop" not in health(facts(feedback=responses)).flags


@pytest.mark.parametrize(
    ("reviewed", "registered", "flagged"),
    [
        (ago(61), None, True),
        (ago(60), None, False),
        (None, ago(61), True),
        (None, ago(10), False),
        (None, None, False),
        (ago(-1), ago(61), True),  # a review dated after today has not happened yet
    ],
)
def test_review_overdue_against_the_cadence(
    reviewed: date | None, registered: date | None, flagged: bool
) -> None:
    report = health(facts(last_review_on=reviewed, registered_on=registered, cadence=60))
    assert ("review_overdue" in report.flags) is flagged


# --- the scripted scenario ---------------------------------------------------------------

REGISTERED = date(2024, 1, 15)
HEALTHY_DAY = date(2025, 3, 2)
LATER = date(2025, 5, 8)  # 70 days after the last contact with anyone
ASSESSED = AssessmentFacts(date(2025, 2, 10), EngagementLevel.ENGAGED, 5, 4, 9)


def healthy_account() -> HealthInputs:
    return HealthInputs(
        stakeholders=(
            StakeholderFacts("dm", DM, 5, SUPPORTER, date(2025, 2, 25), None, None),
            StakeholderFacts("eb", EB, 4, SUPPORTER, date(2025, 2, 20), None, None),
            StakeholderFacts("ch", CHAMPION, 3, SUPPORTER, date(2025, 2, 27), None, None),
        ),
        interactions=(
            InteractionFacts("eb", date(2025, 2, 20), 1),
            InteractionFacts("dm", date(2025, 2, 25), 2),
            InteractionFacts("ch", date(2025, 2, 27), 2),
        ),
        feedback=(FeedbackFacts(date(2025, 2, 1), 9, None),),
        latest_assessment=ASSESSED,
        actions=(
            ActionFacts(date(2025, 4, 15), open=True),
            ActionFacts(date(2025, 4, 30), open=True),
            ActionFacts(date(2025, 2, 15), open=False),
        ),
        last_review_on=date(2025, 2, 15),
        review_cadence_days=60,
        registered_on=REGISTERED,
    )


def test_scenario_given_a_well_covered_account_then_it_is_green() -> None:
    report = compute_health(healthy_account(), HEALTHY_DAY)
    assert values(report) == {
        "coverage": 100,  # 3 key roles x 20 + 3 engaged contacts 40
        "recency": 97,  # champion 3 days ago: 100 * 87 / 90 = 96.7
        "sentiment": 96,  # interactions (1+2+2)/3 -> 91.7, all supporters 100 -> 95.8
        "voice_of_customer": 90,  # NPS 9
        "execution": 100,  # no open action overdue
        "assessment": 91,  # (100 + 100 + 75 + 90) / 4 = 91.25
    }
    assert report.score == 96  # (2500 + 1940 + 1920 + 1350 + 1000 + 910) / 100 = 96.2
    assert (report.band, report.flags) == ("green", ())


def test_scenario_when_champion_leaves_contact_stops_nps_falls_and_actions_slip() -> None:
    healthy = healthy_account()
    champion = replace(healthy.stakeholders[2], left_on=date(2025, 3, 20))
    declined = replace(
        healthy,
        stakeholders=(*healthy.stakeholders[:2], champion),
        feedback=(*healthy.feedback, FeedbackFacts(date(2025, 4, 20), 5, None)),
        actions=(*healthy.actions, ActionFacts(date(2025, 6, 30), open=True)),
    )
    report = compute_health(declined, LATER)
    assert values(report) == {
        "coverage": 60,  # decision maker 20 + economic buyer 20 + 2 engaged contacts 20
        "recency": 20,  # decision maker 72 days ago: 100 * 18 / 90
        "sentiment": 96,  # the 3 interactions are still within 90 days; supporters remain
        "voice_of_customer": 50,  # NPS 5
        "execution": 33,  # 2 of 3 open actions overdue
        "assessment": 91,  # 87 days old: not stale
    }
    assert report.score == 58  # (1500 + 400 + 1920 + 750 + 330 + 910) / 100 = 58.1
    assert report.band == "amber"
    assert report.flags == (
        "champion_left",
        "no_contact_60d",
        "nps_drop",
        "overdue_actions",
        "review_overdue",
        "single_threaded",
    )
    assert why(report, "recency") == (
        "Last contact with a decision maker or champion 72 days ago (decays to 0 at 90)"
    )
    assert why(report, "execution") == "2 of 3 open actions overdue"
    assert why(report, "voice_of_customer") == "Latest feedback (2025-04-20): NPS 5"


# --- time passing ------------------------------------------------------------------------


def test_moving_today_forward_degrades_health_green_amber_red_without_new_facts() -> None:
    start = date(2025, 1, 10)
    inputs = HealthInputs(
        stakeholders=(
            person("dm", DM, NEUTRAL),
            person("ch", CHAMPION, NEUTRAL),
            person("u", USER, NEUTRAL, influence=1),
        ),
        interactions=(
            InteractionFacts("dm", start, 2),
            InteractionFacts("ch", start, 2),
            InteractionFacts("u", start, 1),
        ),
        feedback=(FeedbackFacts(start, None, 4),),
        latest_assessment=AssessmentFacts(start, EngagementLevel.ENGAGED, 4, 4, 7),
        actions=(ActionFacts(start + timedelta(days=30), open=True),),
        last_review_on=None,
        review_cadence_days=60,
        registered_on=None,
    )
    reports = [compute_health(inputs, start + timedelta(days=d)) for d in (0, 45, 100)]
    assert [r.score for r in reports] == [83, 63, 39]
    assert [r.band for r in reports] == ["green", "amber", "red"]
    assert [value(r, "recency") for r in reports] == [100, 50, 0]
    daily = [
        value(compute_health(inputs, start + timedelta(days=d)), "recency") for d in range(120)
    ]
    assert daily == sorted(daily, reverse=True)


# --- properties --------------------------------------------------------------------------

BASE = date(2025, 1, 1)
days = st.integers(-400, 400).map(lambda n: BASE + timedelta(days=n))
ids = st.sampled_from([f"s{n}" for n in range(6)])
stakeholders = st.lists(
    st.builds(
        StakeholderFacts,
        ids,
        st.sampled_from(BuyingRole),
        st.integers(1, 5),
        st.sampled_from(Disposition),
        st.none() | days,
        st.none() | days,
        st.none() | ids,
    ),
    max_size=6,
    unique_by=lambda s: s.stakeholder_id,
)
interactions = st.lists(
    st.builds(InteractionFacts, ids | st.just("stranger"), days, st.integers(-2, 2)), max_size=8
)
feedback = st.lists(
    st.builds(FeedbackFacts, days, st.none() | st.integers(0, 10), st.none() | st.integers(1, 5)),
    max_size=5,
)
assessments = st.none() | st.builds(
    AssessmentFacts,
    days,
    st.sampled_from(EngagementLevel),
    st.integers(1, 5),
    st.integers(1, 5),
    st.integers(0, 10),
)
inputs_strategy = st.builds(
    HealthInputs,
    stakeholders.map(tuple),
    interactions.map(tuple),
    feedback.map(tuple),
    assessments,
    st.lists(st.builds(ActionFacts, days, st.booleans()), max_size=5).map(tuple),
    st.none() | days,
    st.integers(1, 120),
    st.none() | days,
)
weights_strategy = (
    st.tuples(*[st.integers(0, 40)] * 6)
    .filter(lambda w: sum(w) > 0)
    .map(lambda w: HealthWeights(*w))
)


@given(inputs_strategy, days, weights_strategy)
def test_any_inputs_on_any_day_give_a_bounded_consistent_deterministic_report(
    inputs: HealthInputs, today: date, weights: HealthWeights
) -> None:
    report = compute_health(inputs, today, weights)
    assert 0 <= report.score <= 100
    assert all(0 <= c.value <= 100 for c in report.components)
    assert all(c.explanation for c in report.components)
    assert report.band == band_for(report.score)
    assert list(report.flags) == sorted(set(report.flags))
    assert set(report.flags) <= ALL_FLAGS
    weighted = Fraction(sum(c.value * c.weight for c in report.components))
    assert report.score == floor(
        weighted / sum(c.weight for c in report.components) + Fraction(1, 2)
    )
    assert compute_health(inputs, today, weights) == report


@given(inputs_strategy, days)
def test_order_of_facts_does_not_matter(inputs: HealthInputs, today: date) -> None:
    shuffled = replace(
        inputs,
        stakeholders=inputs.stakeholders[::-1],
        interactions=inputs.interactions[::-1],
        feedback=inputs.feedback[::-1],
        actions=inputs.actions[::-1],
    )
    assert compute_health(shuffled, today) == compute_health(inputs, today)


@given(inputs_strategy, days, interactions, feedback)
def test_facts_dated_after_today_do_not_change_the_report(
    inputs: HealthInputs,
    today: date,
    more_talks: list[InteractionFacts],
    more_feedback: list[FeedbackFacts],
) -> None:
    later = today + timedelta(days=1)
    future = replace(
        inputs,
        interactions=(*inputs.interactions, *(replace(i, on=max(i.on, later)) for i in more_talks)),
        feedback=(*inputs.feedback, *(replace(f, on=max(f.on, later)) for f in more_feedback)),
    )
    assert compute_health(future, today) == compute_health(inputs, today)
