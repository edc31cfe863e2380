"""The quiz page and the help center in a real browser: headless Chromium driven by Playwright.

A learner types into the quiz input, sees the preview appear, submits and reads the verdict.
Screenshots are saved under var/screenshots/ for a person to look at. Skipped (with the reason)
where Chromium is not installed: CI installs it (`.ci/run`).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SHOTS = ROOT / "var" / "screenshots"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]

playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install "
                                                "chromium)"),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
    var = tmp_path_factory.mktemp("browser") / "var"
    env = {**os.environ, "MATHGRADER_VAR_DIR": str(var),
           "MATHGRADER_DATABASE_URL": f"sqlite:///{var.parent}/log.db"}
    process = subprocess.Popen(
        [sys.executable, "-m", "mathgrader.cli", "serve", "--port", str(port), "--workers", "1",
         "--keys", str(ROOT / "examples")],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                with urllib.request.urlopen(f"{url}/api/v1/health", timeout=1):
                    break
            except OSError:
                if process.poll() is not None:
                    pytest.fail(process.stderr.read().decode() if process.stderr else "died")
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=15)


@pytest.fixture(scope="module")
def page(server: str) -> Iterator[object]:
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        context = browser.new_context(viewport={"width": 420, "height": 900})
        yield context.new_page()
        browser.close()


def test_quiz_preview_and_verdict(server: str, page: object) -> None:
    page.goto(f"{server}/quiz/calc1-week2")  # type: ignore[attr-defined]
    answer = page.locator("#answer-power-rule")  # type: ignore[attr-defined]
    answer.click()
    answer.type("3*x^2 + 2", delay=20)
    preview = page.locator("#preview-power-rule math")  # type: ignore[attr-defined]
    preview.wait_for(timeout=10_000)
    page.keyboard.press("Enter")  # type: ignore[attr-defined]
    verdict = page.locator("#q-power-rule .verdict-correct")  # type: ignore[attr-defined]
    verdict.wait_for(timeout=15_000)
    assert "Correct" in verdict.inner_text()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "quiz-correct.png"), full_page=False)  # type: ignore[attr-defined]


def test_quiz_shows_located_error_and_feedback(server: str, page: object) -> None:
    page.goto(f"{server}/quiz/calc1-week2")  # type: ignore[attr-defined]
    answer = page.locator("#answer-power-rule")  # type: ignore[attr-defined]
    answer.type("3x^2 + 2", delay=20)
    page.locator("#preview-power-rule", has_text="write 3*x").wait_for(timeout=10_000)  # type: ignore[attr-defined]
    answer.fill("3*x^2")
    page.locator("#q-power-rule button").click()  # type: ignore[attr-defined]
    box = page.locator("#q-power-rule .verdict-incorrect")  # type: ignore[attr-defined]
    box.wait_for(timeout=15_000)
    assert "Check the derivative of 2*x." in box.inner_text()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "quiz-feedback.png"))  # type: ignore[attr-defined]


def test_learner_script_is_shown_as_text(server: str, page: object) -> None:
    page.goto(f"{server}/quiz/calc1-week2")  # type: ignore[attr-defined]
    page.locator("#answer-power-rule").fill("<script>alert(1)</script>")  # type: ignore[attr-defined]
    page.locator("#q-power-rule button").click()  # type: ignore[attr-defined]
    page.locator("#q-power-rule .verdict-invalid").wait_for(timeout=15_000)  # type: ignore[attr-defined]
    assert page.evaluate("document.querySelectorAll('script:not([src])').length") == 0  # type: ignore[attr-defined]


def test_help_search_and_try_it(server: str, page: object) -> None:
    page.goto(f"{server}/help/search?q=certificate")  # type: ignore[attr-defined]
    assert page.locator("mark").count() > 0  # type: ignore[attr-defined]
    page.goto(f"{server}/help/math-assignments")  # type: ignore[attr-defined]
    box = page.locator("input[data-preview-output]").first  # type: ignore[attr-defined]
    box.type("root(27, 3)", delay=20)
    page.locator("math").first.wait_for(timeout=10_000)  # type: ignore[attr-defined]
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "help-try-it.png"))  # type: ignore[attr-defined]
