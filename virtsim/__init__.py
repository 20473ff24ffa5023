"""virtsim: discrete-event simulation of hypervisors and containers.

The public Python API::

    import virtsim
    catalog = virtsim.load_catalog()
    scenario = virtsim.load_scenario("experiments/scenarios/alpine-warm.toml", catalog)
    graph = virtsim.build_graph(scenario, catalog)
    result = virtsim.run_scenario(scenario, catalog, seed=1)
    result.table("nodes")
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
from virtsim.errors import InputError
from virtsim.graph import HostCapacity, ResourceGraph
from virtsim.instances import InstanceRegistry, Transition
from virtsim.planning import PlanResult, plan
from virtsim.result import Result
from virtsim.run import run_scenario
from virtsim.scenario import Scenario, load_scenario, parse_scenario
from virtsim.simulation import Simulation
from virtsim.stack import build_graph

__all__ = [
    "Catalog",
    "HostCapacity",
    "InputError",
    "InstanceRegistry",
    "PlanResult",
    "ResourceGraph",
    "Result",
    "Scenario",
    "Simulation",
    "Transition",
    "build_graph",
    "load_catalog",
    "load_scenario",
    "parse_scenario",
    "plan",
    "run_scenario",
]

__version__ = "0.1.0"
