"""Limits and hostile input over HTTP, on both backends: bodies are capped, free text is bounded,
odd headers, cursors and filters are 4xx problems (never a 5xx), unknown query parameters are
refused, and names cannot hide characters that bypass the unique-name rule."""

from __future__ import annotations

import asyncio
import base64
import json
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.api.conftest import assert_problem, register

Auth = dict[str, dict[str, str]]
MiB = 1024 * 1024


def cursor_of(values: Any) -> str:
    """A well-formed cursor (base64 of JSON) holding any value."""
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def log_head(client: TestClient, auth: Auth) -> int:
    response = client.get("/events", params={"limit": 1000}, headers=auth["audrey"])
    assert response.status_code == 200, response.text
    return len(response.json()["items"])


# --- Request bodies -------------------------------------------------------------------------


def test_a_body_larger_than_the_cap_is_refused_with_413_and_changes_nothing(
    client: TestClient, auth: Auth
) -> None:
    # Given an empty portfolio
    before = log_head(client, auth)
    # When a 2 MiB body arrives (over the default 1 MiB cap)
    body = {"name": "Big Co", "industry": "x", "region": "y", "reason": "r" * (2 * MiB)}
    response = client.post("/accounts", json=body, headers=auth["dora"])
    # Then it is refused as too large, and nothing was written
    problem = assert_problem(response, 413, "body-too-large")
    assert problem["max_body_bytes"] == MiB
    assert log_head(client, auth) == before


def test_a_chunked_body_without_length_is_cut_off_at_the_cap(
    client: TestClient, auth: Auth
) -> None:
    # Given a body streamed in 64 KiB chunks with no Content-Length, 4 MiB in all
    chunks = [b'{"name": "Big Co", "industry": "x", "region": "y", "reason": "']
    chunks += [b"r" * 65536] * 64 + [b'"}']
    read = [0]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        read[0] += 1
        body = chunks[read[0] - 1]
        return {"type": "http.request", "body": body, "more_body": read[0] < len(chunks)}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/accounts",
        "raw_path": b"/accounts",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"content-type", b"application/json"),
            (b"transfer-encoding", b"chunked"),
            (b"authorization", auth["dora"]["Authorization"].encode()),
        ],
        "client": ("127.0.0.1", 1234),
        "server": ("testserver", 80),
        "state": {},
    }
    before = log_head(client, auth)
    # When it is sent (on a thread of its own: a browser test run earlier in this process
    # leaves Playwright's event loop running on this one)
    with ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, client.app(scope, receive, send)).result()
    # Then it is refused as too large once the cap is passed, the rest left unread
    assert sent[0]["status"] == 413
    assert dict(sent[0]["headers"])[b"content-type"] == b"application/problem+json"
    assert json.loads(sent[1]["body"])["type"].endswith("/body-too-large")
    assert read[0] <= MiB // 65536 + 2 < len(chunks)
    # ... and nothing was written
    assert log_head(client, auth) == before


def test_a_body_within_the_cap_but_a_reason_over_its_length_is_a_422(
    client: TestClient, auth: Auth
) -> None:
    # Given an account
    account_id = register(client, auth["dora"])["id"]
    before = log_head(client, auth)
    # When a change carries a reason of 2001 characters
    response = client.post(
        f"/accounts/{account_id}/service-profile",
        json={"service_profile": "light", "reason": "r" * 2001},
        headers=auth["dora"],
    )
    # Then it is refused naming the field, and nothing was written
    problem = assert_problem(response, 422, "validation")
    assert problem["errors"][0]["loc"][:2] == ["body", "reason"]
    assert log_head(client, auth) == before
    # ... while a reason of 2000 characters is fine
    ok = client.post(
        f"/accounts/{account_id}/service-profile",
        json={"service_profile": "premium", "reason": "r" * 2000},
        headers=auth["dora"],
    )
    assert ok.status_code == 200, ok.text


