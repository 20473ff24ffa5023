"""Scenario loading: valid files load; every malformed one names file, key and values."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.paths import SCENARIOS
from virtsim.catalog import Catalog
from virtsim.errors import InputError
from virtsim.scenario import load_scenario, parse_scenario

HOST = """
[[hosts]]
name = "h"
profile = "laptop"
"""

VM = HOST + """
[[hosts.vms]]
name = "vm"
hypervisor = "kvm"
disk_image = "ubuntu-24.04-cloud"
"""

CONTAINER = HOST + """
[[hosts.containers]]
name = "c"
image = "alpine"
"""

# (case id, scenario text, substrings the one-line message must contain)
MALFORMED: list[tuple[str, str, list[str]]] = [
    ("toml syntax", "name = \n", ["valid TOML", ":1"]),
    ("no hosts", "name = 'x'\n", ["'hosts'", "required"]),
    ("empty hosts", "hosts = []\n", ["'hosts'", "at least 1"]),
    ("unknown top key", "colour = 'red'\n" + HOST, ["'colour'", "unknown"]),
    ("unknown host key", HOST + "colour = 'red'\n", ["hosts[0].colour", "unknown"]),
    ("duration negative", "duration_s = -5\n" + HOST, ["duration_s", "0.001", "-5"]),
    ("duration string", "duration_s = 'long'\n" + HOST, ["duration_s", "'long'"]),
    ("seed negative", "seed = -1\n" + HOST, ["seed", "-1"]),
    ("seed float", "seed = 1.5\n" + HOST, ["seed", "1.5"]),
    ("unknown host profile", HOST.replace("laptop", "mainframe"),
     ["hosts[0].profile", "'mainframe'", "felter-server"]),
    ("count zero", HOST + "count = 0\n", ["hosts[0].count", "0"]),
    ("count float", HOST + "count = 2.5\n", ["hosts[0].count", "2.5"]),
    ("bad name", HOST.replace('"h"', '"has space"'), ["hosts[0].name", "has space"]),
    ("duplicate hosts", HOST + HOST, ["hosts", "appears twice"]),
    ("unknown override", HOST + "overrides = { turbo = true }\n",
     ["hosts[0].overrides.turbo", "host profile field"]),
    ("override out of range", HOST + "overrides = { cores = 0 }\n",
     ["overrides.cores", "greater than or equal to 1"]),
    ("unknown host kernel", HOST + "kernel = 'linux-9.9'\n", ["hosts[0].kernel", "linux-9.9"]),
    ("gvisor as host kernel", HOST + "kernel = 'gvisor-sentry'\n",
     ["hosts[0].kernel", "host OS kernel"]),
    ("unknown hypervisor", VM.replace('"kvm"', '"bhyve"'), ["hosts[0].vms[0].hypervisor", "bhyve"]),
    ("vm missing disk image", HOST + "[[hosts.vms]]\nname = 'v'\nhypervisor = 'kvm'\n",
     ["hosts[0].vms[0].disk_image", "required"]),
    ("vm vcpus zero", VM + "vcpus = 0\n", ["hosts[0].vms[0].vcpus", "0"]),
    ("vm memory string", VM + "memory_mib = 'lots'\n", ["hosts[0].vms[0].memory_mib", "'lots'"]),
    ("vmm the hypervisor cannot drive", VM + "vmm = 'hyperkit-vm'\n",
     ["hosts[0].vms[0].vmm", "kvm drives", "'hyperkit-vm'"]),
    ("hosted hypervisor on wrong OS", VM.replace('"kvm"', '"hyperkit"'),
     ["hosts[0].vms[0].hypervisor", "linux kernel", "'hyperkit'"]),
    ("kvm on a mac", VM.replace("laptop", "macbook-intel"),
     ["hosts[0].vms[0].hypervisor", "darwin kernel", "'kvm'"]),
    ("unknown image", CONTAINER.replace('"alpine"', '"alpine:edge"'),
     ["hosts[0].containers[0].image", "'alpine:edge'"]),
    ("unknown runtime", CONTAINER + "runtime = 'youki'\n",
     ["hosts[0].containers[0].runtime", "youki"]),
    ("bad network mode", CONTAINER + "network = 'bridge-ish'\n",
     ["hosts[0].containers[0].network", "'nat'"]),
    ("cpus negative", CONTAINER + "cpus = -1\n", ["hosts[0].containers[0].cpus", "-1"]),
    ("docker engine on macOS", CONTAINER.replace("laptop", "macbook-arm64"),
     ["hosts[0].containers[0].engine", "darwin", "Linux VM"]),
    ("container in container", CONTAINER + "[[hosts.containers.containers]]\nname = 'x'\n"
     "image = 'alpine'\n", ["hosts[0].containers[0].containers", "unknown"]),
    ("duplicate sibling names", CONTAINER + "[[hosts.processes]]\nname = 'c'\nworkload = 'idle'\n",
     ["hosts[0]", "'c' appears twice"]),
    ("unknown workload", CONTAINER + "workload = 'bitcoin'\n",
     ["hosts[0].containers[0].workload", "'bitcoin'"]),
    ("fault without time", HOST + "[[faults]]\nkind = 'host-kernel-panic'\ntarget = 'h'\n",
     ["faults[0].at_s", "required"]),
    ("hosts not a list", "hosts = 'h'\n", ["hosts", "'h'"]),
    ("unknown orchestrator", CONTAINER + "[[orchestrators]]\nprofile = 'nomad'\ngroups = ['c']\n",
     ["orchestrators[0].profile", "'nomad'", "kubernetes"]),
    ("orchestrator of an unknown group", CONTAINER
     + "[[orchestrators]]\nprofile = 'kubernetes'\ngroups = ['web']\n",
     ["orchestrators[0].groups[0]", "'web'", "(c)"]),
    ("vm group under a container orchestrator", VM
     + "[[orchestrators]]\nprofile = 'kubernetes'\ngroups = ['vm']\n",
     ["orchestrators[0].groups[0]", "container group for kubernetes", "a vm group"]),
    ("group managed twice", CONTAINER + "[[orchestrators]]\nprofile = 'kubernetes'\n"
     "groups = ['c']\n[[orchestrators]]\nprofile = 'docker-swarm'\ngroups = ['c']\n",
     ["orchestrators[1].groups[0]", "one orchestrator", "orchestrators[0]"]),
    ("orchestrator on an unknown host group", CONTAINER + "[[orchestrators]]\n"
     "profile = 'kubernetes'\ngroups = ['c']\nhosts = ['rack']\n",
     ["orchestrators[0].hosts[0]", "'rack'", "(h)"]),
    ("orchestrator without groups", CONTAINER + "[[orchestrators]]\nprofile = 'kubernetes'\n",
     ["orchestrators[0].groups", "required"]),
    ("bad placement", CONTAINER + "[[orchestrators]]\nprofile = 'kubernetes'\ngroups = ['c']\n"
     "placement = 'random'\n", ["orchestrators[0].placement", "'random'"]),
    ("live restore differs within one engine", CONTAINER + "live_restore = true\n"
     "[[hosts.containers]]\nname = 'd'\nimage = 'alpine'\n",
     ["hosts[0].containers[1].live_restore", "daemon setting", "false"]),
    ("unknown random fault kind", HOST + "[random_faults]\nkinds = ['meteor']\n",
     ["random_faults.kinds[0]", "'meteor'", "failure_rates"]),
    ("rate scale zero", HOST + "[random_faults]\nrate_scale = 0\n",
     ["random_faults.rate_scale", "greater than 0"]),
    ("negative repair time", HOST + "[[faults]]\nkind = 'machine-failure'\ntarget = 'h'\n"
     "at_s = 1\nrepair_s = -1\n", ["faults[0].repair_s", "-1"]),
    ("two bare-metal hypervisors", VM.replace('"kvm"', '"esxi"').replace(
        'disk_image = "ubuntu-24.04-cloud"', 'disk_image = "ubuntu-24.04-cloud"\nvmm = "esxi-vmx"')
     + "[[hosts.vms]]\nname = 'w'\nhypervisor = 'kvm'\ndisk_image = 'ubuntu-24.04-cloud'\n",
     ["hosts[0].vms", "bare-metal"]),
]


@pytest.mark.parametrize(("case", "text", "parts"), MALFORMED, ids=[c[0] for c in MALFORMED])
def test_malformed_scenario_names_file_key_and_values(
    case: str, text: str, parts: list[str], catalog: Catalog,
    write_scenario: Callable[[str], Path],
) -> None:
    path = write_scenario(text)
    with pytest.raises(InputError) as info:
        load_scenario(path, catalog)
    message = str(info.value)
    assert "scenario.toml" in message
    assert "\n" not in message
    for part in parts:
        assert part in message, f"{case}: {part!r} not in {message!r}"


def test_there_are_at_least_twenty_malformed_cases() -> None:
    assert len(MALFORMED) >= 20


def test_error_gives_line_of_the_key(catalog: Catalog,
                                     write_scenario: Callable[[str], Path]) -> None:
    path = write_scenario(VM + "vcpus = 0\n")
    with pytest.raises(InputError) as info:
        load_scenario(path, catalog)
    assert info.value.line == len((VM + "vcpus = 0\n").splitlines())


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.toml")), ids=lambda p: p.stem)
def test_bundled_scenarios_load(path: Path, catalog: Catalog) -> None:
    scenario = load_scenario(path, catalog)
    assert scenario.hosts


def test_defaults_are_filled(catalog: Catalog) -> None:
    scenario = parse_scenario({"hosts": [{"name": "h", "profile": "laptop",
                                          "containers": [{"name": "c", "image": "alpine"}]}]},
                              catalog)
    container = scenario.hosts[0].containers[0]
    assert (container.engine, container.runtime, container.count) == ("docker", "runc", 1)
    assert scenario.seed == 0


def test_windows_image_on_linux_is_not_an_input_error(catalog: Catalog) -> None:
    """Compatibility is the simulation's outcome, not a malformed file (see module docs)."""
    scenario = parse_scenario({"hosts": [{"name": "h", "profile": "laptop",
                                          "containers": [{"name": "c", "image": "nanoserver"}]}]},
                              catalog)
    assert scenario.hosts[0].containers[0].image == "nanoserver"
