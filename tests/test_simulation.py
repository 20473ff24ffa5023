"""Random streams: keyed by component, independent of each other and of process salt."""

from __future__ import annotations

from virtsim.simulation import component_key, component_rng


def test_same_seed_and_name_same_stream() -> None:
    assert component_rng(1, "lifecycle").random() == component_rng(1, "lifecycle").random()


def test_streams_differ_by_name_and_seed() -> None:
    a = component_rng(1, "a").random()
    assert a != component_rng(1, "b").random()
    assert a != component_rng(2, "a").random()


def test_component_key_is_stable_across_processes() -> None:
    # blake2b of the name, not Python's salted hash(): a fixed value forever
    assert component_key("lifecycle") == 0x81dbbb943c99fdf7
