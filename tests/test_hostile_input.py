"""Hostile input: every bad input is exit 2 and one clean line, never a traceback or a hang.

Each reproducer an outside fuzzing run found (issue 20) is a fixed example
below; Hypothesis then mutates small valid scenarios in-process through the
API (load, budget, run) and a sample through the command line.
"""

from __future__ import annotations

import json
import math
import os
import threading
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import virtsim
from virtsim.budget import check_budget, estimate
from virtsim.catalog import Catalog, load_catalog, shipped_models_dir
from virtsim.cli import main
from virtsim.errors import MESSAGE_CHARS, InputError
from virtsim.result import Result

from .paths import ROOT

HOST = '[[hosts]]\nname = "node"\nprofile = "m5d-metal"\n'
CONTAINER = '[[hosts.containers]]\nname = "c"\nimage = "alpine"\n'
VM = ('[[hosts.vms]]\nname = "v"\nhypervisor = "kvm"\ndisk_image = "ubuntu-24.04-cloud"\n')


def assert_one_clean_line(text: str) -> str:
    """The stderr of a failed command: one line, nothing a terminal would interpret."""
    assert text.endswith("\n") and text.count("\n") == 1, repr(text[:400])
    line = text[:-1]
    assert not any(ord(c) < 0x20 or ord(c) == 0x7F for c in line), repr(line[:400])
    assert len(line) <= MESSAGE_CHARS + 40
    assert "Traceback" not in line
    return line


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    status = main(args)
    captured = capsys.readouterr()
    return status, captured.err


def user_models(tmp_path: Path, kind: str, base: str, name: str, **changes: Any) -> Path:
    """A --models folder with one profile: a shipped one with ``changes`` applied."""
    data = tomllib.loads((shipped_models_dir() / kind / f"{base}.toml").read_text())
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    folder = tmp_path / "mine"
    (folder / kind).mkdir(parents=True, exist_ok=True)
    (folder / kind / f"{name}.toml").write_text(tomli_w.dumps(data))
    return folder


# -- the reproducers, each a fixed example --------------------------------------------

SCENARIO_CASES: list[tuple[str, str, list[str]]] = [
    ("nested 1000 deep (arrays)", "a = " + "[" * 1000 + "]" * 1000 + "\n", ["nested"]),
    ("nested 1000 deep (tables)", "a = " + "{b = " * 1000 + "1" + "}" * 1000 + "\n",
     ["nested"]),
    ("cpus 5e-324", HOST + CONTAINER + "cpus = 5e-324\n", ["cpus", "0.01"]),
    ("VM memory inf", HOST + VM + "memory_mib = inf\n", ["memory_mib", "finite"]),
    ("VM memory nan", HOST + VM + "memory_mib = nan\n", ["memory_mib", "finite"]),
    ("duration 1e-300 and a tiny NIC", "duration_s = 1e-300\n" + HOST
     + "overrides = { nic_gbps = 1e-300 }\n", ["duration_s", "0.001"]),
    ("tiny NIC", HOST + "overrides = { nic_gbps = 1e-300 }\n", [":4:", "nic_gbps",
                                                                  "magnitude"]),
    ("host of 0.01 GiB under a desktop platform",
     '[[hosts]]\nname = "mac"\nprofile = "macbook-arm64"\nplatform = "docker-desktop-mac"\n'
     "overrides = { memory_gib = 0.01 }\n", ["memory_gib", "0.0625"]),
    ("seed true", "seed = true\n" + HOST, [":1:", "seed", "true"]),
    ("count '3'", HOST + 'count = "3"\n', [":4:", "count", "'3'"]),
    ("cpus '2'", HOST + CONTAINER + 'cpus = "2"\n', [":7:", "cpus", "'2'"]),
    ("newline in a value", HOST + CONTAINER.replace('"c"', '"a\\nb"'), ["name", "a\\nb"]),
    ("carriage return in a value", HOST + CONTAINER.replace('"alpine"', '"x\\rEVIL"'),
     ["image", "x\\rEVIL"]),
    ("escape sequence in a value", HOST + CONTAINER.replace('"alpine"', '"\\u001b[2J"'),
     ["image", "\\x1b[2J"]),
    ("a 1 MB string", HOST + CONTAINER.replace('"alpine"', '"' + "x" * 1_000_000 + '"'),
     ["image", "more characters"]),
    ("missing key: the line of its table", HOST.replace('profile = "m5d-metal"\n', ""),
     [":1:", "hosts[0].profile", "required"]),
    ("bad override in an inline table", HOST + "overrides = { memory_gib = -1 }\n",
     [":4:", "overrides.memory_gib"]),
    ("unknown override", HOST + "overrides = { memory_gb = 1 }\n",
     [":4:", "overrides.memory_gb"]),
    ("unknown fault kind", HOST + '[[faults]]\nkind = "meteor"\ntarget = "node"\nat_s = 1\n',
     [":5:", "faults[0].kind", "'meteor'"]),
    ("unknown fault target", HOST + '[[faults]]\nkind = "machine-failure"\ntarget = '
     '"nod"\nat_s = 1\n', [":6:", "faults[0].target", "'nod'"]),
    ("fault target without the layer", HOST + '[[faults]]\nkind = "vmm-crash"\ntarget = '
     '"node"\nat_s = 1\n', [":6:", "faults[0].target", "vmm"]),
    ("a VM bigger than its host", HOST + VM + "memory_mib = 4096000\n",
     [":8:", "memory_mib", "393,216 MiB", "4,096,000"]),
    ("10^6 hosts", HOST.replace('"m5d-metal"\n', '"m5d-metal"\ncount = 1000000\n') + CONTAINER
     + "count = 100\n", ["--force", "1,000,000 machines"]),
    ("1,000 VMs of 1,000 containers", HOST + VM + "count = 1000\n"
     + CONTAINER.replace("hosts.containers", "hosts.vms.containers") + "count = 1000\n",
     ["--force", "1,001,000 instances"]),
    ("rate_scale 1e12", HOST + CONTAINER + "[random_faults]\nrate_scale = 1e12\n",
     ["--force", "random faults"]),
]


