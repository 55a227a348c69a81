"""Ctrl-C in the middle of a step: the run stops at the end of that step, whole."""

from __future__ import annotations

import json
import os
import signal

import numpy as np
import pandas as pd
import pytest

import sim

from .conftest import small


class SignalsMidStep(sim.Recommender):
    """Sends SIGINT to its own process while observing step 2 (mid-step)."""

    name = "signals_mid_step"

    def observe(self, events, view):
        if events.step == 2:
            os.kill(os.getpid(), signal.SIGINT)

    def score(self, users, candidates, view):
        return np.broadcast_to(view.upload_step[candidates].astype(float), (len(users), len(candidates)))


def test_sigint_mid_step_finishes_the_step_and_keeps_a_consistent_log(tmp_path):
    scenario = small(steps=10, output={"save_log": True})
    with pytest.raises(sim.RunInterrupted) as info:
        sim.run(scenario, recommender=SignalsMidStep(), out=tmp_path / "run")
    result = info.value.result
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["complete"] is False and summary["steps_done"] == 3
    metrics = pd.read_csv(tmp_path / "run" / "metrics.csv")
    log = pd.read_parquet(tmp_path / "run" / "log.parquet")
    assert len(metrics) == 3 and sorted(log.step.unique()) == [0, 1, 2]
    assert summary["impressions"] == len(log) == metrics.impressions.sum()
    assert result.summary == summary
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handler restored
