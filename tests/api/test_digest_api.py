"""The manager's digest over HTTP (``GET /me/digest``), on both backends, with "today" fixed
by the settings' clock: what it lists from a small history, who may read whose, and its
Markdown and HTML renderings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.api.conftest import assert_problem, register

from kam_api.settings import Settings

Auth = dict[str, dict[str, str]]
TODAY = date(2026, 9, 1)
HOSTILE = "<script>alert(1)</script> *bold* [x](http://evil)"


@pytest.fixture
def api_settings(api_settings: Settings) -> Settings:
    """The clock at 1 September 2026."""
    return api_settings.model_copy(update={"today": TODAY})


def post(client: TestClient, path: str, body: dict[str, Any], headers: dict[str, str]) -> Any:
    response = client.post(path, json=body, headers=headers)
    assert response.status_code in (200, 201), response.text
    return response.json()


def managed(client: TestClient, auth: Auth, name: str, manager: str, registered: str) -> str:
    """Given: a standard-profile account registered on ``registered``, managed by ``manager``."""
    body = {"occurred_on": registered, "service_profile": "standard"}
    account = str(register(client, auth["dora"], name, **body)["id"])
    post(client, f"/accounts/{account}/manager", {"manager": manager}, auth["dora"])
    return account


def action(client: TestClient, auth: Auth, plan: str, what: str, owner: str, due: str) -> str:
    body = {"what": what, "owner": owner, "due_on": due}
    return str(post(client, f"/plans/{plan}/actions", body, auth["dora"])["entity_id"])


@dataclass
class Story:
    acme: str
    globex: str
    initech: str
    grace: str
    position: int


def small_history(client: TestClient, auth: Auth) -> Story:
    """Given: mia manages Acme (registered in January: its plan review and re-evaluation are
    overdue), with an overdue action of hers, one of tom's due in three days, one due next
    month and one overdue but done; a decision maker never contacted and an economic buyer
    met last week; she owns an overdue action on ann's Globex, where ann's own overdue action
    is not hers; ann's Initech is being handed over to her."""
    acme = managed(client, auth, HOSTILE, "mia", "2026-01-05")
    globex = managed(client, auth, "Globex", "ann", "2026-08-01")
    initech = managed(client, auth, "Initech", "ann", "2026-08-01")
    plan = post(client, f"/accounts/{acme}/plans", {"period": "2026"}, auth["mia"])["id"]
    action(client, auth, plan, "Plant workshop <b>now</b>", "mia", "2026-08-22")
    action(client, auth, plan, "Call the buyer", "tom", "2026-09-04")
    action(client, auth, plan, "Next quarter's review", "mia", "2026-10-30")
    done = action(client, auth, plan, "Done already", "mia", "2026-08-01")
    post(client, f"/plans/{plan}/actions/{done}/complete", {"outcome": "ok"}, auth["mia"])
    other = post(client, f"/accounts/{globex}/plans", {"period": "2026"}, auth["dora"])["id"]
    action(client, auth, other, "Send the Globex quote", "mia", "2026-08-31")
    action(client, auth, other, "Ann's own follow-up", "ann", "2026-08-15")
    person = {"name": "Grace <i>Hopper</i>", "buying_role": "decision_maker", "influence": 5}
    grace = post(client, f"/accounts/{acme}/stakeholders", person, auth["mia"])["id"]
    buyer = {"name": "Bea Buyer", "buying_role": "economic_buyer", "influence": 4}
    bea = post(client, f"/accounts/{acme}/stakeholders", buyer, auth["mia"])["id"]
    met = {"kind": "call", "on": "2026-08-25", "summary": "pricing", "sentiment": 1}
    post(client, f"/stakeholders/{bea}/interactions", met, auth["mia"])
    handover = {"to": "mia", "effective_on": "2026-09-10", "reason": "ann moves to APAC"}
    last = post(client, f"/accounts/{initech}/handover", handover, auth["dora"])
    return Story(acme, globex, initech, str(grace), last["position"])


