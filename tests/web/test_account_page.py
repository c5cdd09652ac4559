"""The account page: Overview, Plan & actions, Timeline and What changed, now and as of a past
day (the as-of slider), on a small exact account and on the demo portfolio."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from datetime import timedelta
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from kam_api.settings import Settings
from tests.web.account_seed import SCRIPT, TODAY, Seeded, seed_account
from tests.web.conftest import web_settings_for
from tests.web.support import load_demo_into

ESCAPED = html.escape(SCRIPT, quote=False)


@pytest.fixture
def web_settings(database_url: str) -> Settings:
    return web_settings_for(database_url, today=TODAY)


@pytest.fixture
def seeded(web: TestClient) -> Seeded:
    return seed_account(web)


def text_of(page: str) -> str:
    """The page's main content as words (tags dropped, entities decoded, spaces collapsed)."""
    main = page[page.index("<main") :]
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", main)))


def url(seeded: Seeded, tab: str = "", query: str = "") -> str:
    return f"/app/accounts/{seeded.account_id}{tab}{query}"


def test_the_overview_shows_the_stage_team_health_and_flags_in_words(
    seeded: Seeded, as_user: Callable[[str], TestClient]
) -> None:
    answer = as_user("dora").get(url(seeded))
    assert answer.status_code == 200, answer.text
    page = answer.text
    current = re.findall(r'<li class="current" aria-current="step">\s*<span[^>]*>(\d)</span>', page)
    assert current == ["2"]  # research, the second of the five stages
    words = text_of(page)
    assert "2 Research (current stage)" in words
    assert "Manager max" in words and "ann — technical expert" in words
    assert "mia since 5 Jan 2026" in words and "max since 1 Apr 2026" in words
    for component in ("Coverage", "Recency", "Sentiment", "Voice of the customer", "Execution"):
        assert re.search(rf"{component} \d+ \d+ ", words), component
    assert "Latest feedback (2026-05-01): NPS 5" in words  # voice of the customer explained
    assert "NPS drop: the latest NPS is at least 2 points below the one before." in words
    assert "Overdue actions: at least one open plan action is past its due date." in words
    assert "No decision maker:" in words
    assert "Revenue against target per period" in page and "below target" in words
    assert (
        'role="img"' in page
        and "Health score by month end, 6 points, from 2026-01-31 to 2026-06-30" in page
    )


def test_text_from_people_renders_as_text_on_every_tab(
    seeded: Seeded, as_user: Callable[[str], TestClient]
) -> None:
    dora = as_user("dora")
    for tab in ("", "/plan", "/timeline", "/changes?from=2026-01-05"):
        page = dora.get(url(seeded, tab)).text
        assert SCRIPT not in page, tab
        assert ESCAPED in page, tab  # the account's name, the action, the stakeholder


def test_as_of_before_the_handover_shows_the_previous_manager_and_the_older_health(
    seeded: Seeded, as_user: Callable[[str], TestClient]
) -> None:
    dora = as_user("dora")
    now = text_of(dora.get(url(seeded)).text)
    answer = dora.get(url(seeded, query="?as_of=2026-03-15"))
    assert answer.status_code == 200, answer.text
    then = text_of(answer.text)
    assert "You are looking at this account as it was on 15 Mar 2026 — back to today" in then
    assert "Manager mia" in then and "max since" not in then
    assert "Relationship health on 15 Mar 2026" in then
    assert "NPS drop" not in then and "NPS drop" in now  # one NPS only, back then
    assert "Latest feedback (2026-02-01): NPS 9" in then
    score = re.compile(r"Score (\d+)")
    assert score.search(then) and score.search(now)
    page = answer.text
    assert f'href="/app/accounts/{seeded.account_id}/plan?as_of=2026-03-15"' in page
    assert f'href="/app/accounts/{seeded.account_id}/timeline?as_of=2026-03-15"' in page
    assert f"/changes?from=2026-03-15&amp;to={TODAY.isoformat()}" in page
    assert 'name="as_of" value="2026-03-15"' in page and 'type="range"' in page


def test_the_plan_marks_overdue_actions_with_their_days_late_now_and_as_of(
    seeded: Seeded, as_user: Callable[[str], TestClient]
) -> None:
    dora = as_user("dora")
    now = dora.get(url(seeded, "/plan"))
    assert now.status_code == 200, now.text
    late = (TODAY - (TODAY.replace(month=3, day=1))).days
    assert f"overdue by {late} days" in now.text and '<tr class="late">' in now.text
    assert "2026: Grow" in text_of(now.text) and "1 overdue" in text_of(now.text)
    then = dora.get(url(seeded, "/plan", "?as_of=2026-03-15")).text
    assert "overdue by 14 days" in then
    before = text_of(dora.get(url(seeded, "/plan", "?as_of=2026-02-15")).text)
    assert "overdue" not in before and "Call " in before
    nothing = text_of(dora.get(url(seeded, "/plan", "?as_of=2026-01-10")).text)
    assert "This account had no plan on 10 Jan 2026." in nothing


