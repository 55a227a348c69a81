"""feedsim: an agent-based simulator of short-video feed dynamics.

>>> import sim
>>> result = sim.run(sim.Scenario(steps=5, world={"n_users": 300}), write=False)
>>> result.summary["complete"], len(result.metrics)
(True, 5)
"""

from .compare import Comparison, compare
from .experiments import RunInterrupted, RunResult, run
from .model import FeedModel
from .platform import PlatformView
from .recommenders import Events, Recommender, RecommenderError, make_recommender, register_recommender
from .scenario import Scenario, ScenarioError
from .sweep import SweepError, sweep

__all__ = [
    "Comparison",
    "Events",
    "FeedModel",
    "PlatformView",
    "Recommender",
    "RecommenderError",
    "RunInterrupted",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "SweepError",
    "compare",
    "make_recommender",
    "register_recommender",
    "run",
    "sweep",
]

__version__ = "0.1.0"
