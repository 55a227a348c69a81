"""Recommenders with chosen faults, for the sweep tests.

Sweep workers import this file by path (``imports=[__file__]``), so the fault fires inside the
worker process, never in the test process.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Literal

import numpy as np

import sim


@sim.register_recommender("test_sweep_faulty")
class FaultyRecommender(sim.Recommender):
    """Random order, with a fault at step ``at_step``.

    Args:
        fault: "none"; "raise" (a RuntimeError); "kill" (the process kills itself with SIGKILL).
        at_step: the step at which the fault fires.
        attempts: a folder; every process that runs this recommender leaves a file there, so
            a test can count how often a run was attempted.
    """

    def __init__(self, fault: Literal["none", "raise", "kill"] = "none", at_step: int = 1, attempts: str = ""):
        self.fault = fault
        self.at_step = at_step
        self.attempts = attempts

    def score(self, users, candidates, view):
        if self.attempts and view.step == 0:
            Path(self.attempts).mkdir(parents=True, exist_ok=True)
            (Path(self.attempts) / f"{self.fault}-{os.getpid()}").touch()
        if view.step == self.at_step and self.fault == "raise":
            raise RuntimeError("faulty recommender raised on purpose")
        if view.step == self.at_step and self.fault == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        return self.rng.random((len(users), len(candidates)), dtype=np.float32)
