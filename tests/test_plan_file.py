"""Tests for virtsim.plan_file: a bad plan file exits 2 with one line naming file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_cli import assert_input_error, virtsim
from virtsim.catalog import Catalog
from virtsim.plan_file import group_count, parse_plan

GOOD = '''name = "p"
hosts = ["m5d-metal"]
technologies = ["container"]
[[workloads]]
name = "web"
workload = "nginx"
count = 5
'''


@pytest.mark.parametrize(("text", "parts"), [
    (GOOD.replace('count = 5', 'count = 5\ncolour = "red"'),
     ("workloads[0].colour", "unknown", ":8:")),
    (GOOD.replace('count = 5', 'count = 5\ntarget_rps = 100'),
     ("either count or target_rps",)),
    (GOOD.replace('count = 5', ''), ("either count or target_rps",)),
    (GOOD.replace('"nginx"', '"nginks"'), ("workloads[0].workload", "'nginks'")),
    (GOOD.replace('"m5d-metal"', '"big-iron"'), ("hosts[0]", "'big-iron'")),
    (GOOD.replace('"container"', '"lxc"'), ("technologies[0]", "'lxc'")),
    (GOOD + '[prices]\nlaptop = 1.0\n', ("prices.laptop", "a host of this plan")),
    (GOOD.replace('"nginx"', '"sysbench-cpu"').replace("count = 5", "target_rps = 10"),
     ("target_rps", "a service workload")),
    (GOOD + 'requests = { cpus = 4 }\nlimits = { cpus = 2 }\n', ("requests.cpus (4)",)),
    (GOOD + '[constraints]\nheadroom = 1.5\n', ("constraints.headroom",)),
    (GOOD.replace('hosts = ["m5d-metal"]', 'hosts = "m5d-metal"'), ("hosts",)),
    ("name = [", ("valid TOML",)),
])
def test_bad_plans_exit_2_with_one_line(tmp_path: Path, text: str,
                                        parts: tuple[str, ...]) -> None:
    path = tmp_path / "plan.toml"
    path.write_text(text, encoding="utf-8")
    proc = virtsim("plan", str(path))
    assert_input_error(proc, "plan.toml", *parts)
    assert len(proc.stderr.strip().splitlines()) == 1


def test_a_missing_plan_file_exits_2(tmp_path: Path) -> None:
    assert_input_error(virtsim("plan", str(tmp_path / "none.toml")), "no such file")


def test_a_target_load_sets_the_count(catalog: Catalog) -> None:
    plan = parse_plan({"hosts": ["m5d-metal"], "workloads": [
        {"name": "web", "workload": "nginx", "target_rps": 60_001, "rate_per_s": 2000}]},
        catalog)
    assert group_count(plan.workloads[0], catalog) == 31
    plan = parse_plan({"hosts": ["m5d-metal"], "workloads": [
        {"name": "web", "workload": "nginx", "target_rps": 3000}]}, catalog)
    assert group_count(plan.workloads[0], catalog) == 3  # the profile's 1,000/s each


def test_an_option_whose_stack_cannot_be_built_says_why_and_the_others_answer(
        tmp_path: Path) -> None:
    path = tmp_path / "plan.toml"
    path.write_text(GOOD.replace('["container"]', '["vm", "container"]')
                    + 'vm = { vcpus = 600 }\n', encoding="utf-8")
    proc = virtsim("plan", str(path))
    assert proc.returncode == 0, proc.stderr
    assert "vm on m5d-metal: breaks: cannot be built" in proc.stdout
    assert "plan.toml, workloads[0].vm.vcpus): expected at most 288 vCPUs" in proc.stdout
    assert "answer: container on m5d-metal" in proc.stdout
