"""Templates: per-machine work done once per host group and renamed for its copies."""

from __future__ import annotations

import virtsim
from virtsim.catalog import Catalog
from virtsim.graph import ResourceGraph
from virtsim.stack import build_graph
from virtsim.templates import Templates, id_map


def test_a_host_group_is_worked_out_once_and_renamed_for_each_copy(catalog: Catalog) -> None:
    scenario = virtsim.parse_scenario({"hosts": [
        {"name": "n", "count": 3, "profile": "m5d-metal",
         "containers": [{"name": "c", "count": 2, "image": "alpine"}]},
        {"name": "solo", "profile": "laptop", "containers": [{"name": "c", "image": "alpine"}]}]},
        catalog)
    graph = build_graph(scenario, catalog)
    templates = Templates(graph)

    def instances_on(machine: str) -> list[str]:
        return sorted(n for n in graph.instances() if graph.machine(n) == machine)

    def renamed(nodes: list[str], to: object) -> list[str]:
        return [to(n) for n in nodes]  # type: ignore[operator]

    got = {m: templates.per_machine("instances", m, instances_on, renamed)
           for m in graph.machines()}
    assert got == {m: instances_on(m) for m in graph.machines()}
    assert templates.computed == 2  # n-0 for the group of three, and solo
    plain = Templates(ResourceGraph(graph.graph))  # no copies known: each machine worked out
    for m in graph.machines():
        plain.per_machine("instances", m, instances_on, renamed)
    assert plain.computed == 4


def test_ids_move_only_under_their_machine() -> None:
    to = id_map("n-1", "n-12")
    assert [to("n-1"), to("n-1/c-0"), to("n-10/c-0"), to("kvm")] == [
        "n-12", "n-12/c-0", "n-10/c-0", "kvm"]