def digest(client: TestClient, headers: dict[str, str], query: str = "") -> Any:
    response = client.get(f"/me/digest?{query}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_managers_digest_lists_what_needs_their_attention(client: TestClient, auth: Auth) -> None:
    story = small_history(client, auth)

    found = digest(client, auth["mia"], f"min_position={story.position}")

    assert (found["manager"], found["today"], found["due_within_days"]) == ("mia", "2026-09-01", 7)
    overdue = [(a["what"], a["owner"], a["days_late"]) for a in found["overdue_actions"]]
    assert overdue == [
        ("Plant workshop <b>now</b>", "mia", 10),
        ("Send the Globex quote", "mia", 1),
    ]
    assert [(a["what"], a["days_left"]) for a in found["actions_due_soon"]] == [
        ("Call the buyer", 3)
    ]
    [contacts] = found["contacts_overdue"]
    assert contacts["account_id"] == story.acme and contacts["contact_cadence_days"] == 60
    assert [(p["name"], p["buying_role"], p["last_contact_on"]) for p in contacts["people"]] == [
        ("Grace <i>Hopper</i>", "decision_maker", None)
    ]
    [handover] = found["handovers_to_acknowledge"]
    assert (handover["account_name"], handover["from_manager"], handover["effective_on"]) == (
        "Initech",
        "ann",
        "2026-09-10",
    )
    assert [(d["account_id"], d["due_on"], d["overdue"]) for d in found["reviews_due"]] == [
        (story.acme, "2026-03-06", True)
    ]
    assert [(d["account_id"], d["overdue"]) for d in found["reevaluations_due"]] == [
        (story.acme, True)
    ]
    assert found["items"] == 7

    # A wider window brings next month's action in; ann's digest has the overdue actions of
    # her account, mia's included, and neither Acme's nor the handover's.
    wider = digest(client, auth["mia"], "due_within_days=60")
    assert [a["what"] for a in wider["actions_due_soon"]] == [
        "Call the buyer",
        "Next quarter's review",
    ]
    anns = digest(client, auth["dora"], "manager=ann")
    assert [a["what"] for a in anns["overdue_actions"]] == [
        "Ann's own follow-up",
        "Send the Globex quote",
    ]
    assert anns["handovers_to_acknowledge"] == [] and anns["contacts_overdue"] == []


def test_an_erased_person_is_never_named_in_the_digest(client: TestClient, auth: Auth) -> None:
    story = small_history(client, auth)
    erased = post(
        client, f"/stakeholders/{story.grace}/erasure", {"reason": "asked to"}, auth["dora"]
    )

    found = client.get(f"/me/digest?min_position={erased['position']}", headers=auth["mia"])
    page = client.get("/me/digest?format=html", headers=auth["mia"])

    assert found.status_code == 200 and page.status_code == 200
    assert "Hopper" not in found.text and "Hopper" not in page.text
    people = [p for c in found.json()["contacts_overdue"] for p in c["people"]]
    assert all(p["name"] is None for p in people if p["stakeholder_id"] == story.grace)


def test_nothing_to_report_is_an_empty_digest(client: TestClient, auth: Auth) -> None:
    story = small_history(client, auth)

    found = digest(client, auth["max"], f"min_position={story.position}")
    text = client.get("/me/digest?format=markdown", headers=auth["max"]).text

    assert found["items"] == 0 and found["overdue_actions"] == []
    assert "Nothing needs your attention." in text


@pytest.mark.parametrize("who", ["mia", "max", "audrey", "vic"])
def test_only_directors_and_admins_read_another_managers_digest(
    client: TestClient, auth: Auth, who: str
) -> None:
    small_history(client, auth)

    refused = client.get("/me/digest?manager=ann", headers=auth[who])

    assert_problem(refused, 403, "forbidden")
    assert digest(client, auth[who], f"manager={who}")["manager"] == who


@pytest.mark.parametrize("who", ["root", "dora"])
def test_directors_and_admins_read_any_managers_digest(
    client: TestClient, auth: Auth, who: str
) -> None:
    story = small_history(client, auth)

    found = digest(client, auth[who], f"manager=mia&min_position={story.position}")

    assert found["manager"] == "mia" and found["items"] == 7
    assert_problem(client.get("/me/digest?manager=nobody", headers=auth[who]), 404, "not-found")
    assert_problem(client.get("/me/digest?manager=vic", headers=auth[who]), 404, "not-found")


@pytest.mark.parametrize(
    "query",
    ["due_within_days=-1", "due_within_days=91", "format=pdf", "manager=%3Cx%3E", "manager="],
)
def test_bad_digest_parameters_are_refused(client: TestClient, auth: Auth, query: str) -> None:
    assert_problem(client.get(f"/me/digest?{query}", headers=auth["dora"]), 422)


def test_unauthenticated_digest_is_refused(client: TestClient) -> None:
    assert_problem(client.get("/me/digest"), 401)


def test_the_digest_in_markdown_and_html_escapes_what_users_typed(
    client: TestClient, auth: Auth
) -> None:
    story = small_history(client, auth)
    client.get(f"/me/digest?min_position={story.position}", headers=auth["mia"])

    markdown = client.get("/me/digest?format=markdown", headers=auth["mia"])
    html = client.get("/me/digest", headers={**auth["mia"], "Accept": "text/html"})
    by_accept = client.get("/me/digest", headers={**auth["mia"], "Accept": "text/markdown"})

    assert markdown.headers["content-type"].startswith("text/markdown")
    assert by_accept.text == markdown.text
    text = markdown.text
    assert text.startswith("# KAM digest for mia\n") and "As of 2026-09-01: 7 items." in text
    assert "## Overdue actions (2)" in text and "## Handovers to acknowledge (1)" in text
    assert r"\<script\>alert(1)\</script\> \*bold\* \[x\](http://evil)" in text
    assert r"Plant workshop \<b\>now\</b\>" in text and "<script>" not in text
    assert r"Grace \<i\>Hopper\</i\> (decision maker)" in text
    assert html.headers["content-type"].startswith("text/html")
    page = html.text
    assert page.startswith("<!DOCTYPE html>") and "<script" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; *bold* [x](http://evil)" in page
    assert "Plant workshop &lt;b&gt;now&lt;/b&gt;" in page
    assert "Grace &lt;i&gt;Hopper&lt;/i&gt; (decision maker)" in page
    assert "<link" not in page and "src=" not in page and "href=" not in page


@pytest.mark.parametrize(
    ("accept", "media"),
    [
        ("text/html;q=0.2, text/markdown", "text/markdown"),
        ("text/markdown;q=0, text/html", "text/html"),
        ("application/xml", "application/json"),
        ("*/*", "application/json"),
        ("text/html;q=abc, application/json;q=0.5", "application/json"),
    ],
)
def test_the_accept_header_picks_the_format_it_prefers(
    client: TestClient, auth: Auth, accept: str, media: str
) -> None:
    response = client.get("/me/digest", headers={**auth["mia"], "Accept": accept})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith(media)
