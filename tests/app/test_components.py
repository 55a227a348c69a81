"""The page's components rendered with solara.render: every panel and control, bad input,
A/B mode and the lesson pages. The page sits in an AppLayout so the sidebar is in the tree."""

from __future__ import annotations

import time

import ipyvuetify as v
import numpy as np
import pytest
import solara

from sim.app import page as P
from sim.app import panels
from sim.app.state import (
    HEADLINE,
    KNOBS,
    Settings,
    SettingsError,
    Simulation,
    build_scenario,
    check_knob,
    format_metric,
    parse_seed,
    presets,
)
from sim.model import FeedModel
from sim.recommenders import Recommender, register_recommender
from sim.recommenders import base as rec_base

SMALL = dict(n_users=300)


def small_settings(**changes) -> Settings:
    return Settings.for_preset("baseline", **{**SMALL, **changes})


def render(element):
    box, rc = solara.render(solara.AppLayout(children=[element]), handle_error=False)
    return rc


def with_class(rc, cls: str) -> list:
    """Every widget of the page whose CSS classes include ``cls``."""
    found, todo = [], list(rc.find().widgets)
    while todo:
        w = todo.pop()
        if cls in (getattr(w, "class_", None) or "").split():
            found.append(w)
        todo.extend(c for c in (getattr(w, "children", None) or []) if not isinstance(c, str))
    return found


def text_of(rc, cls: str) -> str:
    return rc.find(v.Html, class_=cls).widget.children[0]


def texts_of(rc, cls: str) -> list[str]:
    return [w.children[0] for w in rc.find(v.Html, class_=cls).widgets]


def type_into(rc, label: str, value: str) -> None:
    field = rc.find(v.TextField, label=label).widget
    field.v_model = value
    field.fire_event("keyup.enter", None)


def choose(rc, label: str, value: str) -> None:
    rc.find(v.Select, label=label).widget.v_model = value


def click(rc, label: str) -> None:
    rc.find(v.Btn, children=[label]).widget.click()


def markdown_html(rc) -> str:
    """All the page's Markdown, as the HTML it was rendered to."""
    found, todo = [], list(rc.find().widgets)
    while todo:
        w = todo.pop()
        if isinstance(getattr(w, "unsafe_innerHTML", None), str):
            found.append(w.unsafe_innerHTML)
        todo.extend(c for c in (getattr(w, "children", None) or []) if not isinstance(c, str))
    return "\n".join(found)


def error_text(rc) -> str | None:
    found = rc.find(v.Alert, class_="fs-error").widgets
    return found[0].children[0] if found else None


@pytest.fixture
def sim() -> Simulation:
    return Simulation(small_settings())


# -- the page and its controls ---------------------------------------------------------------
def test_page_renders_controls_metrics_and_panels():
    rc = render(P.Page())
    assert P.TITLE in markdown_html(rc)
    for label in ("Play", "Step", "Reset"):
        rc.find(v.Btn, children=[label]).assert_single()
    rc.find(v.Select, label="scenario preset").assert_single()
    assert rc.find(v.Select, label="scenario preset").widget.v_model == "baseline"
    rc.find(v.Select, label="recommender").assert_single()
    for knob in KNOBS:
        rc.find(v.TextField, label=knob.label).assert_single()
    rc.find(v.TextField, label="seed (a whole number)").assert_single()
    rc.find(v.Switch, label="A/B mode: two recommenders, one world").assert_single()
    assert text_of(rc, "fs-step-count") == "step 0 of 40"
    assert rc.find(v.TextField, label="users").widget.v_model == "2000"  # the smooth default
    for key, _, _ in HEADLINE:
        assert text_of(rc, f"fs-metric-{key}") == "n/a"  # nothing measured before the first step
    for tab in ("Taste map", "Trending", "Cascade", "User inspector", "Privacy"):
        rc.find(v.Tab, children=[tab]).assert_single()


