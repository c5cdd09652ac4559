"""Operations over HTTP on both backends: ``GET /metrics`` (who may read it, requests by route
template, commands by result, the projector's lag, the PostgreSQL pools) and the correlation
id on every log line of a request and on its events."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from tests.api.conftest import assert_problem, register
from tests.support import api_app

from kam_api.observability import (
    CORRELATION_ID,
    CorrelationFilter,
    JsonFormatter,
    log_config,
    resolve_log_format,
)
from kam_api.settings import Settings

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(client: TestClient, headers: dict[str, str]) -> Samples:
    """Every sample of ``/metrics``, keyed by (name, labels)."""
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def sample(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def test_metrics_count_a_request_by_route_template_and_a_command_by_result(
    client: TestClient, auth: dict[str, dict[str, str]]
) -> None:
    # Given an account registered, read, and a second registration of its name refused
    account_id = register(client, auth["dora"])["id"]
    assert client.get(f"/accounts/{account_id}", headers=auth["dora"]).status_code == 200
    refused = client.post(
        "/accounts",
        json={"name": "Acme Industrial", "industry": "Retail", "region": "EMEA"},
        headers=auth["dora"],
    )
    slug = refused.json()["type"].rsplit("/", 1)[-1]
    assert refused.status_code >= 400

    # When an admin scrapes the metrics
    samples = scrape(client, auth["root"])

    # Then the read is counted under its route template, not its path
    get_account = {"method": "GET", "route": "/accounts/{account_id}", "status": "200"}
    assert sample(samples, "kam_http_requests_total", **get_account) == 1
    assert not any(str(account_id) in dict(labels).get("route", "") for _, labels in samples)
    assert sample(
        samples, "kam_http_request_duration_seconds_count", method="GET", route=get_account["route"]
    )
    # and the commands by type and result, the refusal by its problem type
    assert (
        sample(
            samples, "kam_commands_total", command="RegisterAccount", result="accepted", error=""
        )
        == 1
    )
    assert (
        sample(
            samples, "kam_commands_total", command="RegisterAccount", result="refused", error=slug
        )
        == 1
    )
    status = str(refused.status_code)
    assert sample(
        samples, "kam_http_requests_total", method="POST", route="/accounts", status=status
    )
    assert sample(samples, "kam_store_up") == 1


@pytest.fixture
def lagging_client(api_settings: Settings) -> Iterator[TestClient]:
    """The app without its embedded projector: the read models stay where they are."""
    settings = api_settings.model_copy(update={"embedded_projector": False})
    with TestClient(api_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client


def test_metrics_show_the_projectors_lag_in_events_and_seconds(
    lagging_client: TestClient,
) -> None:
    # Given three accounts registered while no projector runs
    users = lagging_client.app.state.users  # type: ignore[attr-defined]
    from kam_api.auth import Role

    dora = {"Authorization": f"Bearer {users.add('dora', Role.DIRECTOR)}"}
    root = {"Authorization": f"Bearer {users.add('root', Role.ADMIN)}"}
    positions = [register(lagging_client, dora, name=f"Account {n}")["position"] for n in range(3)]

    # When the metrics are scraped
    samples = scrape(lagging_client, root)

    # Then the read models lag by every event written, and the oldest of them is some time old
    written = sample(samples, "kam_events_written_total")
    assert written == max(positions)
    assert sample(samples, "kam_events_projected_total") == 0
    assert sample(samples, "kam_projector_lag_events") == written
    lag_seconds = sample(samples, "kam_projector_lag_seconds")
    assert lag_seconds is not None and 0 < lag_seconds < 600


def test_metrics_show_no_lag_once_the_read_models_caught_up(
    client: TestClient, auth: dict[str, dict[str, str]]
) -> None:
    # Given an account registered and the read models past its position
    position = register(client, auth["dora"])["position"]
    assert (
        client.get(f"/portfolio?min_position={position}", headers=auth["dora"]).status_code == 200
    )

    # When the metrics are scraped, then nothing is left to project
    samples = scrape(client, auth["root"])
    assert sample(samples, "kam_projector_lag_events") == 0
    assert sample(samples, "kam_projector_lag_seconds") == 0
    projected = sample(samples, "kam_events_projected_total")
    assert projected is not None and projected >= position


def test_metrics_show_the_postgresql_pools(
    client: TestClient, auth: dict[str, dict[str, str]], database_url: str
) -> None:
    # Given the service on PostgreSQL (SQLite has no connection pools)
    if not database_url.startswith("postgresql"):
        samples = scrape(client, auth["root"])
        assert not any(name.startswith("kam_db_pool") for name, _ in samples)
        return
    register(client, auth["dora"])

    # When the metrics are scraped
    samples = scrape(client, auth["root"])

    # Then both pools show their size, idle connections and waiting requests
    for pool in ("events", "read_models"):
        size = sample(samples, "kam_db_pool_connections", pool=pool)
        idle = sample(samples, "kam_db_pool_idle_connections", pool=pool)
        assert size is not None and size >= 1
        assert idle is not None and 0 <= idle <= size
        assert sample(samples, "kam_db_pool_max_connections", pool=pool)
        assert sample(samples, "kam_db_pool_waiting_requests", pool=pool) == 0
        requests = sample(samples, "kam_db_pool_requests_total", pool=pool)
        assert requests is not None and requests >= 1


def test_metrics_need_an_admin_or_the_metrics_token(
    api_settings: Settings, auth: dict[str, dict[str, str]], client: TestClient
) -> None:
    # Given the service without a metrics token: no token is 401, a viewer 403, an admin 200
    assert_problem(client.get("/metrics"), 401, "unauthorized")
    assert_problem(client.get("/metrics", headers=auth["vic"]), 403, "forbidden")
    assert_problem(client.get("/metrics", headers={"Authorization": "Bearer nope"}), 401)
    assert client.get("/metrics", headers=auth["root"]).status_code == 200


def test_the_metrics_token_or_the_public_switch_open_the_metrics(
    api_settings: Settings,
) -> None:
    # Given a metrics token set
    settings = api_settings.model_copy(update={"metrics_token": SecretStr("scrape-secret-1234")})
    with TestClient(api_app(settings), raise_server_exceptions=False) as client:
        # Then its bearer reads the metrics, another token does not
        ok = client.get("/metrics", headers={"Authorization": "Bearer scrape-secret-1234"})
        assert ok.status_code == 200 and "kam_store_up" in ok.text
        assert_problem(client.get("/metrics", headers={"Authorization": "Bearer x"}), 401)
    # Given the metrics made public, then anyone reads them
    public = api_settings.model_copy(update={"metrics_public": True})
    with TestClient(api_app(public), raise_server_exceptions=False) as client:
        assert client.get("/metrics").status_code == 200


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """What the ``kam`` loggers write, through the service's JSON formatter and filter."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(CorrelationFilter())
    logger = logging.getLogger("kam")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def test_every_log_line_of_a_request_and_its_events_carry_its_correlation_id(
    client: TestClient, auth: dict[str, dict[str, str]], json_log: io.StringIO
) -> None:
    # Given a client that names its request
    correlation = "req-7f3a-journey"

    # When it registers an account, and another request comes without an id
    response = client.post(
        "/accounts",
        json={"name": "Globex", "industry": "Energy", "region": "EMEA"},
        headers={**auth["dora"], "X-Correlation-ID": correlation},
    )
    other = client.post(
        "/accounts",
        json={"name": "Initech", "industry": "Energy", "region": "EMEA"},
        headers=auth["dora"],
    )

    # Then the answers carry their ids, a new one for the request that had none
    assert response.status_code == 201, response.text
    assert response.headers["X-Correlation-ID"] == correlation
    assert response.headers["X-Request-ID"] == correlation
    generated = other.headers["X-Correlation-ID"]
    assert generated and generated != correlation
    # and every log line is JSON with the id of the request it was written in
    lines: list[dict[str, Any]] = [json.loads(line) for line in json_log.getvalue().splitlines()]
    commands = [line for line in lines if line["message"].startswith("RegisterAccount")]
    assert [line["correlation_id"] for line in commands] == [correlation, generated], lines
    # and the event recorded carries it in its envelope
    events = client.get(
        f"/events?after={response.json()['position'] - 1}&limit=1", headers=auth["root"]
    ).json()["items"]
    assert events[0]["correlation_id"] == correlation