@pytest.mark.parametrize(("case", "text", "parts"), SCENARIO_CASES,
                         ids=[c[0] for c in SCENARIO_CASES])
def test_reproducer_exits_2_in_one_line(case: str, text: str, parts: list[str],
                                        tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "scenario.toml"
    path.write_text(text, encoding="utf-8")
    status, err = run_cli(["run", str(path)], capsys)
    line = assert_one_clean_line(err)
    assert status == 2, line
    assert "scenario.toml" in line
    for part in parts:
        assert part in line, f"{case}: {part!r} not in {line!r}"


PROFILE_CASES: list[tuple[str, str, str, str, dict[str, Any], list[str]]] = [
    ("runtime memory 1e308", "runtimes", "runc", "runc", {"memory_mib": 1e308},
     ["runc.toml", "memory_mib", "magnitude"]),
    ("VMM memory 1e308", "vmms", "qemu", "qemu", {"memory_mib": 1e308},
     ["qemu.toml", "memory_mib"]),
    ("platform memory_fraction near 0", "platforms", "docker-desktop-mac",
     "docker-desktop-mac", {"memory_fraction": 1e-9}, ["memory_fraction", "0.01"]),
    ("native round_trip_us 0", "layer_costs", "native", "native", {"round_trip_us": 0.0},
     ["native.toml", "round_trip_us"]),
    ("native random_access_mups 0", "layer_costs", "native", "native",
     {"random_access_mups": 0}, ["native.toml", "random_access_mups"]),
    ("threads 1e18 (a float)", "workloads", "web-service", "web-service", {"threads": 1e18},
     ["threads", "integer"]),
    ("threads 10**18", "workloads", "web-service", "web-service", {"threads": 10**18},
     ["threads", "65536"]),
    ("no [sources] table", "hosts", "laptop", "my-laptop", {"sources": None},
     ["my-laptop.toml", "source"]),
    ("a missing source", "runtimes", "runc", "my-runc", {"sources": {}},
     ["my-runc.toml", ":6:", "memory_mib", "source"]),
    ("a blank source", "runtimes", "runc", "my-runc", {"sources": {"memory_mib": " "}},
     ["memory_mib", "source"]),
]


@pytest.mark.parametrize(("case", "kind", "base", "name", "changes", "parts"), PROFILE_CASES,
                         ids=[c[0] for c in PROFILE_CASES])
def test_bad_user_profile_exits_2_in_one_line(
        case: str, kind: str, base: str, name: str, changes: dict[str, Any], parts: list[str],
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = user_models(tmp_path, kind, base, name, **changes)
    scenario = ROOT / "experiments" / "scenarios" / "alpine-warm.toml"
    status, err = run_cli(["--models", str(folder), "run", str(scenario)], capsys)
    line = assert_one_clean_line(err)
    assert status == 2, line
    for part in parts:
        assert part in line, f"{case}: {part!r} not in {line!r}"


def test_symlink_loop(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a.toml").symlink_to(tmp_path / "b.toml")
    (tmp_path / "b.toml").symlink_to(tmp_path / "a.toml")
    status, err = run_cli(["run", str(tmp_path / "a.toml")], capsys)
    line = assert_one_clean_line(err)
    assert status == 2 and "a.toml" in line and "symbolic links" in line


def test_file_name_with_newline_and_escape(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad\nname\x1b[31m.toml"
    path.write_text("a = = 1\n")
    status, err = run_cli(["run", str(path)], capsys)
    line = assert_one_clean_line(err)
    assert status == 2 and "bad\\nname\\x1b[31m.toml:1:" in line


@pytest.mark.parametrize("args", [["run", "--seed", "abc", "x.toml"], ["run"],
                                  ["reproduce", "--only", "C99"], ["frobnicate"],
                                  ["run", "x.toml", "--seed", "-1\n\x1b[2J"],
                                  ["run", str(ROOT / "experiments" / "scenarios" /
                                              "alpine-warm.toml"), "--set", "name=a\nb\x1b"],
                                  ["run", str(ROOT / "experiments" / "scenarios" /
                                              "alpine-warm.toml"), "--set", "duration_s=inf"]],
                         ids=["seed", "missing", "only", "command", "escape", "set-name",
                              "set-inf"])
def test_flag_errors_are_one_line(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    status, err = run_cli(args, capsys)
    line = assert_one_clean_line(err)
    assert status == 2 and line.startswith("virtsim: error: ")


@pytest.mark.parametrize(("path", "found"), [("/dev/zero", "a device"),
                                             ("pipe.toml", "named pipe")], ids=["zero", "fifo"])
def test_dev_zero_and_a_fifo_are_refused_without_reading(
        path: str, found: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if not path.startswith("/"):
        os.mkfifo(tmp_path / path)
        path = str(tmp_path / path)
    outcome: list[int] = []
    worker = threading.Thread(target=lambda: outcome.append(main(["run", path])), daemon=True)
    worker.start()
    worker.join(timeout=10)  # reading a FIFO with no writer would block forever
    assert outcome == [2]
    line = assert_one_clean_line(capsys.readouterr().err)
    assert found in line


def test_json_is_never_infinity_or_nan() -> None:
    result = Result(metrics={"a": math.inf, "b": {"c": math.nan, "d": 1.5}, "e": [-math.inf]})
    text = result.to_json()
    assert json.loads(text, parse_constant=lambda c: pytest.fail(f"not JSON: {c}")) == {
        "a": None, "b": {"c": None, "d": 1.5}, "e": [None]}


def test_budget_refuses_and_force_is_documented(catalog: Catalog) -> None:
    scenario = virtsim.parse_scenario({"hosts": [{"name": "n", "profile": "m5d-metal",
                                                  "count": 3}]}, catalog)
    budget = estimate(scenario, catalog)
    check_budget(budget, "s.toml")  # small: fine
    with pytest.raises(InputError, match="--force"):
        check_budget(budget, "s.toml", memory_mib=1.0)


# -- generated input --------------------------------------------------------------

BASES: list[dict[str, Any]] = [
    {"duration_s": 30, "seed": 1, "hosts": [{
        "name": "node", "profile": "m5d-metal", "cached_images": ["alpine"],
        "containers": [{"name": "web", "count": 2, "image": "alpine", "cpus": 1.5,
                        "memory_mib": 256, "workload": "web-service"}],
        "processes": [{"name": "p", "workload": "sysbench-cpu"}]}]},
    {"duration_s": 20, "seed": 2, "hosts": [{
        "name": "kvm", "profile": "m5d-metal", "overrides": {"nic_gbps": 10},
        "vms": [{"name": "vm", "count": 2, "hypervisor": "kvm", "disk_image":
                 "ubuntu-24.04-cloud", "vcpus": 2, "memory_mib": 2048,
                 "containers": [{"name": "api", "image": "alpine"}]}]}],
     "faults": [{"kind": "vmm-crash", "target": "kvm/vm-0", "at_s": 5}],
     "random_faults": {"kinds": ["container-crash"], "rate_scale": 1000}},
    {"duration_s": 10, "hosts": [{"name": "mac", "profile": "macbook-arm64",
                                  "platform": "docker-desktop-mac",
                                  "containers": [{"name": "c", "image": "alpine"}]}]},
]

HOSTILE_VALUES = st.one_of(
    st.sampled_from([0, -1, 1, 2**63 - 1, 10**18, 5e-324, 1e-300, 1e308, math.inf, -math.inf,
                     math.nan, 0.5, True, False, "3", "", "a\nb", "\x1b[2J", "x" * 5000,
                     "../../etc/passwd", [], {}, [1, "a"], {"dist": "constant", "value": 1},
                     "m5d-metal", "alpine", "kvm", "node", "kvm/vm-0/kernel"]),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            out += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            out += _paths(item, (*prefix, index))
    return out


def _mutate(data: Any, path: tuple[Any, ...], action: str, value: Any) -> Any:
    if not path:
        return data
    head, rest = path[0], path[1:]
    data = dict(data) if isinstance(data, dict) else list(data)
    if rest:
        data[head] = _mutate(data[head], rest, action, value)
    elif action == "delete" and isinstance(data, dict):
        del data[head]
    elif action == "extra" and isinstance(data, dict):
        data[f"{head}_x"] = value
    else:
        data[head] = value
    return data


@st.composite
def hostile_scenarios(draw: st.DrawFn) -> dict[str, Any]:
    data: dict[str, Any] = draw(st.sampled_from(BASES))
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(data)
        if not paths:  # everything deleted already
            break
        path = draw(st.sampled_from(paths))
        action = draw(st.sampled_from(["replace", "replace", "delete", "extra"]))
        data = _mutate(data, path, action, draw(HOSTILE_VALUES))
    return data


def _write(path: Path, data: dict[str, Any]) -> bool:
    try:
        path.write_text(tomli_w.dumps(data), encoding="utf-8")
    except (TypeError, ValueError):  # not representable as TOML (a mixed array, say)
        return False
    return True


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=hostile_scenarios())
def test_generated_scenarios_through_the_api(data: dict[str, Any], tmp_path: Path,
                                             catalog: Catalog) -> None:
    path = tmp_path / "fuzz.toml"
    if not _write(path, data):
        return
    try:
        scenario = virtsim.load_scenario(path, catalog)
        budget = estimate(scenario, catalog)
        check_budget(budget, "fuzz.toml", time_limit_s=1.0)
    except InputError as exc:
        message = str(exc)
        assert "\n" not in message and "\x1b" not in message and "\r" not in message
        assert len(message) <= MESSAGE_CHARS + 40
        assert "fuzz.toml" in message
        return
    result = virtsim.run_scenario(scenario, catalog)
    json.loads(result.to_json(), parse_constant=lambda c: pytest.fail(f"not JSON: {c}"))


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=hostile_scenarios())
def test_generated_scenarios_through_the_cli(data: dict[str, Any], tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "fuzz.toml"
    if not _write(path, data):
        return
    status, err = run_cli(["run", "--json", str(path)], capsys)
    if status == 0:
        return
    line = assert_one_clean_line(err)
    assert status == 2, line
    assert "fuzz.toml" in line or line.startswith("virtsim: error: fuzz")


def test_catalog_loads_from_every_user_folder_shape(tmp_path: Path,
                                                    write_scenario: Callable[[str], Path]) -> None:
    # A complete, sourced user profile is accepted: the checks refuse only what is wrong.
    folder = user_models(tmp_path, "runtimes", "runc", "my-runc")
    catalog = load_catalog([folder])
    assert catalog.get("runtimes", "my-runc") is not None
