"""Sweep files: factors and their levels, designs, stable point ids, derived seeds, bad input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from virtsim.catalog import Catalog
from virtsim.errors import InputError
from virtsim.sweep_design import FactorSpec, levels_of, parse_sweep, run_seed

SCENARIO: dict[str, Any] = {
    "name": "tiny", "duration_s": 30,
    "hosts": [{"name": "node", "profile": "m5d-metal", "cached_images": ["alpine"],
               "containers": [{"name": "web", "image": "alpine"}]}],
}


def sweep_data(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "t", "scenario": SCENARIO, "replications": 2, "seed": 5,
        "factors": [{"key": "hosts.node.containers.web.count", "name": "count",
                     "values": [1, 2]},
                    {"key": "hosts.node.containers.web.runtime", "values": ["runc", "crun"]}]}
    data.update(changes)
    return data


def test_factorial_design_crosses_levels_and_replicates(catalog: Catalog) -> None:
    sweep = parse_sweep(sweep_data(), catalog)
    assert [p.values for p in sweep.points] == [
        (("count", 1), ("runtime", "runc")), (("count", 1), ("runtime", "crun")),
        (("count", 2), ("runtime", "runc")), (("count", 2), ("runtime", "crun"))]
    assert len(sweep.runs) == 8
    run = sweep.runs[3]
    assert run.scenario["hosts"][0]["containers"][0] == {"name": "web", "image": "alpine",
                                                        "count": 1, "runtime": "crun"}
    assert run.scenario["seed"] == run.seed == run_seed(5, run.point.id, 1)
    assert len({r.seed for r in sweep.runs}) == 8


def test_point_ids_do_not_depend_on_order_or_other_levels(catalog: Catalog) -> None:
    first = parse_sweep(sweep_data(), catalog)
    data = sweep_data()
    data["factors"] = [{**data["factors"][1], "values": ["crun", "runsc", "runc"]},
                       {**data["factors"][0], "values": [4, 2, 1]}]
    second = parse_sweep(data, catalog)
    ids = {p.id: dict(p.values) for p in first.points}
    assert all(ids[p.id] == dict(p.values) for p in second.points if p.id in ids)
    assert len(set(ids) & {p.id for p in second.points}) == 4
    assert {r.key: r.seed for r in first.runs}.items() <= {r.key: r.seed
                                                           for r in second.runs}.items()


def test_listed_design_runs_only_its_points(catalog: Catalog) -> None:
    sweep = parse_sweep(sweep_data(design="listed", points=[
        {"count": 2, "runtime": "crun"}, {"count": 1, "runtime": "runc"}]), catalog)
    full = parse_sweep(sweep_data(), catalog)
    assert [dict(p.values) for p in sweep.points] == [{"count": 2, "runtime": "crun"},
                                                      {"count": 1, "runtime": "runc"}]
    assert {p.id for p in sweep.points} <= {p.id for p in full.points}


def test_linked_keys_take_the_same_level(catalog: Catalog) -> None:
    scenario = {**SCENARIO, "hosts": [*SCENARIO["hosts"], {
        "name": "other", "profile": "m5d-metal",
        "containers": [{"name": "db", "image": "alpine"}]}]}
    sweep = parse_sweep({"scenario": scenario, "factors": [{
        "key": ["hosts.node.containers.web.count", "hosts.other.containers.db.count"],
        "name": "n", "values": [3]}]}, catalog)
    hosts = sweep.runs[0].scenario["hosts"]
    assert hosts[0]["containers"][0]["count"] == hosts[1]["containers"][0]["count"] == 3


@pytest.mark.parametrize(("spec", "levels"), [
    ({"values": ["a", 1]}, ("a", 1)),
    ({"range": {"start": 1, "stop": 10, "step": 3}}, (1, 4, 7, 10)),
    ({"range": {"start": 0, "stop": 1, "step": 0.25}}, (0.0, 0.25, 0.5, 0.75, 1.0)),
    ({"log": {"start": 1, "stop": 1000, "num": 4}}, (1, 10, 100, 1000)),
    ({"log": {"start": 1, "stop": 4, "num": 8}}, (1, 2, 3, 4)),
    ({"log": {"start": 0.1, "stop": 10.0, "num": 3}}, (0.1, 1.0, 10.0)),
])
def test_levels(spec: dict[str, Any], levels: tuple[Any, ...]) -> None:
    found, _ = levels_of(FactorSpec.model_validate({"key": "x", **spec}))
    assert found == pytest.approx(levels)
    assert [type(v) for v in found] == [type(v) for v in levels]


@pytest.mark.parametrize(("changes", "named"), [
    ({"factors": []}, "factors"),
    ({"replications": 0}, "replications"),
    ({"factors": [{"key": "hosts.node.containers.web.count"}]}, "factors[0]"),
    ({"factors": [{"key": "hosts.node.containers.web.count", "values": [1],
                   "range": {"start": 1, "stop": 2, "step": 1}}]}, "factors[0]"),
    ({"factors": [{"key": "hosts.node.containerz.web.count", "values": [1]}]}, "factors[0].key"),
    ({"factors": [{"key": "hosts.node.containers.web.count", "values": [0]}]}, "count"),
    ({"factors": [{"key": "hosts.node.containers.web.runtime", "values": ["runx"]}]},
     "runtime"),
    ({"design": "listed"}, "points"),
    ({"points": [{"count": 1, "runtime": "runc"}]}, "points"),
    ({"design": "listed", "points": [{"count": 3, "runtime": "runc"}]}, "points[0].count"),
    ({"design": "listed", "points": [{"count": 1}]}, "points[0].runtime"),
    ({"design": "listed", "points": [{"count": 1, "runtime": "runc", "x": 1}]}, "points[0].x"),
    ({"scenario": "missing.toml"}, "scenario"),
    ({"figure": {"x": "nope"}}, "figure.x"),
    ({"unknown": 1}, "unknown"),
])
def test_bad_sweeps_fail_with_one_line_naming_the_key(catalog: Catalog, changes: dict[str, Any],
                                                      named: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_sweep(sweep_data(**changes), catalog, "s.toml", folder=Path("/nonexistent"))
    message = str(caught.value)
    assert named in message and "\n" not in message, message


@given(counts=st.lists(st.integers(1, 50), min_size=1, max_size=4, unique=True),
       runtimes=st.permutations(["runc", "crun", "runsc"]))
def test_each_point_has_its_own_id_and_seeds_whatever_the_order(
        catalog: Catalog, counts: list[int], runtimes: list[str]) -> None:
    data = sweep_data()
    data["factors"] = [{**data["factors"][0], "values": counts},
                       {**data["factors"][1], "values": runtimes}]
    sweep = parse_sweep(data, catalog)
    reordered = parse_sweep({**data, "factors": data["factors"][::-1]}, catalog)
    assert len({p.id for p in sweep.points}) == len(counts) * len(runtimes)
    mine = {p.id: dict(p.values) for p in sweep.points}
    assert mine == {p.id: dict(p.values) for p in reordered.points}
    assert {r.key: r.seed for r in sweep.runs} == {r.key: r.seed for r in reordered.runs}
