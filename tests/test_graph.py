"""The resource graph: structure, queries, and a property over generated scenarios."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.paths import SCENARIOS
from virtsim.catalog import Catalog
from virtsim.scenario import load_scenario, parse_scenario
from virtsim.stack import build_graph


def graph_of(catalog: Catalog, data: dict[str, Any]):  # type: ignore[no-untyped-def]
    return build_graph(parse_scenario(data, catalog), catalog)


def test_mixed_stack_layers(catalog: Catalog) -> None:
    graph = build_graph(load_scenario(SCENARIOS / "mixed-stack.toml", catalog), catalog)
    assert graph.kind("node") == "machine"
    assert graph.host("node/kernel") == "node"
    assert graph.path_to_machine("node/web-0") == [
        "node/web-0", "node/docker+runc", "node/kernel", "node"]
    # containers inside a VM share the guest kernel, not the host's
    assert graph.kernel_of("node/k8s-node-1/api-2") == "node/k8s-node-1/kernel"
    assert graph.path_to_machine("node/k8s-node-1/api-2")[-4:] == [
        "node/k8s-node-1/vmm", "node/kvm", "node/kernel", "node"]
    # runc containers share the host kernel; gVisor and Kata bring their own
    assert graph.kernel_of("node/web-3") == "node/kernel"
    assert graph.kernel_of("node/sandboxed-0") == "node/sandboxed-0/sentry"
    assert graph.kernel_of("node/kata") == "node/kata/sandbox/kernel"
    assert graph.kind("node/kata/sandbox") == "vm"


def test_descendants_and_ancestors(catalog: Catalog) -> None:
    graph = build_graph(load_scenario(SCENARIOS / "mixed-stack.toml", catalog), catalog)
    below_vm = graph.descendants("node/k8s-node-0")
    assert "node/k8s-node-0/api-0" in below_vm
    assert "node/k8s-node-1/api-0" not in below_vm
    assert "node/kernel" in graph.ancestors("node/k8s-node-0/api-0")
    everything = graph.descendants("node")
    assert len(everything) == len(graph) - 1


def test_counts_expand_and_instances_are_listed(catalog: Catalog) -> None:
    graph = graph_of(catalog, {"hosts": [{"name": "h", "profile": "laptop", "count": 3,
                                          "containers": [{"name": "c", "count": 5,
                                                          "image": "alpine"}]}]})
    assert graph.machines() == ["h-0", "h-1", "h-2"]
    assert len(list(graph.instances())) == 15
    assert graph.machine("h-2/c-4") == "h-2"


def test_bare_metal_hypervisor_sits_below_the_management_kernel(catalog: Catalog) -> None:
    graph = graph_of(catalog, {"hosts": [{"name": "h", "profile": "windows-server",
                                          "vms": [{"name": "v", "hypervisor": "hyper-v",
                                                   "disk_image": "windows-server-2022-core"}]}]})
    assert graph.host("h/kernel") == "h/hyper-v"
    assert graph.host("h/v/vmm") == "h/hyper-v"
    assert "h/v" not in graph.descendants("h/kernel")


def test_hosted_hypervisor_runs_on_the_host_kernel(catalog: Catalog) -> None:
    graph = graph_of(catalog, {"hosts": [{"name": "h", "profile": "laptop",
                                          "vms": [{"name": "v", "hypervisor": "virtualbox",
                                                   "disk_image": "ubuntu-24.04-cloud"}]}]})
    assert "h/v" in graph.descendants("h/kernel")


def test_kernel_of_a_machine_is_an_error(catalog: Catalog) -> None:
    graph = graph_of(catalog, {"hosts": [{"name": "h", "profile": "laptop"}]})
    with pytest.raises(ValueError, match="runs on no kernel"):
        graph.kernel_of("h")


# -- property: any valid generated scenario builds a well-formed forest -------------------

RUNTIMES = ["runc", "crun", "runsc", "kata"]
ENGINES = ["docker", "containerd", "podman"]
LINUX_IMAGES = ["alpine", "busybox", "debian", "ubuntu", "scratch-static", "nginx-alpine"]


def containers(prefix: str) -> st.SearchStrategy[list[dict[str, Any]]]:
    one = st.fixed_dictionaries({
        "count": st.integers(1, 3),
        "engine": st.sampled_from(ENGINES),
        "runtime": st.sampled_from(RUNTIMES),
        "image": st.sampled_from(LINUX_IMAGES),
    })
    return st.lists(one, max_size=3).map(
        lambda items: [{**c, "name": f"{prefix}{i}"} for i, c in enumerate(items)])


VMS = st.lists(
    st.tuples(st.sampled_from(["qemu", "firecracker", "cloud-hypervisor"]),
              st.integers(1, 2), containers("vc")),
    max_size=2,
).map(lambda items: [
    {"name": f"vm{i}", "hypervisor": "kvm", "vmm": vmm, "count": count,
     "disk_image": "ubuntu-24.04-cloud", "containers": inner}
    for i, (vmm, count, inner) in enumerate(items)])

HOSTS = st.lists(
    st.tuples(st.sampled_from(["laptop", "m5d-metal", "felter-server"]), st.integers(1, 2),
              VMS, containers("c")),
    min_size=1, max_size=2,
).map(lambda items: [
    {"name": f"h{i}", "profile": p, "count": n, "vms": vms, "containers": cs}
    for i, (p, n, vms, cs) in enumerate(items)])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hosts=HOSTS)
def test_every_node_but_a_machine_has_one_host(hosts: list[dict[str, Any]],
                                               catalog: Catalog) -> None:
    graph = graph_of(catalog, {"hosts": hosts})
    for node in graph.nodes():
        in_degree = graph.graph.in_degree(node)
        assert in_degree == (0 if graph.kind(node) == "machine" else 1), node
    for container in graph.nodes("container"):
        assert graph.kind(graph.kernel_of(container)) == "kernel"
        assert graph.kind(graph.path_to_machine(container)[-1]) == "machine"


def test_host_group_members_are_stamped_copies_of_the_first(catalog: Catalog) -> None:
    scenario = load_scenario(SCENARIOS / "mixed-stack.toml", catalog)
    scenario = scenario.model_copy(update={"hosts": tuple(
        h.model_copy(update={"count": 3}) for h in scenario.hosts)})
    graph = build_graph(scenario, catalog)
    assert graph.copies == {"node-1": "node-0", "node-2": "node-0"}
    first = [n for n in graph.nodes() if graph.machine(n) == "node-0"]
    third = [n for n in graph.nodes() if graph.machine(n) == "node-2"]
    assert third == ["node-2" + n[len("node-0"):] for n in first]
    for a, b in zip(first, third, strict=True):
        assert {**graph.attrs(a), "machine": "node-2"} == graph.attrs(b)
        assert graph.host(b) == (None if graph.host(a) is None
                                 else "node-2" + str(graph.host(a))[len("node-0"):])
        assert list(graph.graph.successors(b)) == [
            "node-2" + s[len("node-0"):] for s in graph.graph.successors(a)]
        assert graph.original(b) == a and graph.original(a) == a
        assert graph.in_copy(a, "node-2") == b and graph.in_copy(a, "node-2") is b
    alone = build_graph(scenario, catalog, ["node-2"])  # built, not stamped
    assert alone.copies == {}
    assert list(alone.graph.nodes(data=True)) == [(n, graph.data[n]) for n in third]
    assert list(alone.graph.edges) == [e for e in graph.graph.edges if e[1] in alone.graph]
    assert all(list(alone.graph.pred[n]) == list(graph.graph.pred[n]) for n in third)


@pytest.mark.parametrize("path", sorted((SCENARIOS.parent.parent / "benchmarks" / "scenarios")
                                        .glob("*.toml")), ids=lambda p: p.stem)
def test_benchmark_scenarios_build_at_a_tiny_size(path: Any, catalog: Catalog) -> None:
    scenario = load_scenario(path, catalog)
    small = scenario.model_copy(update={"hosts": tuple(
        h.model_copy(update={"count": 2}) for h in scenario.hosts)})
    graph = build_graph(small, catalog)
    assert len(graph.copies) == len(scenario.hosts)
    assert sum(1 for _ in graph.instances()) > 0


def test_stacks_of_the_same_shape_share_a_key(catalog: Catalog) -> None:
    graph = graph_of(catalog, {"hosts": [
        {"name": "h", "profile": "m5d-metal", "count": 2, "containers": [
            {"name": "a", "image": "alpine", "count": 2},
            {"name": "b", "image": "debian"}]}]})
    shape = graph.stack_shape
    assert shape("h-0/a-0") == shape("h-0/a-1") == shape("h-1/a-0")  # copies and siblings
    assert shape("h-0/a-0") != shape("h-0/b")  # another group: spec, name and image differ
    assert shape("h-0/a-0", graph.path_to_machine("h-0/a-0")) == shape("h-0/a-0")


def test_a_bare_metal_hypervisors_management_os_is_the_host_kernel() -> None:
    from virtsim.catalog import load_catalog
    from virtsim.layer_costs import layer_cost_names

    catalog = load_catalog()
    data = {"name": "dom0", "duration_s": 1, "seed": 1,
            "hosts": [{"name": "h", "profile": "felter-server",
                       "vms": [{"name": "v", "hypervisor": "xen-pv", "vmm": "xen-pv-domain",
                                "disk_image": "ubuntu-24.04-cloud"}]}]}
    graph = build_graph(parse_scenario(data, catalog), catalog)
    assert graph.attrs("h/kernel")["profile"].name == "linux-5.15"  # dom0, not the default
    assert layer_cost_names(graph, "h/v", catalog) == ["xen-pv", "native"]


def test_esxi_hosts_run_on_their_vmkernel_not_a_linux_kernel() -> None:
    from virtsim.catalog import load_catalog

    catalog = load_catalog()
    data = {"name": "esxi", "duration_s": 1, "seed": 1,
            "hosts": [{"name": "h", "profile": "felter-server",
                       "vms": [{"name": "v", "hypervisor": "esxi", "vmm": "esxi-vmx",
                                "disk_image": "ubuntu-24.04-cloud"}]}]}
    graph = build_graph(parse_scenario(data, catalog), catalog)
    assert graph.attrs("h/kernel")["profile"].family == "vmkernel"