def test_step_advances_time_and_shows_the_models_numbers(sim):
    rc = render(P.Explorer(sim))
    click(rc, "Step")
    click(rc, "Step")
    assert sim.steps_done == 2
    assert text_of(rc, "fs-step-count") == "step 2 of 40"
    fresh = FeedModel(build_scenario(small_settings()))
    fresh.step()
    fresh.step()
    assert text_of(rc, "fs-metric-like_rate") == format_metric("like_rate", fresh.latest["like_rate"])
    assert text_of(rc, "fs-metric-mean_utility") == format_metric("mean_utility", fresh.latest["mean_utility"])
    n = fresh.world.videos.n
    from sim import metrics

    assert text_of(rc, "fs-metric-exposure_gini") == format_metric("exposure_gini", metrics.gini(fresh.counters.views[:n]))


def test_reset_goes_back_to_step_zero_with_the_same_settings(sim):
    rc = render(P.Explorer(sim))
    click(rc, "Step")
    before = sim.settings
    click(rc, "Reset")
    assert sim.steps_done == 0 and sim.settings == before
    assert text_of(rc, "fs-step-count") == "step 0 of 40"


def test_play_steps_until_paused(sim, monkeypatch):
    monkeypatch.setattr(P, "PLAY_PAUSE_S", 0.3)  # slow enough that the run cannot end during the test
    rc = render(P.Explorer(sim))
    click(rc, "Play")
    deadline = time.time() + 60
    while (sim.steps_done < 2 or not rc.find(v.Btn, children=["Pause"]).widgets) and time.time() < deadline:
        time.sleep(0.05)
    assert sim.steps_done >= 2 and not sim.finished
    click(rc, "Pause")
    time.sleep(0.8)
    stopped = sim.steps_done
    time.sleep(0.8)
    assert sim.steps_done == stopped
    rc.find(v.Btn, children=["Play"]).assert_single()


def test_switching_the_recommender_resets_with_the_new_one(sim):
    rc = render(P.Explorer(sim))
    click(rc, "Step")
    choose(rc, "recommender", "content")
    assert sim.run.recommender == "content" and sim.steps_done == 0
    assert sim.run.model.recommender.name == "content"
    assert text_of(rc, "fs-step-count") == "step 0 of 40"
    # the new recommender's own params appear as controls
    rc.find(v.TextField, label="content: like_weight").assert_single()


def test_recommender_param_control_sets_the_param(sim):
    rc = render(P.Explorer(sim))
    type_into(rc, "popularity: half_life", "6.5")
    assert sim.run.model.recommender.half_life == 6.5
    choose(rc, "popularity: signal", "views")
    assert sim.run.model.recommender.signal == "views"


KNOB_CASES = [
    ("users", "world.n_users", "500", 500),
    ("plasticity (taste drift rate)", "behaviour.plasticity_mean", "0.1", 0.1),
    ("like-bait creators (share)", "world.like_bait_creators", "0.5", 0.5),
    ("privacy epsilon (empty: off)", "privacy.epsilon", "1.5", 1.5),
    ("holdout fraction", "holdout.fraction", "0.25", 0.25),
    ("seed (a whole number)", "seed", "42", 42),
]


def test_each_knob_sets_its_scenario_field(sim):
    rc = render(P.Explorer(sim))
    for label, field, value, expected in KNOB_CASES:
        type_into(rc, label, value)
        assert error_text(rc) is None, label
        node = sim.run.model.config
        for part in field.split("."):
            node = getattr(node, part)
        assert node == expected, label
    type_into(rc, "privacy epsilon (empty: off)", "")  # empty: likes seen as they are
    assert sim.run.model.config.privacy.epsilon is None


def test_exploration_knob_adds_the_explore_reranker(sim):
    rc = render(P.Explorer(sim))
    type_into(rc, "exploration (share of feed slots)", "0.3")
    explore = [r for r in sim.run.model.config.feed.rerankers if r.name == "explore"]
    assert len(explore) == 1 and explore[0].params["share"] == 0.3
    type_into(rc, "exploration (share of feed slots)", "0")
    assert not [r for r in sim.run.model.config.feed.rerankers if r.name == "explore"]


