"""Web test fixtures: the app on each backend with users who have passwords, TestClients
signed in as them, and (for the browser tests) the app over real HTTP with headless Chromium
(Playwright over the system Chromium), axe-core and screenshots.

Under CI (CI=true) the browser tests must run: a missing Chromium or Playwright fails them.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from kam_api import auth
from kam_api.auth import UserStore
from kam_api.settings import Settings
from tests.api.conftest import COLLEAGUES, USERS
from tests.support import TEST_MASTER_KEY, api_app
from tests.web.support import password_of, signed_in

ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts" / "web"
CHROMIUM = "/usr/bin/chromium"
IN_CI = os.environ.get("CI") == "true"


#: Argon2id at its cheapest: the web tests sign in hundreds of times, and what they check is
#: the flow (test_sign_in checks the service's own parameters).
CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture(autouse=True, scope="session")
def cheap_password_hashes() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(auth, "_HASHER", CHEAP_HASHER)
        patch.setattr(auth, "_DUMMY_HASH", CHEAP_HASHER.hash("not anyone's password"))
        yield


def web_settings_for(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "embedded_projector": True,
        "projector_poll_interval": 0.05,
        "read_wait_seconds": 10,
        "pg_pool_size": 6,
        "master_key": TEST_MASTER_KEY,
    }
    return Settings(**(values | overrides))


def add_users(client: TestClient) -> None:
    """The API tests' users (see tests/api/conftest.py USERS), each with a password, and the
    colleagues the tests name."""
    users: UserStore = client.app.state.users  # type: ignore[attr-defined]
    for name, role in USERS.items():
        users.add(name, role)
        users.set_password(name, password_of(name), actor="test")
    for name in COLLEAGUES:
        users.add(name, USERS["mia"])


@pytest.fixture
def web_settings(database_url: str) -> Settings:
    return web_settings_for(database_url)


@pytest.fixture
def web(web_settings: Settings) -> Iterator[TestClient]:
    """The started app (not signed in; redirects not followed), with the users."""
    with TestClient(
        api_app(web_settings), raise_server_exceptions=False, follow_redirects=False
    ) as client:
        add_users(client)
        yield client


@pytest.fixture
def as_user(web: TestClient) -> Callable[[str], TestClient]:
    """``as_user("mia")``: a client signed in as mia."""
    return lambda name: signed_in(web, name)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class LiveServer:
    """The app over real HTTP (uvicorn in a thread); ``app`` is the started FastAPI app."""

    def __init__(self, settings: Settings) -> None:
        self.app = api_app(settings)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert self.thread.is_alive() and time.monotonic() < deadline, "no server"
            time.sleep(0.05)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveServer]:
    """The app over real HTTP on SQLite, with the users (see ``add_users``)."""
    settings = web_settings_for(f"sqlite:///{tmp_path / 'kam.db'}")
    with LiveServer(settings) as server:
        users: UserStore = server.app.state.users
        for name, role in USERS.items():
            users.add(name, role)
            users.set_password(name, password_of(name), actor="test")
        for name in COLLEAGUES:
            users.add(name, USERS["mia"])
        yield server


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Chromium (the system's), shared by the session's browser tests."""
    if not Path(CHROMIUM).exists():
        message = f"no Chromium at {CHROMIUM}: `apt-get install chromium` enables this test"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    if IN_CI:
        from playwright.sync_api import sync_playwright
    else:
        sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Any, live: LiveServer) -> Iterator[Any]:
    """A fresh browser page (own cookies) that refuses every request to another host, and
    fails the test on a JavaScript error."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=live.url)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))

    def only_local(route: Any) -> None:
        if route.request.url.startswith(live.url + "/"):
            route.continue_()
        else:
            route.abort()

    tab.route("**/*", only_local)
    try:
        yield tab
    finally:
        context.close()
    assert not errors, f"JavaScript errors: {errors}"


def sign_in_browser(tab: Any, name: str) -> None:
    """Signs the browser page in as ``name`` through the sign-in form."""
    tab.goto("/sign-in")
    tab.fill("#username", name)
    tab.fill("#password", password_of(name))
    tab.click("button[type=submit]")
    tab.wait_for_load_state()


def check_page(tab: Any, name: str) -> None:
    """Runs axe-core on the page (no serious or critical violation allowed) and saves a
    full-page screenshot as ``var/test-artifacts/web/NAME.png``."""
    from axe_playwright_python.sync_playwright import Axe

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    results = Axe().run(tab)
    bad = [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:5]}"
        for v in results.response["violations"]
        if v.get("impact") in ("serious", "critical")
    ]
    assert not bad, f"accessibility violations on {name}:\n" + "\n".join(bad)