def test_free_text_fields_and_limits_are_bounded_in_the_openapi(client: TestClient) -> None:
    # Given the API's schema
    spec = client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    # Then the envelope's reason and the commands' free text name their maximum length
    assert schemas["RegisterAccount"]["properties"]["reason"]["anyOf"][0]["maxLength"] == 2000
    assert schemas["RegisterAccount"]["properties"]["name"]["maxLength"] == 200
    assert schemas["LogInteraction"]["properties"]["summary"]["maxLength"] == 2000
    # ... and every list's limit its bounds
    for path in ("/portfolio", "/actions", "/accounts", "/relationship-health"):
        (limit,) = [p for p in spec["paths"][path]["get"]["parameters"] if p["name"] == "limit"]
        assert limit["schema"]["minimum"] == 1 and limit["schema"]["maximum"] >= 1


# --- Query parameters -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "unknown"),
    [
        ("/accounts", {"teir": "key"}),
        ("/portfolio", {"manger": "mia"}),
        ("/actions", {"status": "planned", "ownr": "mia"}),
        ("/relationship-health", {"colour": "red"}),
    ],
)
def test_an_unknown_query_parameter_on_a_list_is_a_400(
    client: TestClient, auth: Auth, path: str, unknown: dict[str, str]
) -> None:
    # Given an account (so an ignored filter would list it)
    register(client, auth["dora"])
    # When a list is asked with a misspelt parameter
    response = client.get(path, params=unknown, headers=auth["dora"])
    # Then it is refused, naming the parameter
    problem = assert_problem(response, 400, "unknown-parameter")
    misspelt = next(name for name in unknown if name != "status")
    assert misspelt in problem["detail"]
    assert ["query", misspelt] in [e["loc"] for e in problem["errors"]]


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/portfolio", {"manager": "mia\x00"}),
        ("/accounts", {"manager": "\x00"}),
        ("/actions", {"owner": "a\x00b"}),
        ("/accounts/00000000-0000-0000-0000-000000000001/history", {"event_type": "x\x00"}),
    ],
)
def test_a_nul_character_in_a_filter_is_a_422(
    client: TestClient, auth: Auth, path: str, params: dict[str, str]
) -> None:
    # When a list filter holds a NUL (PostgreSQL text cannot)
    response = client.get(path, params=params, headers=auth["dora"])
    # Then it is refused before it reaches the store
    problem = assert_problem(response, 422, "validation")
    assert problem["errors"][0]["loc"][0] == "query"


# --- Headers --------------------------------------------------------------------------------


@pytest.mark.parametrize("if_match", ["9" * 5000, '"' + "1" * 19 + '"', "W/" + "7" * 4301])
def test_an_if_match_of_thousands_of_digits_is_a_400(
    client: TestClient, auth: Auth, if_match: str
) -> None:
    # Given an account
    account_id = register(client, auth["dora"])["id"]
    # When a change names a version of thousands of digits
    response = client.post(
        f"/accounts/{account_id}/service-profile",
        json={"service_profile": "premium"},
        headers={**auth["dora"], "If-Match": if_match},
    )
    # Then it is a malformed If-Match
    assert_problem(response, 400, "bad-if-match")


# --- Cursors --------------------------------------------------------------------------------

WRONG_SHAPES = [
    {"a": 1},
    [{"a": 1}, {"b": 2}],
    [{"a": 1}, {"b": 2}, {"c": 3}],
    ["revenue", {"x": 1}, "00000000-0000-0000-0000-000000000001"],
    ["revenue", 10, {"x": 1}],
    ["name", "Acme\x00", "00000000-0000-0000-0000-000000000001"],
    ["health", "not a number", "not a uuid"],
    [10**40, "00000000-0000-0000-0000-000000000001"],
    ["2026-01-01\x00", "00000000-0000-0000-0000-000000000001"],
    [[1, 2]],
    [True],
    [10**30],
    ["x" * 5000],
]