def rows(page: str) -> list[str]:
    return re.findall(r'<a href="/app/events/(\d+)">', page)


def test_timeline_filters_narrow_the_rows(
    seeded: Seeded, as_user: Callable[[str], TestClient]
) -> None:
    dora = as_user("dora")
    every = rows(dora.get(url(seeded, "/timeline")).text)
    assert len(every) == 12
    handed = dora.get(url(seeded, "/timeline", "?type=HandedOver")).text
    assert len(rows(handed)) == 1 and "Mia moves to the EMEA team" in handed
    assert '<option value="HandedOver" selected>' in handed
    assert len(rows(dora.get(url(seeded, "/timeline", "?actor=max")).text)) == 1
    february = rows(dora.get(url(seeded, "/timeline", "?from=2026-01-20&to=2026-02-01")).text)
    assert len(february) == 3  # the plan, its action, the first feedback
    as_of = rows(dora.get(url(seeded, "/timeline", "?as_of=2026-01-10")).text)
    assert as_of == every[:4]
    both = rows(dora.get(url(seeded, "/timeline", "?as_of=2026-01-10&from=2026-01-06")).text)
    assert both == every[2:4]
    assert dora.get(url(seeded, "/timeline", "?type=<b>")).status_code == 422
    assert dora.get(url(seeded, "/timeline", "?from=2026-03-01&to=2026-02-01")).status_code == 400
    assert dora.get(url(seeded, "/timeline", "?cursor=nonsense")).status_code == 400


def test_what_changed_lists_the_changes_in_words(
    seeded: Seeded, as_user: Callable[[str], TestClient]
) -> None:
    answer = as_user("dora").get(url(seeded, "/changes", "?from=2026-03-15&to=2026-06-30"))
    assert answer.status_code == 200, answer.text
    words = text_of(answer.text)
    assert "What changed from 15 Mar 2026 to 30 Jun 2026" in words
    assert "manager: mia → max" in words
    assert "latest feedback \N{SINGLE RIGHT-POINTING ANGLE QUOTATION MARK} nps: 9 → 5" in words
    assert "feedback count: 1 → 2" in words
    quiet = text_of(
        as_user("dora").get(url(seeded, "/changes", "?from=2026-02-10&to=2026-03-10")).text
    )
    assert "Nothing changed." in quiet


def test_bad_days_are_readable_4xx_pages(
    seeded: Seeded, as_user: Callable[[str], TestClient]
) -> None:
    dora = as_user("dora")
    cases = {
        "?as_of=yesterday": "is not a date",
        "?as_of=2026-01-04": "was registered on 5 Jan 2026",
        f"?as_of={(TODAY + timedelta(days=1)).isoformat()}": "has not happened yet",
    }
    for query, words in cases.items():
        for tab in ("", "/plan", "/timeline"):
            answer = dora.get(url(seeded, tab, query))
            assert answer.status_code == 400, (tab, query)
            assert words in text_of(answer.text)
    assert dora.get(url(seeded, "/changes")).status_code == 400
    assert dora.get(url(seeded, "/changes", "?from=2026-05-01&to=2026-04-01")).status_code == 400
    unknown = dora.get("/app/accounts/00000000-0000-4000-8000-000000000000")
    assert unknown.status_code == 404 and "<h1>" in unknown.text


def test_viewers_are_refused_and_other_readers_see_the_pages(
    seeded: Seeded, as_user: Callable[[str], TestClient]
) -> None:
    vic = as_user("vic")
    for tab in ("", "/plan", "/timeline", "/changes?from=2026-03-01"):
        answer = vic.get(url(seeded, tab))
        assert answer.status_code == 403, tab
        assert "Not allowed" in answer.text and "read models only" in answer.text
    for name in ("audrey", "max", "mia"):
        assert as_user(name).get(url(seeded)).status_code == 200, name


def test_demo_accounts_render_now_and_before_their_handovers(
    web: TestClient, as_user: Callable[[str], TestClient]
) -> None:
    load_demo_into(web, accounts=4)
    dora = as_user("dora")
    kam = web.app.state.kam  # type: ignore[attr-defined]
    from kam_projections.portfolio_reads import PortfolioFilter, portfolio_rows

    views = web.app.state.views  # type: ignore[attr-defined]
    accounts = [
        r["account_id"] for r in portfolio_rows(views, PortfolioFilter(), today=TODAY).items
    ]
    assert len(accounts) == 4
    handed_over = 0
    for account_id in accounts:
        for tab in ("", "/plan", "/timeline"):
            assert dora.get(f"/app/accounts/{account_id}{tab}").status_code == 200
        history = kam.get_account(UUID(account_id)).manager_history
        if len(history) > 1:
            handed_over += 1
            before = history[-1].since - timedelta(days=1)
            page = text_of(dora.get(f"/app/accounts/{account_id}?as_of={before}").text)
            assert f"Manager {history[-2].manager}" in page
    assert handed_over


