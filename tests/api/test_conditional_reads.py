"""Issue 14 part 3: conditional GETs on the read-model endpoints (``kam_api.conditional``).
Every answer carries an ETag naming where the read models stood and ``Cache-Control: private,
no-cache``; If-None-Match with the current tag is 304 without a body; a write moves the tag;
a stale tag gets 200; a read-your-writes ``min_position`` read still waits. Both backends."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.api.conftest import assert_problem, register
from tests.support import TEST_MASTER_KEY, api_app

from kam_api.auth import Role
from kam_api.conditional import matches
from kam_api.settings import Settings

Auth = dict[str, dict[str, str]]

#: The read-model endpoints, "{account}" standing for a registered account's id.
READS = [
    "/portfolio?limit=5",
    "/portfolio/summary",
    "/actions",
    "/actions/rollup?by=account",
    "/relationship-health",
    "/accounts/{account}/health",
    "/accounts/{account}/history",
]


def _get(client: TestClient, path: str, headers: dict[str, str], **extra: str) -> Any:
    return client.get(path, headers={**headers, **extra})


def _financials(client: TestClient, auth: Auth, account: str, revenue: str) -> int:
    response = client.post(
        f"/accounts/{account}/financials",
        json={"period": "2026", "revenue": revenue, "currency": "EUR"},
        headers=auth["dora"],
    )
    assert response.status_code == 200, response.text
    position: int = response.json()["position"]
    return position


@pytest.mark.parametrize("template", READS)
def test_every_read_model_answer_is_tagged_and_revalidates_to_304(
    client: TestClient, auth: Auth, template: str
) -> None:
    account = register(client, auth["dora"])
    path = template.format(account=account["id"])
    first = _get(client, f"{path}{'&' if '?' in path else '?'}min_position={account['position']}",
                 auth["audrey"])  # fmt: skip
    assert first.status_code == 200, first.text
    assert first.headers["Cache-Control"] == "private, no-cache"
    tag = first.headers["ETag"]
    assert tag.startswith('"') and tag.endswith('"')
    again = _get(client, path, auth["audrey"])
    # min_position says when to answer, not what: the same answer, the same tag.
    assert again.status_code == 200 and again.headers["ETag"] == tag
    unchanged = _get(client, path, auth["audrey"], **{"If-None-Match": tag})
    assert unchanged.status_code == 304
    assert unchanged.content == b""
    assert unchanged.headers["ETag"] == tag
    assert unchanged.headers["Cache-Control"] == "private, no-cache"
    # A list of tags and a weak form of it match too; another tag, or "*", does not.
    listed = _get(client, path, auth["audrey"], **{"If-None-Match": f'"other", W/{tag}'})
    assert listed.status_code == 304
    assert _get(client, path, auth["audrey"], **{"If-None-Match": "*"}).status_code == 200
    other = _get(client, path, auth["audrey"], **{"If-None-Match": '"1-0000"'})
    assert other.status_code == 200
    assert other.content == again.content and other.headers["ETag"] == tag


def test_a_write_moves_the_tag_and_a_stale_tag_gets_the_new_answer(
    client: TestClient, auth: Auth
) -> None:
    account = register(client, auth["dora"])["id"]
    position = _financials(client, auth, account, "100")
    before = client.get(f"/portfolio?min_position={position}", headers=auth["vic"])
    tag = before.headers["ETag"]
    assert before.json()["items"][0]["last_revenue"] == 100
    assert client.get("/portfolio", headers={**auth["vic"], "If-None-Match": tag}).status_code == (
        304
    )
    position = _financials(client, auth, account, "250")
    after = client.get(
        f"/portfolio?min_position={position}", headers={**auth["vic"], "If-None-Match": tag}
    )
    assert after.status_code == 200
    assert after.json()["items"][0]["last_revenue"] == 250
    assert after.headers["ETag"] != tag
    # Once the read models have the write, the old tag is stale without min_position too.
    stale = client.get("/portfolio", headers={**auth["vic"], "If-None-Match": tag})
    assert stale.status_code == 200 and stale.json()["items"][0]["last_revenue"] == 250
    fresh = client.get(
        "/portfolio", headers={**auth["vic"], "If-None-Match": stale.headers["ETag"]}
    )
    assert fresh.status_code == 304


def test_kept_answers_are_reused_until_a_write_and_kept_per_role(
    client: TestClient, auth: Auth
) -> None:
    """The portfolio's answers are kept serialised per state and role (KAM_ANSWER_CACHE_SIZE):
    the same question again is the kept answer; after a write, the new answer."""
    account = register(client, auth["dora"])["id"]
    position = _financials(client, auth, account, "100")
    first = client.get(f"/portfolio?min_position={position}", headers=auth["vic"])
    kept = client.app.state.answer_cache  # type: ignore[attr-defined]
    hits = kept.hits
    again = client.get("/portfolio", headers=auth["vic"])
    assert kept.hits == hits + 1
    assert again.content == first.content and again.headers["ETag"] == first.headers["ETag"]
    # Another role's reader: an answer of its own (the same rows today).
    director = client.get("/portfolio", headers=auth["dora"])
    assert kept.hits == hits + 1 and director.json() == first.json()
    position = _financials(client, auth, account, "250")
    after = client.get(f"/portfolio?min_position={position}", headers=auth["vic"])
    assert after.json()["items"][0]["last_revenue"] == 250
    summary = client.get("/portfolio/summary", headers=auth["vic"])
    assert client.get("/portfolio/summary", headers=auth["vic"]).content == summary.content
    assert kept.hits == hits + 2


def test_the_tag_names_the_representation_and_the_question(client: TestClient, auth: Auth) -> None:
    register(client, auth["dora"])
    headers = auth["vic"]
    as_json = client.get("/portfolio", headers=headers).headers["ETag"]
    as_csv = client.get("/portfolio", headers={**headers, "Accept": "text/csv"})
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert as_csv.headers["ETag"] != as_json
    assert as_csv.headers["Cache-Control"] == "private, no-cache"
    revalidated = client.get(
        "/portfolio", headers={**headers, "Accept": "text/csv", "If-None-Match": as_json}
    )
    assert revalidated.status_code == 200  # the JSON page's tag is not the CSV's
    by_name = client.get("/portfolio?sort=name", headers={**headers, "If-None-Match": as_json})
    assert by_name.status_code == 200


def test_errors_are_not_turned_into_304(client: TestClient, auth: Auth) -> None:
    tag = client.get("/portfolio", headers=auth["vic"]).headers["ETag"]
    refused = client.get(
        "/portfolio?cursor=nonsense", headers={**auth["vic"], "If-None-Match": "*"}
    )
    assert_problem(refused, 400)
    unknown = client.get(
        "/accounts/00000000-0000-4000-8000-000000000000/history",
        headers={**auth["audrey"], "If-None-Match": tag},
    )
    assert_problem(unknown, 404)
    assert client.get("/portfolio", headers={"If-None-Match": tag}).status_code == 401


def test_a_read_your_writes_request_waits_before_it_is_tagged(
    database_url: str,
) -> None:
    """The projector is held back: a read with min_position and the tag from before the
    write waits for the read models, then answers the write with a new tag (never 304)."""
    settings = Settings(
        database_url=database_url,
        embedded_projector=False,
        read_wait_seconds=10,
        pg_pool_size=4,
        master_key=TEST_MASTER_KEY,
    )
    with TestClient(api_app(settings), raise_server_exceptions=False) as client:
        state: Any = client.app.state  # type: ignore[attr-defined]
        headers = {"Authorization": f"Bearer {state.users.add('dora', Role.DIRECTOR)}"}
        account = register(client, headers)["id"]
        state.projector.catch_up()
        old = client.get("/portfolio", headers=headers)
        tag = old.headers["ETag"]
        position = client.post(
            f"/accounts/{account}/financials",
            json={"period": "2026", "revenue": "700", "currency": "EUR"},
            headers=headers,
        ).json()["position"]
        # Not projected yet: the read models (and so the tag) have not moved.
        assert client.get("/portfolio", headers={**headers, "If-None-Match": tag}).status_code == (
            304
        )
        delay = 0.5
        catcher = threading.Timer(delay, state.projector.catch_up)
        started = time.monotonic()
        catcher.start()
        try:
            answer = client.get(
                f"/portfolio?min_position={position}", headers={**headers, "If-None-Match": tag}
            )
        finally:
            catcher.join()
        assert time.monotonic() - started >= delay * 0.9  # it waited for the projector
        assert answer.status_code == 200
        assert answer.json()["items"][0]["last_revenue"] == 700
        assert answer.headers["ETag"] != tag


def test_if_none_match_is_compared_weakly() -> None:
    assert matches('"5-ab"', '"5-ab"')
    assert matches('W/"5-ab"', '"5-ab"')
    assert matches(' "x" , "5-ab" ', '"5-ab"')
    assert not matches("*", '"5-ab"')  # a tag is held only for a question answered
    assert not matches('"5-ab', '"5-ab"')
    assert not matches('"5-abc"', '"5-ab"')
    assert not matches("", '"5-ab"')
    assert not matches(None, '"5-ab"')
