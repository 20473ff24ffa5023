"""virtsim: discrete-event simulation of hypervisors and containers.

The public Python API::

    import virtsim
    catalog = virtsim.load_catalog()
    scenario = virtsim.load_scenario("experiments/scenarios/alpine-warm.toml", catalog)
    graph = virtsim.build_graph(scenario, catalog)
    result = virtsim.run_scenario(scenario, catalog, seed=1)
    result.table("nodes")
    sweep = virtsim.sweep("experiments/sweeps/density.toml", workers=2)
    sweep.table                      # per point and measure: mean, ci_low, ci_high
    answer = virtsim.plan("experiments/plans/nginx-vs-vms.toml", catalog)
    answer.chosen, answer.tables()["options"]
"""

from virtsim.catalog import Catalog, load_catalog
from virtsim.errors import InputError
from virtsim.graph import ResourceGraph, build_graph
from virtsim.planning import PlanResult, plan
from virtsim.result import Result
from virtsim.run import run_scenario
from virtsim.scenario import Scenario, load_scenario, parse_scenario
from virtsim.sweep_runner import ScenarioJob, SweepResult, run_keyed, run_scenarios, sweep

__all__ = [
    "Catalog",
    "InputError",
    "PlanResult",
    "ResourceGraph",
    "Result",
    "Scenario",
    "ScenarioJob",
    "SweepResult",
    "build_graph",
    "load_catalog",
    "load_scenario",
    "parse_scenario",
    "plan",
    "run_keyed",
    "run_scenario",
    "run_scenarios",
    "sweep",
]

__version__ = "0.1.0"
