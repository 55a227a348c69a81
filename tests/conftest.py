"""Shared fixtures: small scenarios that run in well under a second."""

from __future__ import annotations

from pathlib import Path

import pytest

import sim

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.toml"


def small(**overrides) -> sim.Scenario:
    """A small world: 400 users, 60 creators, 300 candidates; metric families off unless
    asked for (``metrics={"families": [...]}``), to keep the tests quick."""
    data = {
        "seed": 11,
        "steps": 12,
        "world": {"n_users": 400, "n_creators": 60, "make_agents": False},
        "feed": {"n_candidates": 300},
        "metrics": {"families": []},
    }
    for key, value in overrides.items():
        if isinstance(value, dict):
            data.setdefault(key, {}).update(value)
        else:
            data[key] = value
    return sim.Scenario.model_validate(data)


@pytest.fixture
def small_scenario() -> sim.Scenario:
    return small()


@pytest.fixture(scope="session")
def baseline() -> sim.Scenario:
    return sim.Scenario.load(BASELINE)
