"""Verdicts follow the results: a rule gives another verdict when the numbers change."""

from __future__ import annotations

from typing import Any

import pytest

from tests.paths import ROOT
from virtsim.experiment import load_experiment

C4 = load_experiment(ROOT / "experiments" / "c04_performance.py")


def overhead(kvm: float, nat: float) -> dict[str, list[dict[str, Any]]]:
    rows = [{"stack": stack, "workload": work, "slowdown": value}
            for work in ("linpack", "stream", "fio-rand-read", "netperf-rr")
            for stack, value in (("kvm-tuned", kvm), ("docker-nat", nat))]
    return {"overhead": rows, "neighbours": []}


@pytest.mark.parametrize(("kvm", "nat", "verdict"), [
    (1.5, 1.0, "supported"),
    (1.01, 1.0, "contradicted"),
])
def test_c4_rule_can_support_or_contradict(kvm: float, nat: float, verdict: str) -> None:
    assert C4.findings(overhead(kvm, nat)).verdict == verdict


def test_c4_rule_is_nuanced_when_vms_pay_only_somewhere() -> None:
    tables = overhead(1.01, 1.0)
    for row in tables["overhead"]:
        if row["stack"] == "kvm-tuned" and row["workload"] == "fio-rand-read":
            row["slowdown"] = 1.8
    finding = C4.findings(tables)
    assert finding.verdict == "supported with nuance"
    assert "random disk" in finding.reason


C5 = load_experiment(ROOT / "experiments" / "c05_blast_radius.py")


@pytest.fixture(scope="module")
def c5_tables() -> dict[str, list[dict[str, Any]]]:
    return C5.run("tiny", 1)


def test_c5_rule_contradicts_when_a_panic_spares_a_container(
        c5_tables: dict[str, list[dict[str, Any]]]) -> None:
    tables = {name: [dict(r) for r in rows] for name, rows in c5_tables.items()}
    for row in tables["blast"]:
        if row["technology"] == "container" and row["kind"] == "host-kernel-panic":
            row["share"] = 0.5
    assert C5.findings(tables).verdict == "contradicted"


def test_c5_rule_supports_when_vms_stay_isolated_and_nothing_is_contained(
        c5_tables: dict[str, list[dict[str, Any]]]) -> None:
    tables = {name: [dict(r) for r in rows] for name, rows in c5_tables.items()}
    for row in tables["blast"]:
        if row["technology"] == "vm" and row["kind"] not in C5.HOST_LEVEL:
            row["instances"] = 1
    for row in tables["escapes"]:
        row["crossed"] = True
    assert C5.findings(tables).verdict == "supported"
    assert C5.findings(c5_tables).verdict == "supported with nuance"
