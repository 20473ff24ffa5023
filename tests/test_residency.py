"""Tests for virtsim.residency: touched pages, not configured RAM; what comes back and when."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from virtsim.catalog import Catalog
from virtsim.profiles import ResidencyProfile
from virtsim.residency import guest_memory, ksm_merged_fraction, ksm_saving_mib

SIZES = st.floats(min_value=0.0, max_value=1e6, allow_nan=False)


def test_idle_guest_holds_what_it_touched_not_its_ram() -> None:
    g = guest_memory(4096, 200, 130)
    assert g.resident_mib == 330 and g.committed_mib == 4096 and g.reclaimable_mib == 130


def test_zeroing_guest_touches_everything_and_reporting_returns_it(catalog: Catalog) -> None:
    residency = catalog.require(ResidencyProfile, "linux")
    zeroed = guest_memory(2048, 500, 100, zeroes_free_memory=True, age_s=60, residency=residency)
    assert zeroed.resident_mib == 2048
    early = guest_memory(2048, 500, 100, zeroes_free_memory=True, free_page_reporting=True,
                         age_s=1.0, residency=residency)
    late = guest_memory(2048, 500, 100, zeroes_free_memory=True, free_page_reporting=True,
                        age_s=2.0, residency=residency)
    assert early.resident_mib == 2048 and late.resident_mib == 600


def test_balloon_gives_back_page_cache_at_its_rate(catalog: Catalog) -> None:
    residency = catalog.require(ResidencyProfile, "linux")
    delay = residency.free_page_report_delay_s
    half = guest_memory(4096, 200, 1000, balloon=True, age_s=delay + 1.0, residency=residency)
    assert half.resident_mib == pytest.approx(1200 - residency.balloon_mibs)
    done = guest_memory(4096, 200, 1000, balloon=True, residency=residency)
    assert done.resident_mib == 200 and done.reclaimable_mib == 0


def test_ksm_scan_rate_is_the_kernel_default(catalog: Catalog) -> None:
    residency = catalog.require(ResidencyProfile, "linux")
    assert residency.ksm_scan_mibs == pytest.approx(100 * 4 / 1024 / 0.02)
    pass_s = 1000 / residency.ksm_scan_mibs
    assert ksm_merged_fraction(1000, pass_s * 0.9, residency) == 0.0  # first pass: nothing
    assert ksm_merged_fraction(1000, pass_s * 1.5, residency) == pytest.approx(0.5)
    assert ksm_merged_fraction(1000, pass_s * 3, residency) == 1.0
    assert ksm_saving_mib(300, 10, 0.5) == pytest.approx(1350)
    assert ksm_saving_mib(300, 1, 1.0) == 0.0


@given(committed=st.floats(16, 1e6), working=SIZES, cache=SIZES, zero=st.booleans(),
       fpr=st.booleans(), balloon=st.booleans(), age=st.floats(0, 1e5))
def test_resident_never_exceeds_committed(committed: float, working: float, cache: float,
                                          zero: bool, fpr: bool, balloon: bool,
                                          age: float) -> None:
    from virtsim.catalog import load_catalog

    residency = load_catalog().require(ResidencyProfile, "linux")
    g = guest_memory(committed, working, cache, zeroes_free_memory=zero,
                     free_page_reporting=fpr, balloon=balloon, age_s=age, residency=residency)
    assert 0 <= g.resident_mib <= committed + 1e-6
    assert g.touched_mib <= committed + 1e-6
    assert g.resident_mib >= g.working_set_mib - 1e-6
    later = guest_memory(committed, working, cache, zeroes_free_memory=zero,
                         free_page_reporting=fpr, balloon=balloon, age_s=age + 100,
                         residency=residency)
    assert later.resident_mib <= g.resident_mib + 1e-6  # returning memory only ever grows


def test_bad_sizes_are_refused() -> None:
    with pytest.raises(ValueError):
        guest_memory(-1, 0, 0)
    with pytest.raises(ValueError):
        ksm_merged_fraction(-1, 0)
    assert ksm_merged_fraction(10, math.inf) == 1.0
