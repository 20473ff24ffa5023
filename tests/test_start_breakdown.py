"""Tests for virtsim.start_breakdown: start time summed by mechanism, from result tables."""

from __future__ import annotations

import pytest

from virtsim.start_breakdown import dominant, start_breakdown


def test_waits_and_work_are_apart_and_teardown_is_left_out() -> None:
    instances = [{"instance": "a", "ready_s": 2.0, "restart": False},
                 {"instance": "b", "ready_s": 3.0, "restart": False},
                 {"instance": "c", "ready_s": None, "restart": False}]
    stages = [
        {"instance": "a", "owner": "engine", "stage": "create", "start_s": 0.0, "end_s": 1.0,
         "queued_s": 0.0},
        {"instance": "b", "owner": "engine", "stage": "create", "start_s": 1.0, "end_s": 2.0,
         "queued_s": 1.0},
        {"instance": "a", "owner": "kernel-objects", "stage": "veth", "start_s": 1.0,
         "end_s": 1.5, "queued_s": 0.0},
        {"instance": "b", "owner": "kernel-objects", "stage": "veth", "start_s": 2.0,
         "end_s": 2.5, "queued_s": 0.5},
        {"instance": "a", "owner": "engine", "stage": "exit", "start_s": 2.0, "end_s": 9.0,
         "queued_s": 0.0},
        {"instance": "c", "owner": "engine", "stage": "create", "start_s": 0.0, "end_s": 9.0,
         "queued_s": 0.0},
    ]
    got = start_breakdown(stages, instances)
    assert got == {"engine API path": pytest.approx(1.0), "wait: engine lock": 0.5,
                   "kernel object: veth": 0.5, "wait: rtnl": 0.25}
    assert dominant(got) == "engine API path"
    assert dominant({}) == ""


def test_mount_table_reads_count_as_the_engines_per_container_state() -> None:
    instances = [{"instance": "a", "ready_s": 2.0, "restart": False}]
    stages = [{"instance": "a", "owner": "kernel-objects", "stage": "mountinfo-scans",
               "start_s": 0.5, "end_s": 0.75, "queued_s": 0.0}]
    assert start_breakdown(stages, instances) == {"engine state: mount-table reads": 0.25}
