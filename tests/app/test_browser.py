"""The page in a real browser: served by ``solara run``, driven by Playwright on Debian's
Chromium. Screenshots of the main page and of A/B mode go to test-output/app/ (and to
docs/img/ with FEEDSIM_UPDATE_SCREENSHOTS=1)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from sim import metrics
from sim.app.lessons import LESSONS
from sim.app.state import Settings, build_scenario, format_metric
from sim.model import FeedModel

from .conftest import save_screenshot


def headless(steps: int, **changes) -> FeedModel:
    """The page's default model, run without the page."""
    model = FeedModel(build_scenario(Settings.for_preset("baseline", **changes)))
    for _ in range(steps):
        model.step()
    return model


def step_count(tab) -> str:
    return tab.inner_text(".fs-step-count")


def click_step(tab, times: int = 1) -> None:
    """Press Step and wait until every step label on the page shows the new step."""
    for _ in range(times):
        before = int(step_count(tab).split()[1])
        tab.get_by_role("button", name="Step", exact=True).click()
        tab.wait_for_function(
            """n => document.querySelector('.fs-step-count').innerText.startsWith(`step ${n} of`)
                 && [...document.querySelectorAll('.fs-step')].every(e => e.innerText === `step ${n}`)""",
            arg=before + 1,
        )


def choose(tab, label: str, option: str) -> None:
    """Pick ``option`` in the Vuetify select labelled ``label``."""
    tab.locator(".v-select", has=tab.locator(f"label:text-is('{label}')")).click()
    tab.locator(".v-menu__content.menuable__content__active .v-list-item", has_text=option).first.click()


def type_into(tab, label: str, value: str) -> None:
    field = tab.get_by_label(label, exact=True)
    field.fill(value)
    field.press("Enter")


def test_page_loads_steps_and_shows_the_models_numbers(page, screenshot_dir):
    assert step_count(page) == "step 0 of 40"
    click_step(page, 3)
    assert step_count(page) == "step 3 of 40"
    model = headless(3)
    expect(page.locator(".fs-metric-like_rate")).to_have_text(format_metric("like_rate", model.latest["like_rate"]))
    expect(page.locator(".fs-metric-mean_utility")).to_have_text(format_metric("mean_utility", model.latest["mean_utility"]))
    gini = metrics.gini(model.counters.views[: model.world.videos.n])
    expect(page.locator(".fs-metric-exposure_gini")).to_have_text(format_metric("exposure_gini", gini))
    click_step(page, 5)
    page.wait_for_selector("img")
    save_screenshot(page, screenshot_dir, "app.png")


def test_switching_the_recommender_resets_with_the_new_one(page):
    click_step(page)
    choose(page, "recommender", "content")
    page.wait_for_selector("label:text-is('content: like_weight')")
    expect(page.locator(".fs-step-count")).to_have_text("step 0 of 40")
    expect(page.locator("label:text-is('popularity: half_life')")).to_have_count(0)
    click_step(page)
    model = headless(1, recommender="content", params=())
    expect(page.locator(".fs-metric-like_rate")).to_have_text(format_metric("like_rate", model.latest["like_rate"]))


def test_inspector_shows_a_user_and_why_videos_were_shown(page):
    click_step(page, 2)
    page.get_by_role("tab", name="User inspector").click()
    shown = page.wait_for_selector(".fs-inspected-user")
    assert shown.inner_text().startswith("user ")
    assert page.get_by_text("Why each video was shown").count() == 1
    type_into(page, "user id", "42")
    page.wait_for_selector(".fs-inspected-user:text-matches('^user 42 ')")


def test_ab_mode_shows_two_columns_stepping_together(page, screenshot_dir):
    page.get_by_text("A/B mode: two recommenders, one world").click()
    page.wait_for_selector(".fs-ab-column-A")
    choose(page, "recommender B", "content")
    page.wait_for_selector(".fs-ab-column-B:has-text('B: content')")
    assert page.locator(".fs-ab-column-A").inner_text().startswith("A: popularity")
    click_step(page, 4)
    assert page.locator(".fs-ab-column-A .fs-step").inner_text() == "step 4"
    assert page.locator(".fs-ab-column-B .fs-step").inner_text() == "step 4"
    a, b = headless(4), headless(4, recommender="content", params=())
    expect(page.locator(".fs-ab-column-A .fs-metric-like_rate")).to_have_text(format_metric("like_rate", a.latest["like_rate"]))
    expect(page.locator(".fs-ab-column-B .fs-metric-like_rate")).to_have_text(format_metric("like_rate", b.latest["like_rate"]))
    expect(page.get_by_text("B minus A at step 4")).to_have_count(1)
    page.wait_for_selector("img")
    save_screenshot(page, screenshot_dir, "app_ab.png")


def test_bad_seed_shows_a_message_and_keeps_the_model(page):
    click_step(page)
    type_into(page, "seed (a whole number)", "abc")
    error = page.wait_for_selector(".fs-error")
    assert "seed: must be a whole number (got 'abc')" in error.inner_text()
    assert step_count(page) == "step 1 of 40"
    click_step(page)
    assert step_count(page) == "step 2 of 40"


@pytest.mark.parametrize("name", list(LESSONS))
def test_every_lesson_page_opens(browser, app_url, name):
    lesson = LESSONS[name]
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    tab.set_default_timeout(30_000)
    try:
        tab.goto(f"{app_url}/lessons/{name}")
        title = tab.wait_for_selector("[data-testid=lesson-title]")
        assert title.inner_text().strip() == lesson.title
        tab.wait_for_selector(".fs-step-count")
        assert tab.get_by_text("Questions to try").count() == 1
        choice = tab.locator(".v-select", has=tab.locator("label:text-is('recommender')"))
        assert lesson.recommenders[0] in choice.inner_text()
    finally:
        context.close()


def test_lessons_are_registered():
    assert LESSONS, "no lesson is registered"


# -- feedsim app ---------------------------------------------------------------------------
def test_feedsim_app_serves_the_given_scenario(browser):
    import subprocess
    import sys
    import time
    import urllib.request
    from pathlib import Path

    from .conftest import ROOT, _free_port

    port = _free_port()
    feedsim = Path(sys.executable).with_name("feedsim")
    proc = subprocess.Popen([str(feedsim), "app", "echo_chamber", "--port", str(port)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.time() + 60
        while True:
            assert proc.poll() is None, proc.stdout.read()
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except OSError:
                assert time.time() < deadline, "feedsim app did not answer within 60 s"
                time.sleep(0.3)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        tab = context.new_page()
        tab.goto(f"http://127.0.0.1:{port}/")
        tab.wait_for_selector(".fs-step-count")
        preset = tab.locator(".v-select", has=tab.locator("label:text-is('scenario preset')"))
        assert "echo_chamber" in preset.inner_text()
        assert tab.inner_text(".fs-step-count") == "step 0 of 50"  # echo_chamber runs 50 steps
        context.close()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