def test_preset_switch_loads_that_scenario(sim):
    rc = render(P.Explorer(sim))
    choose(rc, "scenario preset", "echo_chamber")
    assert sim.run.model.config.name == "echo_chamber"
    assert sim.run.model.config.world.n_users <= 2000


# -- bad input: a visible message, the previous model kept ------------------------------------
BAD_INPUT = [
    ("seed (a whole number)", "abc", "seed: must be a whole number (got 'abc')"),
    ("seed (a whole number)", "1.5", "seed: must be a whole number"),
    ("users", "0", "users: must be between 50 and 20,000 (got 0)"),
    ("plasticity (taste drift rate)", "lots", "plasticity (taste drift rate): must be a number"),
    ("holdout fraction", "2", "holdout fraction: must be between 0 and 0.5 (got 2)"),
    ("popularity: half_life", "-1", "recommender 'popularity': param 'half_life'"),
]


def test_bad_input_shows_a_message_and_keeps_the_model(sim):
    rc = render(P.Explorer(sim))
    click(rc, "Step")
    for steps, (label, value, words) in enumerate(BAD_INPUT, start=1):
        model, settings = sim.run.model, sim.settings
        type_into(rc, label, value)
        assert words in (error_text(rc) or ""), label
        assert sim.run.model is model and sim.settings == settings and sim.steps_done == steps, label
        click(rc, "Step")  # the kept model goes on, and the message goes
        assert sim.steps_done == steps + 1 and error_text(rc) is None, label


@pytest.fixture
def failing_recommender(monkeypatch):
    class ScoreFails(Recommender):
        """Raises when asked for scores."""

        def score(self, users, candidates, view):
            raise RuntimeError("scores are broken")

    monkeypatch.setitem(rec_base._REGISTRY, "score_fails", ScoreFails)
    register_recommender("score_fails", ScoreFails)
    yield "score_fails"


def test_a_recommender_that_raises_keeps_the_previous_model(sim, failing_recommender):
    rc = render(P.Explorer(sim))
    click(rc, "Step")
    model = sim.run.model
    choose(rc, "recommender", failing_recommender)
    assert sim.run.recommender == failing_recommender  # built fine; it fails when it scores
    click(rc, "Step")
    message = error_text(rc)
    assert "score_fails failed on the first step" in message and "scores are broken" in message
    assert "kept the previous model" in message
    assert sim.run.model is model and sim.steps_done == 1
    assert text_of(rc, "fs-step-count") == "step 1 of 40"


def test_a_recommender_that_fails_mid_run_stops_the_run_until_reset(monkeypatch):
    sim = Simulation(small_settings())
    assert sim.step() is None
    rec = sim.run.model.recommender

    def broken(*args, **kwargs):
        raise RuntimeError("lost its model")

    monkeypatch.setattr(rec, "score", broken)
    message = sim.step()
    assert "popularity failed at step" in message and "lost its model" in message and "Reset" in message
    assert sim.run.model is not None and sim.step() == message  # no half-stepped model goes on
    assert sim.reset() is None and sim.steps_done == 0 and sim.step() is None


# -- A/B mode --------------------------------------------------------------------------------
def test_ab_mode_shows_two_columns_stepping_together_on_one_world(sim):
    rc = render(P.Explorer(sim))
    rc.find(v.Switch, label="A/B mode: two recommenders, one world").widget.v_model = True
    choose(rc, "recommender B", "content")
    assert [r.recommender for r in sim.runs] == ["popularity", "content"]
    assert len(with_class(rc, "fs-ab-column-A")) == 1 and len(with_class(rc, "fs-ab-column-B")) == 1
    click(rc, "Step")
    click(rc, "Step")
    a, b = (r.model for r in sim.runs)
    assert a.steps == b.steps == 2
    np.testing.assert_array_equal(a.world.users.taste0, b.world.users.taste0)  # one world
    assert texts_of(rc, "fs-step") == ["step 2", "step 2"]
    shown = texts_of(rc, "fs-metric-like_rate")
    assert shown == [format_metric("like_rate", a.latest["like_rate"]), format_metric("like_rate", b.latest["like_rate"])]
    diff = panels.ab_difference(sim.runs)
    row = diff[diff["metric"] == "like rate"].iloc[0]
    assert row["B - A"] == f"{b.latest['like_rate'] - a.latest['like_rate']:+.4g}"
    assert "B minus A at step 2" in markdown_html(rc) and row["B - A"] in markdown_html(rc)
    assert "taste_axes" in sim.runs[0].cache and "taste_axes" not in sim.runs[1].cache  # the tabs show A
    toggle = rc.find(v.BtnToggle).widget
    assert [b.children[0] for b in toggle.children] == ["panels of A: popularity", "panels of B: content"]
    toggle.v_model = 1
    assert "taste_axes" in sim.runs[1].cache  # now B's taste map is drawn