@pytest.mark.parametrize(
    "path",
    [
        "/relationship-health",
        "/portfolio",
        "/accounts",
        "/actions",
        "/accounts/{account}/history",
        "/accounts/{account}/plans",
        "/accounts/{account}/stakeholders",
    ],
)
def test_a_well_formed_cursor_of_the_wrong_shape_is_a_400(
    client: TestClient, auth: Auth, path: str
) -> None:
    # Given an account
    account_id = register(client, auth["dora"])["id"]
    for values in WRONG_SHAPES:
        # When a list is asked for the page after a cursor that decodes to the wrong shape
        response = client.get(
            path.format(account=account_id),
            params={"cursor": cursor_of(values)},
            headers=auth["dora"],
        )
        # Then it is a bad cursor, never a 500
        assert response.status_code < 500, (values, response.text)
        assert_problem(response, 400, "bad-cursor")


# --- Names ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "hidden",
    [
        "\u200b",  # zero-width space
        "\u200d",  # zero-width joiner
        "\ufeff",  # byte order mark / zero-width no-break space
        "\u202e",  # right-to-left override
        "\u2066",  # left-to-right isolate
        "\u200f",  # right-to-left mark
    ],
)
def test_an_account_name_with_a_hidden_character_is_refused_not_a_new_name(
    client: TestClient, auth: Auth, hidden: str
) -> None:
    # Given an account named "Acme Industrial"
    register(client, auth["dora"], name="Acme Industrial")
    before = log_head(client, auth)
    # When another is registered with a bidi control or zero-width character inside that name
    for name in (
        f"Acme{hidden} Industrial",
        f"{hidden}Acme Industrial",
        f"Acme Industrial{hidden}",
    ):
        response = client.post(
            "/accounts",
            json={"name": name, "industry": "Manufacturing", "region": "EMEA"},
            headers=auth["dora"],
        )
        # Then it is refused as an invalid value, and nothing was written
        problem = assert_problem(response, 422, "validation")
        assert problem["errors"][0]["loc"][:2] == ["body", "name"]
        assert "zero-width" in problem["errors"][0]["msg"]
    assert log_head(client, auth) == before


def test_names_are_kept_in_nfc_and_compared_in_that_form(client: TestClient, auth: Auth) -> None:
    # Given an account registered with a decomposed accent ("e" + combining acute)
    decomposed = "Cafe\u0301 Noir"
    result = register(client, auth["dora"], name=decomposed)
    # Then it is kept in the composed (NFC) form
    stored = client.get(f"/accounts/{result['id']}", headers=auth["dora"]).json()["name"]
    assert stored == unicodedata.normalize("NFC", decomposed) == "Caf\u00e9 Noir"
    # When the same name is registered composed, or in another case
    for name in ("Caf\u00e9 Noir", "CAF\u00c9  noir"):
        response = client.post(
            "/accounts",
            json={"name": name, "industry": "x", "region": "y"},
            headers=auth["dora"],
        )
        # Then the unique-name rule holds
        assert_problem(response, 409, "account-name-taken")


def test_team_member_stakeholder_and_owner_names_refuse_hidden_characters(
    client: TestClient, auth: Auth, account: str
) -> None:
    # Given an account managed by mia
    mia = auth["mia"]
    before = log_head(client, auth)
    # When a team member, a stakeholder and an owner are named with hidden characters
    team = client.post(
        f"/accounts/{account}/team",
        json={"member": "ann\u200b", "roles": ["relationship_leader"]},
        headers=mia,
    )
    stakeholder = client.post(
        f"/accounts/{account}/stakeholders",
        json={"name": "\u202eMarie Curie", "buying_role": "decision_maker", "influence": 4},
        headers=mia,
    )
    removal = client.delete(f"/accounts/{account}/team/ann%E2%80%8B", headers=mia)
    # ... or with a NUL, which must not reach the store's user lookup
    nul_member = client.post(
        f"/accounts/{account}/team",
        json={"member": "ann\x00", "roles": ["relationship_leader"]},
        headers=mia,
    )
    nul_manager = client.post(
        f"/accounts/{account}/manager", json={"manager": "a\x00b"}, headers=auth["dora"]
    )
    # Then each is refused as an invalid value, and nothing was written
    for response in (team, stakeholder, removal, nul_member, nul_manager):
        assert_problem(response, 422, "validation")
    assert log_head(client, auth) == before
