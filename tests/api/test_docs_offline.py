"""The API's documentation pages work without internet: /docs (Swagger UI) and /redoc load
only files the service serves itself, and headless Chromium, with every request to another
host refused, renders the operations of both.

The screenshots are kept under ``var/test-artifacts/`` for CI to publish. Under CI (CI=true)
the browser test must run: a missing Chromium or Playwright fails it instead of skipping.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import uvicorn
from fastapi.testclient import TestClient
from tests.support import api_app

from kam_api.settings import Settings

ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
IN_CI = os.environ.get("CI") == "true"


class Assets(HTMLParser):
    """The URLs a page loads: every ``src`` and ``href``, and ReDoc's ``spec-url``."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in_script = tag == "script"
        for name, value in attrs:
            if name in ("src", "href", "spec-url") and value:
                self.urls.append(value)

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts.append(data)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(database_url=f"sqlite:///{tmp_path}/kam.db", projector_poll_interval=0.05)


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_docs_pages_load_only_files_the_service_serves(settings: Settings, page: str) -> None:
    with TestClient(api_app(settings)) as client:
        response = client.get(page)
        assert response.status_code == 200
        assets = Assets()
        assets.feed(response.text)

        assert assets.urls, "the page loads nothing?"
        for url in assets.urls:
            parts = urlsplit(url)
            assert not parts.scheme and not parts.netloc, f"{page} loads {url} from elsewhere"
            served = client.get(url)
            assert served.status_code == 200, url
            assert served.content, url
        assert any(url.endswith(".js") for url in assets.urls)
        assert "http" not in "".join(assets.scripts)  # the inline set-up names no host
        served_types = {
            client.get(url).headers["content-type"].split(";")[0] for url in assets.urls
        }
        assert "text/javascript" in served_types or "application/javascript" in served_types


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def server(settings: Settings) -> Iterator[str]:
    """The app over real HTTP on 127.0.0.1 (uvicorn in a thread)."""
    port = free_port()
    config = uvicorn.Config(api_app(settings), host="127.0.0.1", port=port, log_level="warning")
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not running.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        running.should_exit = True
        thread.join(timeout=30)


@pytest.fixture
def chromium() -> str:
    if not Path(CHROMIUM).exists():
        message = f"no Chromium at {CHROMIUM}: `apt-get install chromium` enables this test"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return CHROMIUM


#: (page, what marks one rendered operation, what else the page may ask for and be refused).
#: ReDoc's sidebar badge "API docs by Redocly" shows an image from its makers' site: offline it
#: is refused and the badge shows its text; nothing else is asked of another host.
PAGES = [
    ("/docs", ".opblock", ()),
    ("/redoc", "[data-section-id^='operation/']", ("https://cdn.redoc.ly/redoc/logo-mini.svg",)),
]


@pytest.mark.parametrize(("path", "operation", "cosmetic"), PAGES, ids=[p for p, _, _ in PAGES])
def test_chromium_renders_the_operations_with_the_network_cut_off(
    server: str,
    chromium: str,
    tmp_path: Path,
    path: str,
    operation: str,
    cosmetic: tuple[str, ...],
) -> None:
    if IN_CI:
        from playwright.sync_api import sync_playwright
    else:
        sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    refused: list[str] = []
    loaded: list[str] = []

    def only_local(route: object) -> None:
        url = route.request.url  # type: ignore[attr-defined]
        if url.startswith(server + "/"):
            loaded.append(url)
            route.continue_()  # type: ignore[attr-defined]
        else:
            refused.append(url)
            route.abort()  # type: ignore[attr-defined]

    screenshot = tmp_path / f"api{path.replace('/', '-')}.png"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 2000})
            page.route("**/*", only_local)
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(server + path)
            page.wait_for_selector(operation, timeout=60_000)
            operations = page.locator(operation).count()
            text = page.locator("body").inner_text()
            page.screenshot(path=str(screenshot), full_page=False)
        finally:
            browser.close()

    assert operations >= 40, operations
    assert "KAM Ledger" in text
    assert not errors, errors
    assert set(refused) <= set(cosmetic), f"the page asked for other hosts: {refused}"
    assert any(url.endswith("/openapi.json") for url in loaded)
    assert any(url.endswith(".js") for url in loaded)
    data = screenshot.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 10_000
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(screenshot, ARTIFACTS / screenshot.name)
