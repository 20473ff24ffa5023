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

Watching a run: ``run_scenario(..., observe=watch)`` calls ``watch(sim)`` (a
:class:`Simulation`) before the clock starts, where it can subscribe to the
instances' transitions (``sim.instances.subscribe(callback, "crashed")``,
each a :class:`Transition`). What experiments use from the models is exported
by :mod:`virtsim.footprint`, :mod:`virtsim.performance` and
:mod:`virtsim.compat` (their ``__all__``).
"""

from virtsim.catalog import Catalog, load_catalog
from virtsim.compiled import warn_if_stale
from virtsim.errors import InputError
from virtsim.graph import HostCapacity, ResourceGraph
from virtsim.instances import InstanceRegistry, Transition
from virtsim.planning import PlanResult, plan
from virtsim.result import Result
from virtsim.run import run_scenario
from virtsim.scenario import Scenario, load_scenario, parse_scenario
from virtsim.simulation import Simulation
from virtsim.stack import build_graph
from virtsim.sweep_runner import ScenarioJob, SweepResult, run_keyed, run_scenarios, sweep

__all__ = [
    "Catalog",
    "HostCapacity",
    "InputError",
    "InstanceRegistry",
    "PlanResult",
    "ResourceGraph",
    "Result",
    "Scenario",
    "ScenarioJob",
    "Simulation",
    "SweepResult",
    "Transition",
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

warn_if_stale()