def test_a_request_id_header_is_taken_and_an_unusable_one_replaced(
    client: TestClient, auth: dict[str, dict[str, str]]
) -> None:
    # Given a request naming itself with X-Request-ID, then it is answered under that id
    named = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert named.headers["X-Correlation-ID"] == "abc-123"
    # Given an id no log line should carry (too long, or with spaces), then a new one is made
    for bad in ("x" * 101, "two words", "<script>"):
        answered = client.get("/healthz", headers={"X-Correlation-ID": bad})
        assert answered.headers["X-Correlation-ID"] not in (bad, "")


def test_paths_and_methods_a_client_invents_do_not_become_labels(
    client: TestClient, auth: dict[str, dict[str, str]]
) -> None:
    # Given requests to paths that are not routes, and with a method nobody serves
    for n in range(3):
        assert client.get(f"/no-such-thing/{n}").status_code == 404
    client.request("BREW", "/accounts")

    # When the metrics are scraped, then they are counted under bounded labels
    samples = scrape(client, auth["root"])
    unmatched = sample(
        samples, "kam_http_requests_total", method="GET", route="<unmatched>", status="404"
    )
    assert unmatched == 3
    assert not any("no-such-thing" in dict(labels).get("route", "") for _, labels in samples)
    assert not any(dict(labels).get("method") == "BREW" for _, labels in samples)
    assert any(dict(labels).get("method") == "other" for _, labels in samples)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_auto_logs_are_text_on_a_terminal_and_json_elsewhere() -> None:
    assert resolve_log_format("auto", _Terminal()) == "text"
    assert resolve_log_format("auto", io.StringIO()) == "json"
    assert resolve_log_format("json", _Terminal()) == "json"
    assert resolve_log_format("text", io.StringIO()) == "text"


