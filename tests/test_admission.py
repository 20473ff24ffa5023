"""Tests for virtsim.admission: never commit beyond the host unless overcommit is on."""

from __future__ import annotations

import pytest
import simpy
from hypothesis import given
from hypothesis import strategies as st

from virtsim.admission import MemoryAdmission


def test_fail_policy_refuses_what_does_not_fit() -> None:
    ledger = MemoryAdmission(simpy.Environment(), 4096)
    assert ledger.request("a", 2048) is None
    assert ledger.request("b", 2048) is None
    refusal = ledger.request("c", 1)
    assert isinstance(refusal, str) and "cannot allocate memory" in refusal
    assert ledger.committed_mib == 4096


def test_wait_policy_admits_in_order_on_release() -> None:
    env = simpy.Environment()
    ledger = MemoryAdmission(env, 4096, policy="wait")
    assert ledger.request("a", 3000) is None
    b = ledger.request("b", 2000)
    c = ledger.request("c", 100)  # would fit, but waits behind b: first come, first served
    assert isinstance(b, simpy.Event) and isinstance(c, simpy.Event)
    ledger.release("a")
    assert b.triggered and c.triggered and ledger.committed_mib == 2100


def test_a_request_bigger_than_the_host_always_fails() -> None:
    ledger = MemoryAdmission(simpy.Environment(), 1024, policy="wait")
    assert isinstance(ledger.request("a", 4096), str)


def test_overcommit_raises_the_limit() -> None:
    ledger = MemoryAdmission(simpy.Environment(), 1000, overcommit=1.5)
    assert ledger.request("a", 1400) is None and ledger.limit_mib == 1500


@pytest.mark.parametrize("kw", [{"capacity_mib": 0}, {"overcommit": 0.5}, {"policy": "maybe"}])
def test_bad_arguments_are_refused(kw: dict[str, object]) -> None:
    args: dict[str, object] = {"env": simpy.Environment(), "capacity_mib": 100, **kw}
    with pytest.raises(ValueError):
        MemoryAdmission(**args)  # type: ignore[arg-type]


@given(ops=st.lists(st.tuples(st.booleans(), st.integers(0, 9), st.floats(0, 3000)),
                    max_size=60),
       overcommit=st.sampled_from([1.0, 1.5]), policy=st.sampled_from(["wait", "fail"]))
def test_never_commits_beyond_the_limit(ops: list[tuple[bool, int, float]], overcommit: float,
                                        policy: str) -> None:
    ledger = MemoryAdmission(simpy.Environment(), 4096, overcommit=overcommit,
                             policy=policy)  # type: ignore[arg-type]
    for ask, who, mib in ops:
        if ask:
            ledger.request(str(who), mib)
        else:
            ledger.release(str(who))
        assert ledger.committed_mib <= 4096 * overcommit + 1e-6
        assert ledger.committed_mib == pytest.approx(sum(ledger.held.values()))
    assert ledger.peak_mib <= 4096 * overcommit + 1e-6