# -- panels ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def stepped() -> Simulation:
    s = Simulation(small_settings())
    for _ in range(6):
        assert s.step() is None
    return s


def test_metrics_panel_draws_each_headline_series(stepped):
    fig = panels.metrics_figure(stepped.runs)
    lines = [ax.lines[0] for ax in fig.axes[: len(HEADLINE)]]
    assert [len(line.get_xdata()) for line in lines] == [6] * len(HEADLINE)
    np.testing.assert_allclose(lines[0].get_ydata(), [h["like_rate"] for h in stepped.run.history])
    render(panels.MetricsPanel(stepped.runs, stepped.steps_done))


def test_taste_map_projects_every_user(stepped):
    tm = panels.taste_map(stepped.run)
    assert tm.xy.shape == (stepped.run.model.world.users.n, 2)
    # the axes are fixed at the start: projecting the starting tastes gives mean zero
    mean, axes, _ = stepped.run.cache["taste_axes"]
    start = (stepped.run.model.world.users.taste0 - mean) @ axes.T
    np.testing.assert_allclose(start.mean(axis=0), 0, atol=1e-5)
    render(panels.TasteMapPanel(stepped.run, stepped.steps_done))


def test_trending_board_lists_the_top_videos_by_trending_count(stepped):
    model = stepped.run.model
    tr = panels.trending(model)
    scores = model.counters.trending[tr.table["video"].to_numpy()]
    assert len(tr.table) == panels.TOP_VIDEOS and np.all(np.diff(scores) <= 0)
    assert scores[0] == model.counters.trending[: model.world.videos.n].max()
    video = tr.table["video"].iloc[0]
    assert tr.video_curves[video].sum() == model.counters.views[video]  # its curve adds up to its views
    rc = render(panels.TrendingBoard(stepped.run, stepped.steps_done))
    assert f"<td>{video}</td>" in markdown_html(rc)


def test_cascade_view_samples_one_connected_tree(stepped):
    model = stepped.run.model
    full = panels.viral_cascade(model)
    assert full.video >= 0 and full.tree.number_of_nodes() >= 2
    small = panels.viral_cascade(model, max_nodes=3)
    assert small.tree.number_of_nodes() == min(3, full.size)
    assert small.root in small.tree and all(small.tree.in_degree(n) == 1 for n in small.tree if n != small.root)
    assert full.tree.number_of_nodes() <= panels.MAX_CASCADE_NODES
    pos = panels.tree_layout(full.tree, full.root)
    assert set(pos) == set(full.tree) and pos[full.root][1] == 0
    render(panels.CascadeView(stepped.run, stepped.steps_done))


def test_user_inspector_shows_a_user_and_why_each_video_was_shown(stepped):
    model = stepped.run.model
    user = panels.default_user(model)
    ins = panels.inspect_user(model, user)
    assert ins.user == user
    np.testing.assert_allclose(ins.true_taste, model.world.users.taste[user])
    assert ins.inferred_taste.sum() == pytest.approx(1.0)
    recommended = ins.feed[~ins.feed["from a friend"]]["video"]
    assert len(ins.feed) > 0 and set(recommended) <= set(ins.why["video"])  # the whole served feed is explained
    assert "when the whole feed was served" in ins.why_note
    rc = render(panels.UserInspector(stepped.run, stepped.steps_done))
    assert text_of(rc, "fs-inspected-user").startswith(f"user {user} |")
    type_into(rc, "user id", "17")  # any user: the recommender explains them on demand
    assert text_of(rc, "fs-inspected-user").startswith("user 17 |")


