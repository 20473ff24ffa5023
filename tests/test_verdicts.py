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
