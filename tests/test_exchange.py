"""Lockstep: windows at the instants decisions may come, decisions in scenario order."""

from __future__ import annotations

from typing import Any, ClassVar

from virtsim.errors import InputError
from virtsim.exchange import InProcessSessions, Lockstep, Step, lockstep, reach_of
from virtsim.scenario import ContainerSpec
from virtsim.scope import Placement


def _placement(at: float, rank: tuple[int, int], to: str) -> Placement:
    spec = ContainerSpec(name="web.r1", image="alpine")
    return Placement(at, rank, f"a-{rank[0]}/web", f"a-{rank[0]}/web", to, 1, spec, "web",
                     1.0, 10.0)


class Fake:
    """A partition that foresees some instants and asks for decisions at some of them."""

    log: ClassVar[list[tuple[str, Any]]] = []

    def __init__(self, job: dict[str, Any]) -> None:
        self.name = job["name"]
        self.job = job

    def foreseen(self) -> list[float]:
        return list(self.job["foreseen"])

    def advance(self, until: float) -> Step | InputError:
        Fake.log.append((f"{self.name} advance", until))
        return Step(requests=list(self.job.get("requests", {}).get(until, [])),
                    transitions=self.job.get("transitions", {}) if until == 10.0 else {},
                    fallback=self.job.get("fallback"))

    def tell(self, transitions: dict[str, Any]) -> None:
        Fake.log.append((f"{self.name} told", sorted(transitions)))

    def decide(self, rank: tuple[int, int]) -> Placement | None:
        Fake.log.append((f"{self.name} decides", rank))
        return _placement(10.0, rank, self.job["target"])

    def adopt(self, placement: Placement) -> None:
        Fake.log.append((f"{self.name} adopts", placement.rank))

    def finish(self) -> Any:
        return self.name


def test_partitions_stop_at_each_foreseen_instant_and_decide_in_scenario_order() -> None:
    Fake.log = []
    jobs = [{"name": "p0", "foreseen": [10.0, 500.0], "requests": {10.0: [(2, 0)]},
             "target": "b-1", "transitions": {"a-2": [(5.0, False)]}},
            {"name": "p1", "foreseen": [10.0], "requests": {10.0: [(0, 1)]}, "target": "a-2"}]
    went = Lockstep()
    reach = [reach_of(["a-2", "b-0"], [frozenset({"a-2", "b-1"})]),
             reach_of(["b-1"], [frozenset({"a-2", "b-1"})])]
    out = lockstep(InProcessSessions(Fake, jobs, pickled=True), 2, 100.0, reach, went)
    assert out == ["p0", "p1"]
    assert Fake.log == [
        ("p0 advance", 10.0), ("p1 advance", 10.0),  # 500 s lies beyond the run
        ("p1 told", ["a-2"]),  # p0's machine went down: p1's scope hears it
        ("p1 decides", (0, 1)), ("p0 adopts", (0, 1)),  # the lower rank first
        ("p0 decides", (2, 0)), ("p1 adopts", (2, 0))]
    assert (went.windows, went.decided, went.placements) == (1, 1, 2)


def test_a_partition_that_cannot_go_on_cut_stops_the_lockstep() -> None:
    jobs = [{"name": "p0", "foreseen": [10.0], "fallback": "moved", "target": "b"},
            {"name": "p1", "foreseen": [], "target": "a"}]
    went = Lockstep()
    assert lockstep(InProcessSessions(Fake, jobs), 2, 100.0, [frozenset()] * 2, went) == []
    assert went.fallback == "moved" and "scopes then run whole" in went.describe()