def test_text_log_lines_name_the_correlation_id_too() -> None:
    # Given the text format's configuration, when a line is written inside a request
    config = log_config("text")
    formatter = logging.Formatter(config["formatters"]["kam"]["format"])
    record = logging.LogRecord("kam.commands", logging.INFO, __file__, 1, "hello", None, None)
    token = CORRELATION_ID.set("corr-9")
    try:
        CorrelationFilter().filter(record)
    finally:
        CORRELATION_ID.reset(token)

    # Then it reads as text and names the request
    line = formatter.format(record)
    assert "[corr-9] hello" in line and "INFO kam.commands" in line


def test_access_lines_name_query_parameters_but_not_their_values() -> None:
    # Given uvicorn's access record of a search for a person's name
    args = ("127.0.0.1:5000", "GET", "/search?q=Grace%20Hopper&limit=5", "1.1", 200)
    access = '%s - "%s %s HTTP/%s" %d'  # uvicorn's access message
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, access, args, None)
    # When the service's filter sees it
    CorrelationFilter().filter(record)
    # Then the line keeps the path and the parameters' names, not the name searched for
    line = record.getMessage()
    assert "Grace" not in line and "Hopper" not in line
    assert "/search?q=…&limit=…" in line
    # and a path without a query, or another logger's record, is left as it was
    plain = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, "%s", ("/a",), None)
    CorrelationFilter().filter(plain)
    assert plain.getMessage() == "/a"
