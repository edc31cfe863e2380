"""Problems found reviewing the quiz pages and the help center in a real browser, kept fixed.

Uses the server, page and browser set-up of test_browser.py (and skips, as it does, where
Playwright or Chromium is missing). Screenshots go to var/screenshots/ like the others'.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import test_browser as browser  # noqa: E402  (skips this module, too, without Playwright)

# test_browser's served app, browser page and skip marks, shared rather than copied.
server = browser.server
page = browser.page
pytestmark = browser.pytestmark
SHOTS = browser.SHOTS

PHONE = {"width": 375, "height": 700}


@pytest.fixture()
def phone(page: object) -> Iterator[object]:
    """A fresh page in a 375x700 viewport, in the browser of test_browser's `page`."""
    context = page.context.browser.new_context(viewport=PHONE)  # type: ignore[attr-defined]
    try:
        yield context.new_page()
    finally:
        context.close()


def _shot(page: object, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / name))  # type: ignore[attr-defined]


def _page_width(page: object) -> tuple[int, int]:
    return tuple(page.evaluate(  # type: ignore[attr-defined,return-value]
        "[document.documentElement.scrollWidth, window.innerWidth]"))


def test_long_paste_previews_only_a_window_around_the_mistake(server: str, page: object) -> None:
    # A 5,000-character paste used to be echoed in full, 3,000 characters of it in a red mark:
    # a 3,400 px tall block on a phone.
    page.goto(f"{server}/quiz/calc1-week2")  # type: ignore[attr-defined]
    page.locator("#answer-power-rule").fill("x+" * 2500)  # type: ignore[attr-defined]
    preview = page.locator("#preview-power-rule")  # type: ignore[attr-defined]
    preview.locator(".preview-error", has_text="at most 2000").wait_for(timeout=10_000)
    source = preview.locator(".preview-source").inner_text()
    assert len(source) < 120
    assert source.startswith("\u2026") and source.endswith("\u2026")
    mark = preview.locator(".preview-source mark").inner_text()
    assert mark.startswith("x+") and mark.endswith("\u2026") and len(mark) < 40
    _shot(page, "review-long-paste.png")


def test_error_mark_counts_characters_as_the_server_does(server: str, page: object) -> None:
    # Columns are code points; slicing UTF-16 units marked half of "😀" (two broken glyphs).
    page.goto(f"{server}/quiz/calc1-week2")  # type: ignore[attr-defined]
    answer = page.locator("#answer-power-rule")  # type: ignore[attr-defined]
    answer.fill("2*x + 😀")
    mark = page.locator("#preview-power-rule .preview-source mark")  # type: ignore[attr-defined]
    mark.wait_for(timeout=10_000)
    assert mark.inner_text() == "😀"
    answer.fill("😀 + 3x")
    page.locator("#preview-power-rule .preview-source",  # type: ignore[attr-defined]
                 has_text="😀 + 3x").wait_for(timeout=10_000)
    assert mark.inner_text() == "😀"


def test_try_it_box_reports_a_long_paste_instead_of_cutting_it(server: str, page: object) -> None:
    # maxlength=2000 cut a paste silently; the preview then complained about the cut end.
    page.goto(f"{server}/help/math-assignments")  # type: ignore[attr-defined]
    box = page.locator("#try-it-input")  # type: ignore[attr-defined]
    box.fill("x+" * 2499 + "x")
    assert len(box.input_value()) == 4999
    page.locator("#try-it-output .preview-error",  # type: ignore[attr-defined]
                 has_text="at most 2000").wait_for(timeout=10_000)


def test_verdict_is_withdrawn_when_the_answer_changes(server: str, page: object) -> None:
    page.goto(f"{server}/quiz/calc1-week2")  # type: ignore[attr-defined]
    answer = page.locator("#answer-chain-rule")  # type: ignore[attr-defined]
    answer.fill("2*x*cos(x^2)")
    page.locator("#q-chain-rule button").click()  # type: ignore[attr-defined]
    page.locator("#q-chain-rule .verdict-correct").wait_for(timeout=15_000)  # type: ignore[attr-defined]
    answer.press("End")
    answer.type(" + 1")
    verdict = page.locator("#q-chain-rule .verdict")  # type: ignore[attr-defined]
    assert "verdict-stale" in (verdict.get_attribute("class") or "")
    assert "Correct" not in verdict.inner_text()
    assert "changed since it was checked" in verdict.inner_text()
    _shot(page, "review-stale-verdict.png")


