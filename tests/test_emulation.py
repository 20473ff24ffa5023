"""Tests for virtsim.emulation: translated stages cost more CPU and last longer."""

from __future__ import annotations

import pytest

from virtsim.catalog import Catalog
from virtsim.distributions import LogNormal
from virtsim.emulation import cpu_factor, emulated_stage
from virtsim.profiles import EmulationProfile, Stage


def stage(cpu: float = 0.5, read: float = 10.0) -> Stage:
    return Stage(name="kernel", wall_s=LogNormal(dist="lognormal", mean=1.0, cv=0.2),
                 cpu_s=cpu, read_mib=read, source="test")


def test_full_system_emulation_multiplies_cpu_and_stretches_wall(catalog: Catalog) -> None:
    tcg = catalog.require(EmulationProfile, "qemu-tcg")
    slow = emulated_stage(stage(), tcg)
    assert slow.cpu_s == pytest.approx(0.5 * tcg.integer)
    assert slow.wall_s.mean == pytest.approx(1.0 + 0.5 * (tcg.integer - 1))
    assert slow.read_mib == 10.0


def test_user_mode_pays_retranslation_per_exec(catalog: Catalog) -> None:
    user = catalog.require(EmulationProfile, "qemu-user")
    slow = emulated_stage(stage(cpu=0.0, read=20.0), user)
    assert slow.cpu_s == pytest.approx(20.0 * user.exec_s_per_mib)


def test_float_costs_more_than_integer(catalog: Catalog) -> None:
    user = catalog.require(EmulationProfile, "qemu-user")
    assert cpu_factor(user, 1.0) > cpu_factor(user, 0.0) == user.integer
    with pytest.raises(ValueError):
        cpu_factor(user, 2.0)


def test_a_stage_without_cpu_is_unchanged(catalog: Catalog) -> None:
    s = stage(cpu=0.0, read=0.0)
    assert emulated_stage(s, catalog.require(EmulationProfile, "qemu-tcg")) is s