def test_explanation_parts_add_up_to_the_score(stepped):
    model = stepped.run.model
    log = model.log.observed
    last = (log.column("step") == model.steps - 1) & (log.column("share_parent") < 0)
    explained = {e["user"] for e in model.explanations}
    users = [u for u in np.unique(log.column("user")[last]) if not model.world.users.holdout[u] and u not in explained]
    user = int(users[0])
    feed = panels.inspect_user(model, user).feed
    videos = feed[~feed["from a friend"]]["video"].to_numpy()
    why, note = panels.explain_feed(model, user, videos)
    assert "scores them now" in note
    rec = model.recommender
    cand = model._pool[0]
    state = rec.rng.bit_generator.state
    scores = np.asarray(rec.score(np.array([user]), cand, model.view))[0]
    rec.rng.bit_generator.state = state
    total = why.drop(columns="video").sum(axis=1).to_numpy()
    np.testing.assert_allclose(total, scores[np.searchsorted(cand, why["video"].to_numpy())], rtol=1e-6, atol=1e-9)


def test_privacy_panel_computes_the_trait_auc_on_demand(stepped):
    rc = render(panels.PrivacyPanel(stepped.run, stepped.steps_done))
    assert not rc.find(v.Html, class_="fs-trait-auc").widgets
    click(rc, "Infer the trait now")
    auc = panels.trait_inference(stepped.run.model)
    assert text_of(rc, "fs-trait-auc") == (f"trait AUC {auc.auc:.3f}" if not np.isnan(auc.auc) else f"trait AUC n/a: {auc.reason}")


# -- state -----------------------------------------------------------------------------------
def test_seed_is_coerced_from_text_and_non_integers_refused():
    assert parse_seed("42") == 42 and parse_seed(" 7 ") == 7 and parse_seed(3.0) == 3
    for bad in ("abc", "1.5", -1, True, ""):
        with pytest.raises(SettingsError, match="seed"):
            parse_seed(bad)


def test_knobs_are_range_checked():
    assert check_knob("n_users", "500") == 500 and check_knob("epsilon", "") is None
    for name, bad in (("n_users", "10"), ("n_users", "500.5"), ("holdout", "0.9"), ("like_bait", "nan")):
        with pytest.raises(SettingsError):
            check_knob(name, bad)


def test_every_preset_builds_a_page_scenario():
    for name in presets():
        scenario = build_scenario(Settings.for_preset(name))
        assert scenario.world.n_users <= 2000 and scenario.metrics.families == ["echo"]


def test_ab_pair_steps_like_two_separate_models():
    s = Simulation(small_settings(ab=True, recommender_b="random"))
    s.step()
    alone = FeedModel(build_scenario(small_settings(), recommender="random"))
    alone.step()
    assert s.runs[1].model.latest["like_rate"] == alone.latest["like_rate"]


# -- lessons ---------------------------------------------------------------------------------
def test_fill_narrative_uses_live_numbers_and_marks_the_rest():
    text = P.fill_narrative("likes {like_rate:.1%} at step {step}, peak {peak_share}", {"like_rate": 0.0512, "step": 3})
    assert text == "likes 5.1% at step 3, peak …"


LESSON_NAMES = list(P.lessons())


@pytest.mark.parametrize("name", LESSON_NAMES)
def test_every_lesson_page_opens_with_its_scenario(name):
    lesson = P.lessons()[name]
    rc = render(P.LessonPage(name))
    rc.find(v.Btn, children=["Step"]).assert_single()
    html = markdown_html(rc)
    assert lesson.title in html and all(q.split()[0] in html for q in lesson.questions)
    settings = P.lesson_settings(lesson)
    assert settings.recommender == lesson.recommenders[0]
    assert build_scenario(settings).recommender.name == lesson.recommenders[0]
    click(rc, "Step")
    assert text_of(rc, "fs-step-count").startswith("step 1 of")