def test_verdict_arriving_after_an_edit_is_not_shown(server: str, page: object) -> None:
    # The check of "3*x^2 + 2" is held until the learner has typed something else: its
    # "Correct" must not appear next to the new text.
    held: list[object] = []
    page.route("**/api/v1/grade", lambda route: held.append(route))  # type: ignore[attr-defined]
    try:
        page.goto(f"{server}/quiz/calc1-week2")  # type: ignore[attr-defined]
        answer = page.locator("#answer-power-rule")  # type: ignore[attr-defined]
        answer.fill("3*x^2 + 2")
        page.locator("#q-power-rule button").click()  # type: ignore[attr-defined]
        for _ in range(200):
            if held:
                break
            page.wait_for_timeout(50)  # type: ignore[attr-defined]
        assert held, "the grade request never left the page"
        answer.fill("3*x^2 + 7")
        held[0].continue_()  # type: ignore[attr-defined]
        # The button is enabled again once the held check has been answered.
        page.locator("#q-power-rule button:enabled").wait_for(timeout=15_000)  # type: ignore[attr-defined]
        verdict = page.locator("#q-power-rule .verdict")  # type: ignore[attr-defined]
        assert "verdict-stale" in (verdict.get_attribute("class") or "")
        assert "Correct" not in verdict.inner_text()
    finally:
        page.unroute("**/api/v1/grade")  # type: ignore[attr-defined]


def test_each_answer_box_and_button_has_its_own_name(server: str, page: object) -> None:
    # Every input was "Your answer" and every button "Submit": a screen reader's list of
    # form fields could not tell the questions apart.
    page.goto(f"{server}/quiz/calc1-week2")  # type: ignore[attr-defined]
    count = page.locator("form.answer-form").count()  # type: ignore[attr-defined]
    assert count > 1
    for n in range(1, count + 1):
        name = re.compile(rf"^Your answer to question {n}( \(|$)")
        box = page.get_by_role("textbox", name=name)  # type: ignore[attr-defined]
        assert box.count() == 1
        button = page.get_by_role("button", name=f"Submit answer to question {n}", exact=True)  # type: ignore[attr-defined]
        assert button.count() == 1
    box = page.locator("#answer-chain-rule")  # type: ignore[attr-defined]
    described = (box.get_attribute("aria-describedby") or "").split()
    assert "preview-chain-rule" in described
    texts = [page.locator(f"#{i}").inner_text() for i in described]  # type: ignore[attr-defined]
    assert "Differentiate sin(x^2)." in texts
    assert page.locator("#preview-chain-rule").get_attribute("aria-live") == "polite"  # type: ignore[attr-defined]
    assert page.locator("#q-chain-rule .verdict").get_attribute("aria-live") == "polite"  # type: ignore[attr-defined]


def test_phone_reference_examples_are_on_screen(server: str, phone: object) -> None:
    # At 375 px the four-column table put the Example buttons (the thing to tap) off screen.
    phone.goto(f"{server}/help/math-assignments")  # type: ignore[attr-defined]
    width = PHONE["width"]
    buttons = phone.locator("table.functions button.example")  # type: ignore[attr-defined]
    assert buttons.count() > 10
    for i in range(buttons.count()):
        box = buttons.nth(i).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, i
    scroll, inner = _page_width(phone)
    assert scroll <= inner
    # The table keeps its structure for assistive technology.
    assert phone.get_by_role("columnheader", name="Example").count() > 0  # type: ignore[attr-defined]
    phone.locator("table.functions button.example", has_text="gcd(").first.click()  # type: ignore[attr-defined]
    assert phone.locator("#try-it-input").input_value().startswith("gcd(")  # type: ignore[attr-defined]
    phone.locator("#try-it-output math").wait_for(timeout=10_000)  # type: ignore[attr-defined]
    _shot(phone, "review-phone-try-it.png")


@pytest.mark.parametrize("path", ["/help/search?q=" + "a" * 300, "/help/" + "b" * 150])
def test_long_unbroken_words_do_not_widen_the_page(server: str, phone: object,
                                                   path: str) -> None:
    phone.goto(f"{server}{path}")  # type: ignore[attr-defined]
    scroll, inner = _page_width(phone)
    assert scroll <= inner


def test_pages_load_without_failed_requests(server: str, phone: object) -> None:
    # The browser asked for /favicon.ico, a 404 on every page.
    failed: list[str] = []
    phone.on("response",  # type: ignore[attr-defined]
             lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    for path in ("/", "/quiz/calc1-week2", "/help", "/help/math-assignments"):
        phone.goto(f"{server}{path}", wait_until="load")  # type: ignore[attr-defined]
    assert phone.locator("link[rel=icon]").count() == 1  # type: ignore[attr-defined]
    assert failed == []