def test_a_pending_handover_is_shown_in_a_banner(
    web: TestClient, seeded: Seeded, as_user: Callable[[str], TestClient]
) -> None:
    from datetime import UTC, datetime

    from kam_domain.commands import HandOver
    from kam_domain.values import Envelope
    from kam_projections.freshness import wait_for_position

    state = web.app.state  # type: ignore[attr-defined]
    result = state.kam.handle(
        HandOver(account_id=seeded.account_id, to="mia", effective_on=TODAY),
        meta=Envelope(
            actor="dora", occurred_on=datetime(2026, 6, 20, tzinfo=UTC), reason="Max leaves"
        ),
    )
    assert wait_for_position(state.views, result.position, 10)
    words = text_of(as_user("dora").get(url(seeded)).text)
    assert (
        "Handover pending: max hands this account over to mia, effective 30 Jun 2026 "
        "(Max leaves); waiting for mia to acknowledge." in words
    )
    earlier = text_of(as_user("dora").get(url(seeded, query="?as_of=2026-06-19")).text)
    assert "Handover pending" not in earlier


def test_an_erased_stakeholder_shows_as_erased_in_the_timeline_and_changes(
    web: TestClient, seeded: Seeded, as_user: Callable[[str], TestClient]
) -> None:
    from datetime import UTC, datetime

    from kam_domain.commands import ErasePersonalData
    from kam_domain.personal import ERASED
    from kam_domain.values import Envelope
    from kam_projections.freshness import wait_for_position

    state = web.app.state  # type: ignore[attr-defined]
    result = state.kam.handle(
        ErasePersonalData(stakeholder_id=seeded.stakeholder_id),
        meta=Envelope(
            actor="dora", occurred_on=datetime(2026, 6, 1, tzinfo=UTC), reason="Erasure request"
        ),
    )
    assert wait_for_position(state.views, result.position, 10)
    dora = as_user("dora")
    for tab in ("/timeline", "/changes?from=2026-01-10&to=2026-01-20"):
        page = dora.get(url(seeded, tab)).text
        assert ESCAPED not in page.replace(f"Call {ESCAPED}", "").replace(f"Acme {ESCAPED}", "")
        assert ERASED in page, tab


def test_the_health_shown_follows_new_facts(
    web: TestClient, seeded: Seeded, as_user: Callable[[str], TestClient]
) -> None:
    """The page remembers a computed health only until the account's facts change."""
    from datetime import UTC, datetime

    from kam_domain.commands import RecordFeedback
    from kam_domain.values import Envelope
    from kam_projections.freshness import wait_for_position

    dora = as_user("dora")
    assert "Latest feedback (2026-05-01): NPS 5" in text_of(dora.get(url(seeded)).text)
    state = web.app.state  # type: ignore[attr-defined]
    result = state.kam.handle(
        RecordFeedback(account_id=seeded.account_id, nps=10),
        meta=Envelope(actor="dora", occurred_on=datetime(2026, 6, 2, tzinfo=UTC)),
    )
    assert wait_for_position(state.views, result.position, 10)
    words = text_of(dora.get(url(seeded)).text)
    assert "Latest feedback (2026-06-02): NPS 10" in words and "NPS drop" not in words


def test_the_changes_include_shows_what_a_stale_form_missed(
    web: TestClient, seeded: Seeded
) -> None:
    """What the Update tab shows beside a refused stale form: the changes after the version
    the form was made at, rendered by the shared include."""
    from starlette.requests import Request

    from kam_api.web.routes.account_changes import changes_since, render_changes

    request = Request({"type": "http", "app": web.app, "headers": [], "path": "/"})
    kam = web.app.state.kam  # type: ignore[attr-defined]
    before_handover = kam.get_account(seeded.account_id).version - 3  # handover, ack, feedback
    lines = changes_since(request, seeded.account_id, seeded.account_id, before_handover)
    fields = {(line.field, line.before, line.after) for line in lines}
    assert ("manager", "mia", "max") in fields
    html_text = str(render_changes(request, lines))
    assert "manager: " in html_text and '<span class="before">mia</span>' in html_text
    assert ESCAPED in html_text and SCRIPT not in html_text  # the account's name, as text
    assert "Nothing changed." in str(render_changes(request, []))
