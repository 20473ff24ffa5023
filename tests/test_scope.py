"""What a partition knows of another's machines, and the end of an instant."""

from __future__ import annotations

import simpy

from virtsim.scope import LATE, Knowledge, Settle, at_instant, machine_of


def test_a_timeline_says_whether_a_machine_is_up_after_every_event_of_an_instant() -> None:
    known = Knowledge({"b-0": ((5.0, False), (40.0, True))})
    assert known.is_up("b-0", 4.9, boots=False)
    assert not known.is_up("b-0", 5.0, boots=False)  # went down at that instant
    assert not known.is_up("b-0", 39.0, boots=False)
    assert known.is_up("b-0", 40.0, boots=False)  # back at that instant
    assert known.is_up("c-0", 1.0, boots=False)  # nothing heard: up ...
    assert not known.is_up("c-0", 1.0, boots=True)  # ... unless it boots at the start


def test_the_end_of_an_instant_comes_after_its_other_events() -> None:
    env = simpy.Environment()
    seen: list[str] = []
    Settle(env, 3.0).callbacks.append(lambda _e: seen.append("late"))
    env.timeout(3.0).callbacks.append(lambda _e: seen.append("normal"))

    def chain() -> object:
        yield env.timeout(3.0)
        seen.append("process")
        yield env.timeout(0)  # a zero-delay event of the same instant, made later
        seen.append("zero")

    env.process(chain())
    env.run()
    assert seen == ["normal", "process", "zero", "late"]
    assert LATE > 1


def test_a_window_stops_at_exactly_its_instant() -> None:
    env = simpy.Environment()
    env.run(until=at_instant(env, 0.1))
    until = 0.1 + 0.2  # not 0.1 + (0.3 - 0.1) in floating point
    env.run(until=at_instant(env, until))
    assert env.now == until
    assert machine_of("b-0/web-1.r1/app") == "b-0"
