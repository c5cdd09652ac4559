"""Webhook subscriptions over HTTP and their delivery to a real local receiver, on both
backends: admins only, signed (Standard Webhooks), in order, at least once, retried with
backoff on a fake clock, paused after too many failures, replayed from a position, filtered
by event type, and never carrying an erased person's data."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.api.conftest import assert_problem, register
from tests.support import TEST_MASTER_KEY, api_app
from typer.testing import CliRunner

from kam_api.auth import Role
from kam_api.bootstrap import open_services
from kam_api.cli import cli
from kam_api.settings import Settings
from kam_api.webhooks.delivery import Deliverer, RetryPolicy
from kam_api.webhooks.signing import verify
from kam_api.webhooks.store import WebhookStore
from kam_domain.commands import RegisterAccount
from kam_domain.values import Envelope
from kam_store.keys import MasterKey

Auth = dict[str, dict[str, str]]
HANG = -1  # the receiver answers nothing for longer than the deliverer waits
TIMEOUT = 0.3


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    status: int

    @property
    def event(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.body)["data"]
        return data


@dataclass
class Receiver:
    """A small threaded HTTP server: answers each POST with the next scripted status (200 once
    the script is used up; HANG: no answer in time) and keeps every request it got."""

    url: str = ""
    script: list[int] = field(default_factory=list)
    got: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, headers: dict[str, str], body: bytes) -> int:
        with self.lock:
            status = self.script.pop(0) if self.script else 200
            self.got.append(Received(headers, body, status))
        return status

    @property
    def accepted(self) -> list[Received]:
        with self.lock:
            return [r for r in self.got if 200 <= r.status < 300]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            status = state.answer({k.lower(): v for k, v in self.headers.items()}, body)
            if status == HANG:
                time.sleep(TIMEOUT * 3)
                status = 200  # too late: the deliverer has given up on this attempt
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    # A short poll: shutdown() waits for the loop's next turn (0.5 s by default).
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def api_settings(api_settings: Settings) -> Settings:
    """The app without its own deliverer: each test drives one on a clock it sets."""
    return api_settings.model_copy(update={"webhook_delivery": False})


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def deliverer(client: TestClient, clock: Clock) -> Iterator[Deliverer]:
    state = client.app.state  # type: ignore[attr-defined]
    worker = Deliverer(
        state.kam,
        state.views,
        state.webhooks,
        timeout=TIMEOUT,
        policy=RetryPolicy(base_seconds=10, cap_seconds=60, max_attempts=4),
        now=clock,
        draw=lambda: 0.5,
    )
    try:
        yield worker
    finally:
        worker.close()


def subscribe(client: TestClient, auth: Auth, url: str, **fields: Any) -> dict[str, Any]:
    response = client.post("/webhooks", json={"url": url, **fields}, headers=auth["root"])
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def feed(client: TestClient, auth: Auth) -> list[dict[str, Any]]:
    response = client.get("/events", params={"limit": 1000}, headers=auth["root"])
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def webhook(client: TestClient, auth: Auth, subscription_id: str) -> dict[str, Any]:
    response = client.get(f"/webhooks/{subscription_id}", headers=auth["root"])
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def deliveries(client: TestClient, auth: Auth, subscription_id: str) -> list[dict[str, Any]]:
    response = client.get(f"/webhooks/{subscription_id}/deliveries", headers=auth["root"])
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items[::-1]  # oldest first


def run_until_idle(deliverer: Deliverer) -> None:
    while deliverer.run_once():
        pass


def test_only_admins_manage_webhooks(client: TestClient, auth: Auth, receiver: Receiver) -> None:
    # Given a subscription
    sub = subscribe(client, auth, receiver.url)["id"]
    webhooks = client.app.state.webhooks  # type: ignore[attr-defined]
    before = [(s.id, s.status, s.position) for s in webhooks.all()]
    calls = [
        ("GET", "/webhooks", None),
        ("POST", "/webhooks", {"url": receiver.url}),
        ("GET", f"/webhooks/{sub}", None),
        ("GET", f"/webhooks/{sub}/deliveries", None),
        ("POST", f"/webhooks/{sub}/replay", {"after": 0}),
        ("DELETE", f"/webhooks/{sub}", None),
    ]
    # When anyone but an admin calls any webhook endpoint, Then 403 and nothing changes
    for name in ("dora", "mia", "max", "audrey", "vic"):
        for method, path, body in calls:
            response = client.request(method, path, json=body, headers=auth[name])
            assert_problem(response, 403, "forbidden")
    for method, path, body in calls:
        assert_problem(client.request(method, path, json=body), 401, "unauthorized")
    assert [(s.id, s.status, s.position) for s in webhooks.all()] == before
    # And an admin may
    for method, path, body in calls:
        response = client.request(method, path, json=body, headers=auth["root"])
        assert response.status_code in (200, 201), (path, response.text)


def test_the_secret_is_shown_once_and_stored_sealed(
    client: TestClient, auth: Auth, receiver: Receiver
) -> None:
    # Given an admin who subscribes without a secret and one who brings their own
    generated = subscribe(client, auth, receiver.url)
    own = "whsec_" + "QUJD" * 8  # base64 of 24 bytes
    given = subscribe(client, auth, receiver.url, secret=own)
    # Then the answers carry the secrets, and nothing after does
    assert generated["secret"].startswith("whsec_") and given["secret"] == own
    shown = [
        client.get("/webhooks", headers=auth["root"]).text,
        client.get(f"/webhooks/{given['id']}", headers=auth["root"]).text,
        client.get(f"/webhooks/{given['id']}/deliveries", headers=auth["root"]).text,
    ]
    for text in shown:
        assert "secret" not in text and own not in text and generated["secret"] not in text
    # And the stored secret is sealed with the master key, not the key in clear
    views = client.app.state.views  # type: ignore[attr-defined]
    stored = [r["secret"] for r in views.query("SELECT secret FROM rm_webhooks")]
    assert len(stored) == 2 and all(s.startswith("aesgcm:") for s in stored)
    assert not any(own[6:] in s or generated["secret"][6:] in s for s in stored)


@pytest.mark.parametrize(
    "body",
    [
        {"url": "ftp://example.com/hook"},
        {"url": "javascript:alert(1)"},
        {"url": "http:///no-host"},
        {"url": "http://user:pw@example.com/hook"},
        {"url": "https://example.com/hook", "secret": "not-a-secret"},
        {"url": "https://example.com/hook", "secret": "whsec_QUJD"},
        {"url": "https://example.com/hook", "event_types": ["NoSuchEvent"]},
        {"url": "https://example.com/hook", "after": -1},
        {"url": "https://example.com/hook", "colour": "red"},
        {},
    ],
)
def test_a_bad_subscription_is_refused_and_nothing_is_created(
    client: TestClient, auth: Auth, body: dict[str, Any]
) -> None:
    # When an admin sends a subscription that cannot be
    response = client.post("/webhooks", json=body, headers=auth["root"])
    # Then 422 and no subscription exists
    assert_problem(response, 422)
    assert client.get("/webhooks", headers=auth["root"]).json() == {"items": []}


def test_unknown_subscriptions_are_404(client: TestClient, auth: Auth) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    for method, path, body in [
        ("GET", f"/webhooks/{missing}", None),
        ("DELETE", f"/webhooks/{missing}", None),
        ("GET", f"/webhooks/{missing}/deliveries", None),
        ("POST", f"/webhooks/{missing}/replay", {"after": 0}),
    ]:
        assert_problem(client.request(method, path, json=body, headers=auth["root"]), 404)
    assert_problem(client.get("/webhooks/not-an-id", headers=auth["root"]), 422)


def test_every_event_is_delivered_in_order_signed_and_as_the_feed_shows_it(
    client: TestClient, auth: Auth, account: str, receiver: Receiver, deliverer: Deliverer
) -> None:
    # Given a history and a subscription from the start of the log
    register(client, auth["dora"], name="Globex")
    sub = subscribe(client, auth, receiver.url, after=0)
    # When the deliverer runs
    run_until_idle(deliverer)
    # Then the receiver got every event once, in log order, each as /events shows it
    events = feed(client, auth)
    assert [r.event for r in receiver.got] == events
    assert [r.headers["webhook-id"] for r in receiver.got] == [
        f"kam-{e['position']}" for e in events
    ]
    # And each signature verifies with the secret, and not with another
    for r in receiver.got:
        h = r.headers
        assert verify(sub["secret"], h["webhook-id"], h["webhook-timestamp"], r.body,
                      h["webhook-signature"])  # fmt: skip
        assert h["webhook-signature"].startswith("v1,")
        assert not verify("whsec_" + "QUJD" * 8, h["webhook-id"], h["webhook-timestamp"], r.body,
                          h["webhook-signature"])  # fmt: skip
        assert json.loads(r.body)["type"] == f"{r.event['aggregate_type']}.{r.event['type']}"
    # And the subscription's position is the log's head, with one logged 200 per event
    assert webhook(client, auth, sub["id"])["position"] == events[-1]["position"]
    log = deliveries(client, auth, sub["id"])
    assert [(d["position"], d["attempt"], d["status_code"]) for d in log] == [
        (e["position"], 1, 200) for e in events
    ]
    assert all(d["duration_ms"] >= 0 and d["attempted_at"] for d in log)


def test_a_new_subscription_gets_only_what_comes_after_it(
    client: TestClient, auth: Auth, account: str, receiver: Receiver, deliverer: Deliverer
) -> None:
    # Given a subscription made after an account was registered
    sub = subscribe(client, auth, receiver.url)
    head = feed(client, auth)[-1]["position"]
    assert sub["position"] == head
    # When another account is registered and the deliverer runs
    register(client, auth["dora"], name="Initech")
    run_until_idle(deliverer)
    # Then only the new events arrive
    assert [r.event["position"] for r in receiver.got] == [
        e["position"] for e in feed(client, auth) if e["position"] > head
    ]


def test_a_failing_receiver_is_retried_with_backoff_and_later_events_wait(
    client: TestClient,
    auth: Auth,
    account: str,
    receiver: Receiver,
    deliverer: Deliverer,
    clock: Clock,
) -> None:
    # Given a subscription from the start and a receiver that fails, then hangs, then recovers
    sub = subscribe(client, auth, receiver.url, after=0)["id"]
    events = feed(client, auth)
    first = events[0]["position"]
    receiver.script = [503, HANG]
    # When the deliverer runs: the first attempt fails and nothing later is sent
    assert deliverer.run_once() == 1
    state = webhook(client, auth, sub)
    assert state["position"] == 0 and state["attempts"] == 1 and state["last_error"] == "HTTP 503"
    # Then it waits out the backoff (10 s x 2^0, half fixed, half jittered: 7.5 s here)
    assert deliverer.run_once() == 0
    clock.now += 7.4
    assert deliverer.run_once() == 0
    clock.now += 0.2
    assert deliverer.run_once() == 1  # the receiver hangs: a timeout
    state = webhook(client, auth, sub)
    assert state["attempts"] == 2 and state["last_error"] == "timeout"
    clock.now += 14.9  # 20 s ceiling: 15 s
    assert deliverer.run_once() == 0
    clock.now += 0.2
    run_until_idle(deliverer)
    # And every event arrived in order, the first one three times with the same id
    assert [r.event["position"] for r in receiver.accepted] == [e["position"] for e in events]
    assert [r.headers["webhook-id"] for r in receiver.got[:3]] == [f"kam-{first}"] * 3
    log = deliveries(client, auth, sub)
    assert [(d["position"], d["attempt"], d["status_code"], d["error"]) for d in log[:3]] == [
        (first, 1, 503, None),
        (first, 2, None, "timeout"),
        (first, 3, 200, None),
    ]
    state = webhook(client, auth, sub)
    assert (state["position"], state["attempts"], state["last_error"]) == (
        events[-1]["position"],
        0,
        None,
    )


def test_after_too_many_failures_the_subscription_pauses_until_replayed(
    client: TestClient,
    auth: Auth,
    account: str,
    receiver: Receiver,
    deliverer: Deliverer,
    clock: Clock,
) -> None:
    # Given a receiver that keeps failing
    sub = subscribe(client, auth, receiver.url, after=0)["id"]
    receiver.script = [500] * 4
    # When the deliverer has tried four times (the policy's limit)
    for _ in range(4):
        assert deliverer.run_once() == 1
        clock.now += 3600
    # Then the subscription is paused: no more attempts however long one waits
    assert webhook(client, auth, sub)["status"] == "failing"
    clock.now += 86_400
    assert deliverer.run_once() == 0
    assert len(receiver.got) == 4 and not receiver.accepted
    # When an admin replays it from the start, Then it resumes and delivers everything
    response = client.post(f"/webhooks/{sub}/replay", json={"after": 0}, headers=auth["root"])
    assert response.status_code == 200 and response.json()["status"] == "active"
    run_until_idle(deliverer)
    assert [r.event for r in receiver.accepted] == feed(client, auth)


def test_replay_from_a_position_delivers_again_what_follows_it(
    client: TestClient, auth: Auth, account: str, receiver: Receiver, deliverer: Deliverer
) -> None:
    # Given everything delivered
    sub = subscribe(client, auth, receiver.url, after=0)["id"]
    run_until_idle(deliverer)
    events = feed(client, auth)
    middle = events[len(events) // 2]["position"]
    # When an admin replays from a position
    response = client.post(f"/webhooks/{sub}/replay", json={"after": middle}, headers=auth["root"])
    assert response.status_code == 200 and response.json()["position"] == middle
    run_until_idle(deliverer)
    # Then the events after it arrive again, in order, with their ids
    again = receiver.got[len(events) :]
    assert [r.event for r in again] == [e for e in events if e["position"] > middle]
    assert webhook(client, auth, sub)["position"] == events[-1]["position"]


def test_the_filter_delivers_only_the_types_named_and_still_moves_on(
    client: TestClient, auth: Auth, receiver: Receiver, deliverer: Deliverer
) -> None:
    # Given a subscription to classifications and registrations of accounts only
    sub = subscribe(
        client, auth, receiver.url, after=0, event_types=["Classified", "KeyAccount.Registered"]
    )["id"]
    account = register(client, auth["dora"])["id"]
    response = client.post(
        f"/accounts/{account}/classification",
        json={"tier": "key", "kind": "existing", "rationale": "r", "reason": "annual"},
        headers=auth["dora"],
    )
    assert response.status_code == 200, response.text
    # When the deliverer runs
    run_until_idle(deliverer)
    # Then only those events arrived, and the position passed the others too
    events = feed(client, auth)
    wanted = [e for e in events if e["type"] == "Classified" or
              (e["aggregate_type"], e["type"]) == ("KeyAccount", "Registered")]  # fmt: skip
    assert [r.event for r in receiver.got] == wanted and len(wanted) == 2
    assert webhook(client, auth, sub)["position"] == events[-1]["position"]


def test_an_erased_persons_data_is_never_delivered(
    client: TestClient,
    auth: Auth,
    account: str,
    receiver: Receiver,
    deliverer: Deliverer,
    clock: Clock,
) -> None:
    # Given a stakeholder with personal data, not delivered yet (the receiver is down)
    sub = subscribe(client, auth, receiver.url)["id"]
    response = client.post(
        f"/accounts/{account}/stakeholders",
        json={
            "name": "Grace Hopper",
            "email": "grace@acme.example",
            "title": "Rear Admiral",
            "influence": 4,
            "buying_role": "economic_buyer",
        },
        headers=auth["mia"],
    )
    assert response.status_code == 201, response.text
    person = response.json()["id"]
    receiver.script = [500]
    assert deliverer.run_once() == 1
    sent_before = len(receiver.got)
    # When the person is erased and the receiver is back
    response = client.post(
        f"/stakeholders/{person}/erasure", json={"reason": "erasure request"}, headers=auth["mia"]
    )
    assert response.status_code == 200, response.text
    clock.now += 3600  # well past the backoff
    run_until_idle(deliverer)
    # Then the person's events arrived, with placeholders and never their data
    theirs = [r for r in receiver.accepted if r.event["aggregate_id"] == person]
    assert [r.event["type"] for r in theirs] == ["Identified", "PersonalDataErased"]
    assert theirs[0].event["data"]["personal"]["name"] == "(erased)"
    for r in receiver.got[sent_before:]:
        for word in ("Grace", "Hopper", "grace@acme", "Admiral"):
            assert word.encode() not in r.body
    assert webhook(client, auth, sub)["position"] == feed(client, auth)[-1]["position"]


@pytest.mark.parametrize(
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_a_subscription_held_by_another_process_is_skipped(
    client: TestClient, auth: Auth, account: str, receiver: Receiver, deliverer: Deliverer
) -> None:
    # (PostgreSQL only: on SQLite one process serves the file.)
    # Given a subscription whose row another deliverer holds for a round
    sub = subscribe(client, auth, receiver.url, after=0)["id"]
    with client.app.state.webhooks.claimed(sub, deliverer.now()) as held:  # type: ignore[attr-defined]
        assert held is not None
        # When this deliverer runs, Then it leaves the subscription alone
        assert deliverer.run_once() == 0
    assert not receiver.got
    run_until_idle(deliverer)
    assert [r.event for r in receiver.got] == feed(client, auth)


def test_removing_a_subscription_stops_its_deliveries(
    client: TestClient, auth: Auth, receiver: Receiver, deliverer: Deliverer
) -> None:
    # Given a subscription, removed
    sub = subscribe(client, auth, receiver.url)["id"]
    response = client.delete(f"/webhooks/{sub}", headers=auth["root"])
    assert response.status_code == 200 and response.json()["status"] == "disabled"
    # When events follow
    register(client, auth["dora"], name="Umbrella")
    run_until_idle(deliverer)
    # Then nothing is delivered, and it cannot be removed or replayed again
    assert not receiver.got
    assert_problem(client.delete(f"/webhooks/{sub}", headers=auth["root"]), 404)
    replay = client.post(f"/webhooks/{sub}/replay", json={"after": 0}, headers=auth["root"])
    assert_problem(replay, 404)
    assert webhook(client, auth, sub)["status"] == "disabled"


def test_the_service_delivers_a_new_event_at_once_not_at_the_next_poll(
    api_settings: Settings, receiver: Receiver
) -> None:
    # Given the service with its own deliverer, polling only every 30 s, and a subscription
    settings = api_settings.model_copy(
        update={"webhook_delivery": True, "webhook_poll_interval": 30.0}
    )
    with TestClient(api_app(settings), raise_server_exceptions=False) as client:
        users = client.app.state.users  # type: ignore[attr-defined]
        root = {"Authorization": f"Bearer {users.add('root', Role.ADMIN)}"}
        dora = {"Authorization": f"Bearer {users.add('dora', Role.DIRECTOR)}"}
        response = client.post("/webhooks", json={"url": receiver.url}, headers=root)
        assert response.status_code == 201, response.text
        # When an account is registered
        registered = register(client, dora, name="Hooli")
        # Then its events arrive within seconds: the save woke the deliverer
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if any(r.event["position"] == registered["position"] for r in receiver.accepted):
                break
            time.sleep(0.02)
        positions = [r.event["position"] for r in receiver.accepted]
        assert registered["position"] in positions
        assert positions == sorted(positions)


def test_kam_webhooks_add_list_deliveries_replay_and_remove(
    database_url: str, receiver: Receiver
) -> None:
    runner = CliRunner()
    env = {"KAM_DATABASE_URL": database_url, "KAM_PG_POOL_SIZE": "2",
           "KAM_MASTER_KEY": TEST_MASTER_KEY}  # fmt: skip
    settings = Settings(database_url=database_url, pg_pool_size=2, master_key=TEST_MASTER_KEY)
    # Given an account in the log
    with open_services(settings, check_people=False) as services:
        services.app.handle(RegisterAccount(name="Acme", industry="Food", region="EMEA"),
                            meta=Envelope("dora"))  # fmt: skip
    # When an operator subscribes a URL to registrations from the start
    added = runner.invoke(
        cli, ["webhooks", "add", receiver.url, "--type", "Registered", "--after", "0"], env=env
    )
    assert added.exit_code == 0, added.output
    secret = added.stdout.strip().splitlines()[-1]
    sub = added.stdout.split()[2]
    assert secret.startswith("whsec_")
    # Then it is listed without its secret, and a bad one is refused without being created
    listed = runner.invoke(cli, ["webhooks", "list"], env=env)
    assert listed.exit_code == 0 and sub in listed.stdout and secret not in listed.stdout
    refused = runner.invoke(cli, ["webhooks", "add", "ftp://example.com/x"], env=env)
    assert refused.exit_code == 2 and "http" in refused.output
    assert len(runner.invoke(cli, ["webhooks", "list"], env=env).stdout.splitlines()) == 1
    # When the service delivers, Then the delivery log shows the attempt
    with open_services(settings) as services:
        worker = Deliverer(services.app, services.views, services.webhooks, timeout=TIMEOUT)
        run_until_idle(worker)
        log = runner.invoke(cli, ["webhooks", "deliveries", sub], env=env)
        assert log.exit_code == 0 and "\t#1\t200\t" in log.stdout, log.output
        # And a replay delivers the registration again, signed with the secret
        replayed = runner.invoke(cli, ["webhooks", "replay", sub, "--after", "0"], env=env)
        assert replayed.exit_code == 0, replayed.output
        run_until_idle(worker)
        worker.close()
    assert [r.event["type"] for r in receiver.got] == ["Registered", "Registered"]
    r = receiver.got[-1]
    h = r.headers
    assert verify(secret, h["webhook-id"], h["webhook-timestamp"], r.body, h["webhook-signature"])
    # When it is removed, Then it says so and an unknown one is an error
    assert runner.invoke(cli, ["webhooks", "remove", sub], env=env).exit_code == 0
    assert "disabled" in runner.invoke(cli, ["webhooks", "list"], env=env).stdout
    assert runner.invoke(cli, ["webhooks", "remove", sub], env=env).exit_code == 1


def test_a_round_posts_for_a_bounded_time_and_the_next_round_goes_on(
    client: TestClient, auth: Auth, account: str, receiver: Receiver, clock: Clock
) -> None:
    # Given a subscription from the start and a deliverer whose rounds stop after one post
    state = client.app.state  # type: ignore[attr-defined]
    sub = subscribe(client, auth, receiver.url, after=0)["id"]
    worker = Deliverer(state.kam, state.views, state.webhooks, round_seconds=0, now=clock)
    events = feed(client, auth)
    # When it runs, Then each round delivers one event and keeps the position, in order
    try:
        for event in events:
            assert worker.run_once() == 1
            assert webhook(client, auth, sub)["position"] == event["position"]
        assert worker.run_once() == 0
    finally:
        worker.close()
    assert [r.event for r in receiver.got] == events


def test_a_secret_that_does_not_unseal_holds_back_only_its_subscription(
    client: TestClient, auth: Auth, account: str, receiver: Receiver, clock: Clock
) -> None:
    # Given a subscription sealed with the service's master key, and a deliverer holding
    # another master key, with a subscription of its own made after the first
    state = client.app.state  # type: ignore[attr-defined]
    sealed = subscribe(client, auth, receiver.url, after=0)["id"]
    other = WebhookStore(state.views, MasterKey.from_base64(MasterKey.generate_base64()))
    mine = other.create(url=receiver.url, event_types=[], key=b"k" * 32, position=0,
                        actor="root", now="2026-01-01T00:00:00+00:00", at=0.0)  # fmt: skip
    worker = Deliverer(state.kam, state.views, other, now=clock)
    # When it runs, Then its own subscription is delivered and the other waits, unharmed
    try:
        run_until_idle(worker)
    finally:
        worker.close()
    assert [r.event for r in receiver.got] == feed(client, auth)
    assert webhook(client, auth, mine.id)["position"] == feed(client, auth)[-1]["position"]
    assert webhook(client, auth, sealed)["position"] == 0


def test_a_crash_before_the_outcome_is_written_delivers_the_round_again(
    client: TestClient,
    auth: Auth,
    account: str,
    receiver: Receiver,
    deliverer: Deliverer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a round whose posts all succeed but whose outcome is never written (a crash)
    sub = subscribe(client, auth, receiver.url, after=0)["id"]
    store = client.app.state.webhooks  # type: ignore[attr-defined]

    def crash(*args: Any) -> bool:
        raise RuntimeError("the process died here")

    monkeypatch.setattr(store, "record", crash)
    with pytest.raises(RuntimeError):
        deliverer.run_once()
    events = feed(client, auth)
    assert [r.event for r in receiver.got] == events
    assert webhook(client, auth, sub)["position"] == 0
    # When the service delivers again
    monkeypatch.undo()
    run_until_idle(deliverer)
    # Then the same events arrive again, in order, with the same ids: at least once
    again = receiver.got[len(events) :]
    assert [r.event for r in again] == events
    assert [r.headers["webhook-id"] for r in again] == [
        r.headers["webhook-id"] for r in receiver.got[: len(events)]
    ]
    assert webhook(client, auth, sub)["position"] == events[-1]["position"]


@pytest.mark.parametrize(
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_a_write_by_another_process_wakes_the_deliverer_on_postgres(
    api_settings: Settings, receiver: Receiver
) -> None:
    # (PostgreSQL only: on SQLite one process writes and delivers.)
    # Given the service delivering, polling only every 30 s, and a subscription
    settings = api_settings.model_copy(
        update={"webhook_delivery": True, "webhook_poll_interval": 30.0}
    )
    with TestClient(api_app(settings), raise_server_exceptions=False) as client:
        users = client.app.state.users  # type: ignore[attr-defined]
        root = {"Authorization": f"Bearer {users.add('root', Role.ADMIN)}"}
        response = client.post("/webhooks", json={"url": receiver.url}, headers=root)
        assert response.status_code == 201, response.text
        assert client.app.state.deliverer.listening.wait(10)  # type: ignore[attr-defined]
        # When another process (another application on the same store) writes
        with open_services(settings, check_people=False) as other:
            position = other.app.handle(
                RegisterAccount(name="Pied Piper", industry="Tech", region="EMEA"),
                meta=Envelope("dora"),
            ).position
        # Then the event arrives within seconds: its NOTIFY woke the deliverer
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if any(r.event["position"] == position for r in receiver.accepted):
                break
            time.sleep(0.02)
        assert position in [r.event["position"] for r in receiver.accepted]
