"""Resident memory: which of a guest's pages the host really holds, and when it gets them back.

A VM's configured RAM is a *commitment*, not a cost: the VMM maps guest RAM
as demand-zero memory, so a page costs the host only once the guest writes
it. What a guest has touched is

- its *working set*: guest kernel, idle user space and what runs inside;
- its *page cache*: the files it has read (at boot: the bootloader, kernel,
  initrd and user space), reclaimable;
- *free but touched* pages: a guest that zeroes its free memory at boot
  (Windows) touches all of it.

Three mechanisms give memory back (each from :class:`ResidencyProfile`):

- free page reporting (virtio-balloon, Linux >= 5.7) returns pages the guest
  has freed ``free_page_report_delay_s`` after they are freed;
- a balloon inflates into the guest's free memory and page cache, leaving
  the working set, at ``balloon_mibs``;
- KSM merges identical pages of guests booted from the same kernel and image
  (and zeroed pages), scanning ``ksm_scan_mibs`` of guest memory a second; a
  page is merged on its ``ksm_passes_to_merge``-th scan, so merging starts
  after one full pass over every guest's memory and is complete after two.

Resident memory never exceeds the commitment; see :func:`guest_memory`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from virtsim.profiles import ResidencyProfile


@dataclass(frozen=True)
class GuestMemory:
    """One guest's memory, in MiB, at a given age.

    Attributes:
        committed_mib: Configured RAM: what the guest may touch.
        working_set_mib: Kernel, user space and instances inside (not reclaimable).
        page_cache_mib: Files the guest has read (reclaimable by a balloon).
        free_touched_mib: Pages written and then freed (zeroed at boot).
        resident_mib: What the host holds for the guest now.
        reclaimable_mib: What of that a balloon could still give back.
    """

    committed_mib: float
    working_set_mib: float
    page_cache_mib: float
    free_touched_mib: float
    resident_mib: float
    reclaimable_mib: float

    @property
    def touched_mib(self) -> float:
        """Every page the guest has written since boot (at most its commitment)."""
        return min(self.committed_mib,
                   self.working_set_mib + self.page_cache_mib + self.free_touched_mib)


def guest_memory(committed_mib: float, working_set_mib: float, page_cache_mib: float, *,
                 zeroes_free_memory: bool = False, free_page_reporting: bool = False,
                 balloon: bool = False, age_s: float = math.inf,
                 residency: ResidencyProfile | None = None) -> GuestMemory:
    """What one guest's RAM costs the host ``age_s`` seconds after it booted.

    The working set comes first, then the page cache fills what is left of
    the commitment; a guest whose working set exceeds its RAM is clamped to
    it (it would swap or be OOM-killed). Without ``residency`` the mechanisms
    that return memory are taken as complete (steady state).

    Raises:
        ValueError: A negative size or age.
    """
    if min(committed_mib, working_set_mib, page_cache_mib, age_s) < 0:
        raise ValueError("guest memory sizes and age must be non-negative")
    working = min(working_set_mib, committed_mib)
    cache = min(page_cache_mib, committed_mib - working)
    free_touched = committed_mib - working - cache if zeroes_free_memory else 0.0
    returned = 0.0
    if free_page_reporting and age_s >= _delay(residency):
        returned += free_touched
    if balloon:
        rate = residency.balloon_mibs if residency is not None else math.inf
        give_back = free_touched - returned + cache
        returned += min(give_back, rate * max(0.0, age_s - _delay(residency)))
    resident = working + cache + free_touched - returned
    reclaimable = resident - working
    return GuestMemory(committed_mib, working, cache, free_touched, resident, reclaimable)


def _delay(residency: ResidencyProfile | None) -> float:
    return residency.free_page_report_delay_s if residency is not None else 0.0


def ksm_merged_fraction(scanned_mib: float, age_s: float,
                        residency: ResidencyProfile | None = None) -> float:
    """Share (0 to 1) of mergeable pages KSM has merged after ``age_s`` seconds.

    KSM walks ``scanned_mib`` of guest memory (every guest's) at its scan rate;
    a page is merged on its second look, so nothing is merged during the first
    pass and pages merge evenly during the last.
    """
    if scanned_mib < 0 or age_s < 0:
        raise ValueError("scanned memory and age must be non-negative")
    if residency is None or scanned_mib == 0:
        return 1.0
    pass_s = scanned_mib / residency.ksm_scan_mibs
    passes = age_s / pass_s
    return min(1.0, max(0.0, passes - (residency.ksm_passes_to_merge - 1)))


def ksm_saving_mib(mergeable_mib: float, guests: int, fraction: float) -> float:
    """MiB saved by merging ``mergeable_mib`` identical pages of ``guests`` guests.

    One copy stays; the other guests' copies go, in the merged ``fraction``.
    """
    if guests < 1:
        return 0.0
    return mergeable_mib * (guests - 1) * fraction