def test_lesson_registry_has_the_five_lessons_in_order():
    assert LESSON_NAMES == ["like_to_prediction", "trends", "echo_chambers", "likes_mislead", "likes_reveal"]


def test_lesson_numbers_fill_in_from_the_lessons_own_run():
    from sim.app.lessons import Lesson, LessonResult
    from sim.app.state import presets

    calls = []

    def run(out_dir, **overrides):
        calls.append(out_dir)
        return LessonResult("fake", {"like_rate": 0.5}, "### Fake lesson\n\nLikes rose to 50.0%.", None)

    lesson = Lesson("fake", "Fake lesson", presets()["baseline"], ("popularity",),
                    "### Fake lesson\n\nLikes rose to {like_rate:.1%}.", ("Try it",), ("Look",), run)
    rc = render(P.LessonBody(lesson))
    html = markdown_html(rc)
    assert "Likes rose to …." in html and html.count("Fake lesson") == 1  # the repeated heading is dropped
    click(rc, "Fill in the numbers: run the lesson's comparison")
    deadline = time.time() + 10
    while "Likes rose to 50.0%." not in markdown_html(rc) and time.time() < deadline:
        time.sleep(0.05)
    assert "Likes rose to 50.0%." in markdown_html(rc) and calls == [None]  # no figure written from the page


def test_unknown_lesson_shows_a_message():
    rc = render(P.LessonPage("no_such_lesson"))
    assert "no lesson named 'no_such_lesson'" in rc.find(v.Alert).widget.children[0]


# -- feedsim app ------------------------------------------------------------------------------
@pytest.fixture
def exec_calls(monkeypatch):
    """Capture the exec of the server (and the asset check) instead of serving."""
    import os

    from sim.app import assets

    calls = []
    monkeypatch.setattr(os, "execve", lambda path, args, env: calls.append((path, args, env)))
    monkeypatch.setattr(assets, "ensure_assets", lambda *a, **k: calls.append("assets"))
    return calls


def invoke(*args):
    from typer.testing import CliRunner

    from sim.cli import app

    return CliRunner().invoke(app, ["app", *args])


def test_feedsim_app_serves_on_localhost_with_the_assets_filled(exec_calls):
    result = invoke("echo_chamber", "--port", "8123")
    assert result.exit_code == 0, result.output
    assert exec_calls[0] == "assets"
    _, args, env = exec_calls[1]
    assert args[1:] == ["-m", "solara", "run", "sim.app.page", "--host", "127.0.0.1", "--port", "8123",
                        "--production", "--no-open"]
    assert env["FEEDSIM_APP_SCENARIO"] == "echo_chamber"
    assert "warning" not in result.output


def test_feedsim_app_warns_when_serving_beyond_localhost(exec_calls):
    result = invoke("--host", "0.0.0.0")
    assert result.exit_code == 0 and "warning: serving on 0.0.0.0" in result.output
    assert exec_calls[1][1][5:7] == ["--host", "0.0.0.0"]


@pytest.mark.parametrize(
    "args, words", [(["no_such_scenario"], "scenario file not found"), (["--port", "0"], "--port: must be between")]
)
def test_feedsim_app_bad_input_is_one_line_and_status_2(exec_calls, args, words):
    result = invoke(*args)
    assert result.exit_code == 2 and words in result.output and "Traceback" not in result.output
    assert exec_calls == []


def test_page_opens_on_the_scenario_feedsim_app_was_given(monkeypatch):
    from sim.app.state import APP_SCENARIO_ENV, initial_settings

    monkeypatch.setenv(APP_SCENARIO_ENV, "echo_chamber")
    assert initial_settings() == (Settings.for_preset("echo_chamber"), None)
    monkeypatch.setenv(APP_SCENARIO_ENV, "no_such_scenario")
    settings, problem = initial_settings()
    assert settings.preset == "baseline" and "no_such_scenario" in problem
