"""The printable handover report in a real browser: headless Chromium renders it to a
screenshot and to a PDF without errors, and its DOM holds the account and the health chart.

The screenshot and the PDF are kept under ``var/test-artifacts/`` for CI to publish, so a
person can look at what the report actually looks like.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from tests.api.test_report_render import sample_report

from kam_api.report import render_html

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
TIMEOUT_SECONDS = 60
ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts"


@pytest.fixture(scope="module")
def browser() -> str:
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("no Chromium found: `apt-get install chromium` enables the browser tests")


@pytest.fixture
def page(tmp_path: Path) -> Path:
    path = tmp_path / "handover-report.html"
    path.write_text(render_html(sample_report()), encoding="utf-8")
    return path


def chromium(browser: str, tmp_path: Path, page: Path, *args: str) -> tuple[int, str, str]:
    """One headless run with a fresh profile: exit code, stdout, stderr.

    ``--enable-logging=stderr`` is what puts the page's console (and so any "Uncaught" JS
    error) on stderr; without it the check below could never fail.
    """
    command = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--no-first-run",
        "--hide-scrollbars",
        "--window-size=1200,2000",
        "--enable-logging=stderr",
        f"--user-data-dir={tmp_path / 'profile'}",
        *args,
        page.as_uri(),
    ]
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False
    )
    return result.returncode, result.stdout, result.stderr


def run_chromium(browser: str, tmp_path: Path, page: Path, *args: str) -> str:
    """A run that must succeed without a JS error on the page; its stdout."""
    code, stdout, stderr = chromium(browser, tmp_path, page, *args)
    assert code == 0, stderr
    assert "Uncaught" not in stderr, stderr
    return stdout


def keep(path: Path) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, ARTIFACTS / path.name)


def test_chromium_renders_a_screenshot_of_the_report(
    browser: str, tmp_path: Path, page: Path
) -> None:
    screenshot = tmp_path / "handover-report.png"

    run_chromium(browser, tmp_path, page, f"--screenshot={screenshot}")

    assert screenshot.exists()
    data = screenshot.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(data) > 10_000
    keep(screenshot)


def test_chromium_dom_holds_the_account_and_the_health_chart(
    browser: str, tmp_path: Path, page: Path
) -> None:
    dom = run_chromium(browser, tmp_path, page, "--dump-dom")

    assert "Handover report: Nordwind Logistics GmbH" in dom
    assert "<svg" in dom
    assert "9. Gaps to confirm" in dom
    assert "<script" not in dom.lower()


def test_chromium_prints_the_report_to_pdf(browser: str, tmp_path: Path, page: Path) -> None:
    pdf = tmp_path / "handover-report.pdf"

    run_chromium(browser, tmp_path, page, "--no-pdf-header-footer", f"--print-to-pdf={pdf}")

    assert pdf.exists()
    assert pdf.read_bytes().startswith(b"%PDF")
    keep(pdf)


def test_chromium_reports_a_script_error_on_stderr(browser: str, tmp_path: Path) -> None:
    """The guard above can fail: a page whose script throws shows "Uncaught" on stderr."""
    broken = tmp_path / "broken.html"
    broken.write_text("<!DOCTYPE html><p>x</p><script>missing.call()</script>", encoding="utf-8")

    code, _, stderr = chromium(browser, tmp_path, broken, "--dump-dom")

    assert code == 0
    assert "Uncaught ReferenceError" in stderr
