"""Takes the README's screenshots of the web app: loads the demo portfolio into a temporary
SQLite store, serves the app, signs in as the demo director in headless Chromium (the system's,
/usr/bin/chromium) and saves the portfolio and an account page under docs/images/.

    .venv/bin/python docs/screenshots.py        (make screenshots)
"""

from __future__ import annotations

import sys
import tempfile
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from fastapi.testclient import TestClient  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402
from tests.web.conftest import CHROMIUM, LiveServer, web_settings_for  # noqa: E402
from tests.web.support import load_demo_into, password_of  # noqa: E402

from kam_api.demo.words import DIRECTOR  # noqa: E402

#: The demo's "today": fixed, so the pictures do not change with the day they are taken.
TODAY = date(2026, 11, 30)


def main() -> None:
    images = HERE / "images"
    images.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        settings = web_settings_for(f"sqlite:///{folder}/kam.db", today=TODAY)
        with LiveServer(settings) as server:
            summary = load_demo_into(TestClient(server.app), accounts=60)
            account = summary.handed_over[0] if summary.handed_over else None
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=CHROMIUM, args=["--no-sandbox"]
                )
                tab = browser.new_page(viewport={"width": 1280, "height": 900}, base_url=server.url)
                tab.goto("/sign-in")
                tab.fill("#username", DIRECTOR)
                tab.fill("#password", password_of(DIRECTOR))
                tab.click("button[type=submit]")
                tab.wait_for_url("**/app/portfolio")
                tab.screenshot(path=str(images / "portfolio.png"), full_page=False)
                if account:
                    account_id = server.app.state.kam.find_account_by_name(account)
                    tab.goto(f"/app/accounts/{account_id}")
                    tab.screenshot(path=str(images / "account.png"), full_page=False)
                browser.close()
    print(f"saved {images / 'portfolio.png'} and {images / 'account.png'}")


if __name__ == "__main__":
    main()
